"""Containers (S3 buckets): create, metadata, totals, delete when empty."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.object import models as m
from stackling.object.service import accounts, clock
from stackling.object.service.core import ObjectService
from stackling.object.service.listing import Query, scan


async def find(s: AsyncSession, project_id: str, name: str) -> m.ObjectContainer | None:
    """A container of the account by name, or None."""
    stmt = select(m.ObjectContainer).where(
        m.ObjectContainer.project_id == project_id, m.ObjectContainer.name == name
    )
    return (await s.execute(stmt)).scalar_one_or_none()


async def fetch(s: AsyncSession, project_id: str, name: str) -> m.ObjectContainer:
    """A container of the account by name; 404 when there is none."""
    row = await find(s, project_id, name)
    if row is None:
        raise errors.NotFound("The resource could not be found.")
    return row


async def get_container(svc: ObjectService, project_id: str, name: str) -> m.ObjectContainer:
    """A container with its metadata and totals; 404 when missing."""
    async with svc.db.session() as s:
        return await fetch(s, project_id, name)


_C = m.ObjectContainer.__table__.c
# The columns a container row is built from when read without a session (see row_of).
COLUMNS = (_C.id, _C.project_id, _C.name, _C.object_count, _C.bytes_used, _C.meta, _C.timestamp)
_LOOKUP = select(*COLUMNS).where(
    _C.project_id == bindparam("project"), _C.name == bindparam("name")
)


def row_of(values: Any) -> m.ObjectContainer:
    """A container built from the first len(COLUMNS) values of a result row."""
    return m.ObjectContainer(**{c.key: v for c, v in zip(COLUMNS, values, strict=False)})


async def lookup(svc: ObjectService, project_id: str, name: str) -> m.ObjectContainer | None:
    """A container, or None when missing (one statement, no session: every request does it)."""
    rows = await svc.db.fetch(_LOOKUP, {"project": project_id, "name": name})
    return row_of(rows[0]) if rows else None


async def create_container(
    svc: ObjectService, project_id: str, name: str, changes: dict[str, str]
) -> bool:
    """Create a container, or update the metadata of the existing one; True when created."""

    async def _do(s: AsyncSession) -> bool:
        await accounts.ensure_row(s, project_id)
        row = await find(s, project_id, name)
        if row is not None:
            row.meta = accounts.merge_meta(row.meta, changes)
            return False
        meta = {k: v for k, v in changes.items() if v != ""}
        s.add(
            m.ObjectContainer(
                project_id=project_id,
                name=name,
                object_count=0,
                bytes_used=0,
                meta=meta,
                timestamp=clock.now(),
            )
        )
        await s.flush()
        return True

    try:
        return await svc.db.write(_do)
    except IntegrityError:
        # Another request made it first: this one is then an update of it.
        return await svc.db.write(_do)


async def update_meta(
    svc: ObjectService, project_id: str, name: str, changes: dict[str, str]
) -> m.ObjectContainer:
    """Apply a POST's metadata changes; 404 when missing."""

    async def _do(s: AsyncSession) -> m.ObjectContainer:
        row = await fetch(s, project_id, name)
        row.meta = accounts.merge_meta(row.meta, changes)
        return row

    return await svc.db.write(_do)


async def delete_container(svc: ObjectService, project_id: str, name: str) -> None:
    """Delete an empty container; 404 when missing, 409 when it holds objects."""

    async def _do(s: AsyncSession) -> None:
        row = await fetch(s, project_id, name)
        o = m.StoredObject
        held = await s.scalar(
            select(o.name).where(o.container_id == row.id, live(time.time())).limit(1)
        )
        if held is not None:
            raise errors.Conflict("There was a conflict when trying to complete your request.")
        # Expired objects the reaper has not removed yet go with the container.
        await free_files(
            s, (await s.scalars(select(o.file_id).where(o.container_id == row.id))).all()
        )
        # Parts of unfinished S3 uploads go with the bucket.
        parts = select(m.UploadPart.file_id).join(
            m.MultipartUpload, m.MultipartUpload.id == m.UploadPart.upload_id
        )
        freed = (await s.scalars(parts.where(m.MultipartUpload.container_id == row.id))).all()
        await free_files(s, freed)
        await s.execute(delete(m.MultipartUpload).where(m.MultipartUpload.container_id == row.id))
        await s.delete(row)

    await svc.db.write(_do)


def live(now: float) -> ColumnElement[bool]:
    """Objects not past their X-Delete-At (expired ones are gone even before the reaper)."""
    o = m.StoredObject
    return or_(o.delete_at.is_(None), o.delete_at > now)


async def free_files(s: AsyncSession, file_ids: Any) -> None:
    """Hand files no row references any more to the reaper, in this transaction."""
    stamp = clock.now()
    for file_id in dict.fromkeys(file_ids):
        await s.merge(m.FreedData(file_id=file_id, freed_at=stamp))


async def bump_totals(s: AsyncSession, container_id: int, objects: int, size: int) -> None:
    """Move a container's object count and bytes by the given amounts."""
    if not objects and not size:
        return
    c = m.ObjectContainer
    await s.execute(
        update(c)
        .where(c.id == container_id)
        .values(object_count=c.object_count + objects, bytes_used=c.bytes_used + size)
        .execution_options(synchronize_session=False)
    )


async def list_objects(svc: ObjectService, container_id: int, q: Query) -> list[Any]:
    """One page of a container's live objects (name, etag, size, content type, timestamp)
    and Subdirs: what Swift listings, S3 listings and the internal API all read."""
    o = m.StoredObject
    async with svc.db.session() as s:
        return await scan(
            s,
            [o.name, o.etag, o.size, o.content_type, o.timestamp],
            o.name,
            and_(o.container_id == container_id, live(time.time())),
            q,
        )


async def named(svc: ObjectService, name: str) -> list[m.ObjectContainer]:
    """Every project's container of that name (S3's anonymous reads look for the public one)."""
    async with svc.db.session() as s:
        stmt = select(m.ObjectContainer).where(m.ObjectContainer.name == name)
        return list((await s.scalars(stmt)).all())
