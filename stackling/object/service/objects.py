"""Objects: durable PUT, lookup, metadata updates, copies and deletes, with versioning.

Every change of an object is one write transaction that also moves its
container's totals, archives or restores versions, and hands the bytes no
row references any more to the reaper. The bytes of a PUT are on disk before
that transaction, and published after it (see drivers/base.py).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from sqlalchemy import and_, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.object import models as m
from stackling.object.drivers.base import TooLarge
from stackling.object.errors import UnprocessableEntity
from stackling.object.service import accounts, clock, containers
from stackling.object.service.core import ObjectService

QUOTA_BYTES = "x-container-meta-quota-bytes"
QUOTA_COUNT = "x-container-meta-quota-count"
ACCOUNT_QUOTA_BYTES = ("x-account-meta-quota-bytes", "x-account-quota-bytes")
ACCOUNT_QUOTA_COUNT = "x-account-quota-count"
VERSIONS = "x-versions-location"
HISTORY = "x-history-location"


@dataclass(slots=True)
class NewObject:
    """What a write says about the object besides its bytes."""

    content_type: str
    meta: dict[str, Any] = field(default_factory=dict)
    delete_at: int | None = None
    # The client's ETag to check the data against (lower-case hex).
    etag: str | None = None
    # Content-Length when the client sent one (checked against quotas up front).
    length: int | None = None
    # What listings report instead of the data's own (a manifest's total size and etag).
    listed_size: int | None = None
    listed_etag: str | None = None


def expired(row: m.StoredObject, now: float | None = None) -> bool:
    """Whether X-Delete-At has passed (the object is gone even before the reaper runs)."""
    return row.delete_at is not None and row.delete_at <= (now or time.time())


async def find(s: AsyncSession, container_id: int, name: str) -> m.StoredObject | None:
    """A live object of a container, or None (expired ones are None)."""
    row = await s.get(m.StoredObject, (container_id, name))
    if row is None or expired(row):
        return None
    return row


_C = m.ObjectContainer.__table__.c
_O = m.StoredObject.__table__.c
_OBJECT_COLS = (
    _O.name,
    _O.size,
    _O.etag,
    _O.content_type,
    _O.timestamp,
    _O.file_id,
    _O.meta,
    _O.delete_at,
)
_LOCATE = (
    select(*containers.COLUMNS, *_OBJECT_COLS)
    .select_from(
        m.ObjectContainer.__table__.outerjoin(
            m.StoredObject.__table__,
            and_(_O.container_id == _C.id, _O.name == bindparam("obj")),
        )
    )
    .where(_C.project_id == bindparam("project"), _C.name == bindparam("container"))
)


async def locate(
    svc: ObjectService, project_id: str, container: str, name: str
) -> tuple[m.ObjectContainer | None, m.StoredObject | None]:
    """A container and its live object of that name, in one statement (the read hot path)."""
    rows = await svc.db.fetch(_LOCATE, {"project": project_id, "container": container, "obj": name})
    if not rows:
        return None, None
    r = rows[0]
    cont = containers.row_of(r)
    values = r[len(containers.COLUMNS) :]
    if values[0] is None:
        return cont, None
    fields = {c.key: v for c, v in zip(_OBJECT_COLS, values, strict=True)}
    obj = m.StoredObject(container_id=cont.id, **fields)
    return cont, (None if expired(obj) else obj)


async def get_object(svc: ObjectService, container_id: int, name: str) -> m.StoredObject:
    """An object's row; 404 when missing or expired."""
    async with svc.db.session() as s:
        row = await find(s, container_id, name)
    if row is None:
        raise errors.NotFound("The resource could not be found.")
    return row


def _int_meta(meta: dict[str, Any], key: str) -> int | None:
    value = meta.get(key)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


async def room(svc: ObjectService, container: m.ObjectContainer) -> int:
    """How many more bytes the container and account quotas allow (max_file_size at most)."""
    space = svc.conf.max_file_size
    quota = _int_meta(container.meta, QUOTA_BYTES)
    if quota is not None:
        space = min(space, quota - container.bytes_used)
    acct_meta = await accounts.cached_meta(svc, container.project_id)
    quotas = [_int_meta(acct_meta, key) for key in ACCOUNT_QUOTA_BYTES]
    acct_quota = min((q for q in quotas if q is not None), default=None)
    if acct_quota is not None:
        # Only an account with a quota pays for summing its containers.
        acct = await accounts.get_account(svc, container.project_id)
        space = min(space, acct_quota - acct.bytes_used)
    return space


async def _check_account_count(svc: ObjectService, container: m.ObjectContainer) -> None:
    quota = _int_meta(await accounts.cached_meta(svc, container.project_id), ACCOUNT_QUOTA_COUNT)
    if quota is not None:
        acct = await accounts.get_account(svc, container.project_id)
        if acct.object_count + 1 > quota:
            raise errors.PayloadTooLarge("Upload exceeds quota.")


async def _check_counts(svc: ObjectService, container: m.ObjectContainer, name: str) -> None:
    """413 when a new object would pass the container's or the account's object count quota."""
    acct_meta = await accounts.cached_meta(svc, container.project_id)
    if QUOTA_COUNT not in container.meta and ACCOUNT_QUOTA_COUNT not in acct_meta:
        return
    if await _would_add(svc, container.id, name):
        _check_count(container, 1)
        await _check_account_count(svc, container)


def _check_count(container: m.ObjectContainer, adding: int) -> None:
    quota = _int_meta(container.meta, QUOTA_COUNT)
    if quota is not None and adding > 0 and container.object_count + adding > quota:
        raise errors.PayloadTooLarge("Upload exceeds quota.")


async def put_object(
    svc: ObjectService,
    container: m.ObjectContainer,
    name: str,
    chunks: AsyncIterable[bytes],
    new: NewObject,
) -> m.StoredObject:
    """Store the bytes durably, then make them the object in one transaction."""
    space = await room(svc, container)
    if new.length is not None and new.length > space:
        if new.length > svc.conf.max_file_size:
            raise errors.PayloadTooLarge("Your request is too large.")
        raise errors.PayloadTooLarge("Upload exceeds quota.")
    await _check_counts(svc, container, name)
    try:
        written = await svc.store.write(chunks, max_size=max(space, 0))
    except TooLarge:
        raise errors.PayloadTooLarge("Upload exceeds quota.") from None
    if new.etag is not None and new.etag != written.md5:
        await svc.store.discard([written.file_id])
        raise UnprocessableEntity("The ETag sent does not match the MD5 of the data.")
    return await commit_file(svc, container, name, written.file_id, written.size, written.md5, new)


async def _would_add(svc: ObjectService, container_id: int, name: str) -> bool:
    async with svc.db.session() as s:
        return await find(s, container_id, name) is None


async def commit_file(
    svc: ObjectService,
    container: m.ObjectContainer,
    name: str,
    file_id: str,
    size: int,
    etag: str,
    new: NewObject,
) -> m.StoredObject:
    """Make an unpublished file the object `name`, then publish it; discards it on failure."""

    listed = new.listed_size if new.listed_size is not None else size
    fields = {
        "name": name,
        "size": listed,
        "etag": new.listed_etag or etag,
        "content_type": new.content_type,
        "file_id": file_id,
        "meta": new.meta,
        "delete_at": new.delete_at,
    }

    async def _do(s: AsyncSession) -> m.StoredObject:
        current = await s.get(m.ObjectContainer, container.id)
        if current is None:
            raise errors.NotFound("The resource could not be found.")
        row = m.StoredObject(container_id=current.id, **fields)
        await replace(s, current, row)
        return row

    try:
        if await _plain(svc, container):
            row = await svc.batch.put(m.StoredObject(container_id=container.id, **fields))
        else:
            row = await svc.commits.run(_do)
    except BaseException:
        await svc.store.discard([file_id])
        raise
    await svc.store.publish([file_id])
    return row


async def replace(s: AsyncSession, container: m.ObjectContainer, row: m.StoredObject) -> None:
    """Put `row` in place of the container's object of that name, in this transaction.

    The old object, if any, goes to the versions container when the container
    keeps versions; otherwise its bytes go to the reaper. Totals follow.
    """
    old = await s.get(m.StoredObject, (container.id, row.name))
    row.timestamp = clock.after(old.timestamp if old is not None else None)
    if old is not None and expired(old):
        await _drop(s, container, old)
        old = None
    if old is None:
        _check_count(container, 1)
        s.add(row)
        await containers.bump_totals(s, container.id, 1, row.size)
        return
    archive = await _versions_container(s, container)
    if archive is not None:
        await _archive(s, archive, old)
    else:
        await containers.free_files(s, [old.file_id])
    delta = row.size - old.size
    await s.delete(old)
    await s.flush()
    s.add(row)
    await containers.bump_totals(s, container.id, 0, delta)


async def _drop(s: AsyncSession, container: m.ObjectContainer, row: m.StoredObject) -> None:
    await containers.free_files(s, [row.file_id])
    await s.delete(row)
    await s.flush()
    await containers.bump_totals(s, container.id, -1, -row.size)


async def _versions_container(
    s: AsyncSession, container: m.ObjectContainer
) -> m.ObjectContainer | None:
    target = container.meta.get(VERSIONS) or container.meta.get(HISTORY)
    if not target:
        return None
    return await containers.find(s, container.project_id, unquote(target))


def version_prefix(name: str) -> str:
    """Where the versions of `name` are listed in a versions container (Swift's naming)."""
    return f"{len(name.encode()):03x}{name}/"


async def _archive(s: AsyncSession, archive: m.ObjectContainer, old: m.StoredObject) -> None:
    """Move the old object's bytes, unchanged, into the versions container."""
    version = m.StoredObject(
        container_id=archive.id,
        name=version_prefix(old.name) + old.timestamp,
        size=old.size,
        etag=old.etag,
        content_type=old.content_type,
        file_id=old.file_id,
        meta=dict(old.meta),
        delete_at=old.delete_at,
    )
    await replace(s, archive, version)


async def _plain(svc: ObjectService, container: m.ObjectContainer) -> bool:
    """Whether writes to the container need nothing but the batched fast path.

    Versioned containers move rows between containers, and count quotas need
    the container's row locked with the write: both take the general path.
    """
    meta = container.meta
    if VERSIONS in meta or HISTORY in meta or QUOTA_COUNT in meta:
        return False
    return ACCOUNT_QUOTA_COUNT not in await accounts.cached_meta(svc, container.project_id)


async def delete_object(svc: ObjectService, container: m.ObjectContainer, name: str) -> None:
    """Delete an object; in a stack-versioned container the previous version comes back."""
    if await _plain(svc, container):
        await svc.batch.delete(container.id, name)
        return

    async def _do(s: AsyncSession) -> None:
        current = await containers.fetch(s, container.project_id, container.name)
        row = await find(s, current.id, name)
        if row is None:
            raise errors.NotFound("The resource could not be found.")
        archive = await _versions_container(s, current)
        if archive is not None and current.meta.get(HISTORY):
            await _archive(s, archive, row)
            await s.delete(row)
            await s.flush()
            await containers.bump_totals(s, current.id, -1, -row.size)
            return
        await _drop(s, current, row)
        if archive is not None:
            await _restore_latest(s, current, archive, name)

    await svc.commits.run(_do)


async def _restore_latest(
    s: AsyncSession, container: m.ObjectContainer, archive: m.ObjectContainer, name: str
) -> None:
    prefix = version_prefix(name)
    o = m.StoredObject
    latest = (
        await s.scalars(
            select(o)
            .where(o.container_id == archive.id, o.name > prefix, o.name < prefix[:-1] + "0")
            .order_by(o.name.desc())
            .limit(1)
        )
    ).first()
    if latest is None:
        return
    restored = m.StoredObject(
        container_id=container.id,
        name=name,
        size=latest.size,
        etag=latest.etag,
        content_type=latest.content_type,
        file_id=latest.file_id,
        meta=dict(latest.meta),
        delete_at=latest.delete_at,
    )
    await s.delete(latest)
    await s.flush()
    await containers.bump_totals(s, archive.id, -1, -latest.size)
    s.add(restored)
    restored.timestamp = clock.now()
    await containers.bump_totals(s, container.id, 1, restored.size)


async def update_object(
    svc: ObjectService,
    container: m.ObjectContainer,
    name: str,
    change: Callable[[m.StoredObject], None],
) -> m.StoredObject:
    """Change an object's metadata in place (a POST); 404 when missing."""

    async def _do(s: AsyncSession) -> m.StoredObject:
        row = await find(s, container.id, name)
        if row is None:
            raise errors.NotFound("The resource could not be found.")
        change(row)
        row.timestamp = clock.after(row.timestamp)
        return row

    return await svc.commits.run(_do)


async def copy_object(
    svc: ObjectService,
    source: m.StoredObject,
    target: m.ObjectContainer,
    name: str,
    new: NewObject,
) -> m.StoredObject:
    """A new object with the source's bytes (a new name for them: nothing is rewritten)."""
    await _check_counts(svc, target, name)
    if source.size > await room(svc, target):
        raise errors.PayloadTooLarge("Upload exceeds quota.")
    file_id = await svc.store.link(source.file_id)
    return await commit_file(svc, target, name, file_id, source.size, source.etag, new)


async def delete_many(
    svc: ObjectService, container: m.ObjectContainer, names: list[str]
) -> dict[str, int]:
    """Delete objects of one container in one transaction; name -> 204 or 404."""
    result: dict[str, int] = {}

    async def _do(s: AsyncSession) -> None:
        current = await containers.fetch(s, container.project_id, container.name)
        for name in names:
            row = await find(s, current.id, name)
            if row is None:
                result[name] = 404
                continue
            await _drop(s, current, row)
            result[name] = 204

    await svc.db.write(_do)
    return result


async def expire_due(svc: ObjectService, limit: int = 500) -> int:
    """Delete objects whose X-Delete-At has passed; how many went."""
    now = int(time.time())

    async def _do(s: AsyncSession) -> int:
        o = m.StoredObject
        rows = (
            await s.scalars(
                select(o).where(o.delete_at.is_not(None), o.delete_at <= now).limit(limit)
            )
        ).all()
        for row in rows:
            container = await s.get(m.ObjectContainer, row.container_id)
            if container is not None:
                await _drop(s, container, row)
        return len(rows)

    return await svc.db.write(_do)


async def reclaim(svc: ObjectService, limit: int = 1000) -> int:
    """Remove the files freed by earlier transactions; how many were removed."""
    async with svc.db.session() as s:
        ids = list((await s.scalars(select(m.FreedData.file_id).limit(limit))).all())
    if not ids:
        return 0
    await svc.store.discard(ids)

    async def _do(s: AsyncSession) -> None:
        await s.execute(delete(m.FreedData).where(m.FreedData.file_id.in_(ids)))

    await svc.db.write(_do)
    return len(ids)
