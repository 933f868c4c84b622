"""S3 multipart uploads: parts stored as files of their own, completed into one object.

A part is written (unpublished), its row committed, then published, as any
object write. Completing concatenates the parts into a new file and, in one
transaction, makes it the object and forgets the upload, handing the part
files to the reaper: a crash before that commit leaves the upload as it was
(the unreferenced concatenation is deleted at start-up), a crash after it
leaves the object complete.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.object import models as m
from stackling.object.drivers.base import TooLarge
from stackling.object.errors import UnprocessableEntity
from stackling.object.service import clock, containers, objects
from stackling.object.service.core import ObjectService

# S3's smallest part, except for the last one of an upload.
MIN_PART_SIZE = 5 * 1024 * 1024


class NoSuchUpload(errors.NotFound):
    """The upload does not exist (never did, or was aborted or completed)."""


class InvalidPart(errors.BadRequest):
    """A listed part was not uploaded, or its ETag is not the one listed."""


class InvalidPartOrder(errors.BadRequest):
    """The listed parts are not in ascending part number order."""


class EntityTooSmall(errors.BadRequest):
    """A part other than the last is smaller than MIN_PART_SIZE."""


@dataclass(frozen=True, slots=True)
class Listed:
    """A part as a CompleteMultipartUpload names it: its number and ETag (unquoted)."""

    part_number: int
    etag: str


def multipart_etag(md5s: Sequence[str]) -> str:
    """S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, dash, the count."""
    joined = b"".join(bytes.fromhex(md5) for md5 in md5s)
    return f"{hashlib.md5(joined).hexdigest()}-{len(md5s)}"


async def initiate(
    svc: ObjectService,
    container: m.ObjectContainer,
    name: str,
    *,
    user_id: str | None,
    content_type: str,
    meta: dict[str, Any],
) -> m.MultipartUpload:
    """Start an upload of `name`; its row carries what the object will be made with."""
    row = m.MultipartUpload(
        id=uuid.uuid4().hex,
        container_id=container.id,
        name=name,
        user_id=user_id,
        content_type=content_type,
        meta=meta,
        timestamp=clock.now(),
    )

    async def _do(s: AsyncSession) -> m.MultipartUpload:
        s.add(row)
        return row

    return await svc.db.write(_do)


async def _upload(
    s: AsyncSession, container_id: int, name: str, upload_id: str
) -> m.MultipartUpload:
    row = await s.get(m.MultipartUpload, upload_id)
    if row is None or row.container_id != container_id or row.name != name:
        raise NoSuchUpload("The specified upload does not exist.")
    return row


async def get_upload(
    svc: ObjectService, container: m.ObjectContainer, name: str, upload_id: str
) -> m.MultipartUpload:
    """An upload of `name` in the container; NoSuchUpload otherwise."""
    async with svc.db.session() as s:
        return await _upload(s, container.id, name, upload_id)


async def upload_part(
    svc: ObjectService,
    upload: m.MultipartUpload,
    part_number: int,
    chunks: AsyncIterable[bytes],
    *,
    etag: str | None = None,
) -> m.UploadPart:
    """Store one part; a part of the same number uploaded before is replaced (and freed)."""
    try:
        written = await svc.store.write(chunks, max_size=svc.conf.max_file_size)
    except TooLarge:
        raise errors.PayloadTooLarge("Your proposed upload exceeds the maximum size.") from None
    if etag is not None and etag != written.md5:
        await svc.store.discard([written.file_id])
        raise UnprocessableEntity("The ETag sent does not match the MD5 of the data.")
    return await _commit_part(svc, upload, part_number, written.file_id, written.size, written.md5)


async def copy_part(
    svc: ObjectService, upload: m.MultipartUpload, part_number: int, source: m.StoredObject
) -> m.UploadPart:
    """A part holding a whole existing object's bytes (UploadPartCopy without a range)."""
    file_id = await svc.store.link(source.file_id)
    size = await svc.store.size(file_id)
    return await _commit_part(svc, upload, part_number, file_id, size, source.etag)


async def _commit_part(
    svc: ObjectService,
    upload: m.MultipartUpload,
    part_number: int,
    file_id: str,
    size: int,
    md5: str,
) -> m.UploadPart:
    async def _do(s: AsyncSession) -> m.UploadPart:
        if await s.get(m.MultipartUpload, upload.id) is None:
            raise NoSuchUpload("The specified upload does not exist.")
        old = await s.get(m.UploadPart, (upload.id, part_number))
        if old is not None:
            await containers.free_files(s, [old.file_id])
            await s.delete(old)
            await s.flush()
        row = m.UploadPart(
            upload_id=upload.id,
            part_number=part_number,
            size=size,
            etag=md5,
            file_id=file_id,
            timestamp=clock.now(),
        )
        s.add(row)
        return row

    try:
        row = await svc.db.write(_do)
    except BaseException:
        await svc.store.discard([file_id])
        raise
    await svc.store.publish([file_id])
    return row


async def list_parts(
    svc: ObjectService, upload: m.MultipartUpload, *, marker: int = 0, limit: int = 1000
) -> list[m.UploadPart]:
    """Parts after part number `marker`, in order, at most `limit` of them."""
    p = m.UploadPart
    async with svc.db.session() as s:
        stmt = (
            select(p)
            .where(p.upload_id == upload.id, p.part_number > marker)
            .order_by(p.part_number)
            .limit(limit)
        )
        return list((await s.scalars(stmt)).all())


async def list_uploads(
    svc: ObjectService,
    container: m.ObjectContainer,
    *,
    prefix: str = "",
    key_marker: str = "",
    upload_id_marker: str = "",
    limit: int = 1000,
) -> list[m.MultipartUpload]:
    """Uploads in progress in the container, by key then upload id, at most `limit`."""
    u = m.MultipartUpload
    stmt = select(u).where(u.container_id == container.id)
    if prefix:
        stmt = stmt.where(u.name.startswith(prefix, autoescape=True))
    if key_marker:
        after_key = u.name > key_marker
        if upload_id_marker:
            after_key = after_key | ((u.name == key_marker) & (u.id > upload_id_marker))
        stmt = stmt.where(after_key)
    stmt = stmt.order_by(u.name, u.id).limit(limit)
    async with svc.db.session() as s:
        return list((await s.scalars(stmt)).all())


async def _forget(s: AsyncSession, upload: m.MultipartUpload) -> None:
    """Delete the upload's rows and free its part files, in this transaction."""
    file_ids = (
        await s.scalars(select(m.UploadPart.file_id).where(m.UploadPart.upload_id == upload.id))
    ).all()
    await containers.free_files(s, file_ids)
    # Explicit rather than ON DELETE CASCADE: SQLite enforces foreign keys only when asked.
    await s.execute(delete(m.UploadPart).where(m.UploadPart.upload_id == upload.id))
    await s.delete(upload)


async def abort(
    svc: ObjectService, container: m.ObjectContainer, name: str, upload_id: str
) -> None:
    """Forget an upload and hand its parts' files to the reaper."""

    async def _do(s: AsyncSession) -> None:
        await _forget(s, await _upload(s, container.id, name, upload_id))

    await svc.db.write(_do)


def _chosen(listed: Sequence[Listed], stored: dict[int, m.UploadPart]) -> list[m.UploadPart]:
    """The stored parts the listing names, checked as S3 checks them."""
    chosen: list[m.UploadPart] = []
    for item in listed:
        part = stored.get(item.part_number)
        if part is None or part.etag != item.etag.strip('"').lower():
            raise InvalidPart(f"Part {item.part_number} was not uploaded with that ETag.")
        if chosen and item.part_number <= chosen[-1].part_number:
            raise InvalidPartOrder("The list of parts was not in ascending order.")
        chosen.append(part)
    if not chosen:
        raise errors.BadRequest("You must specify at least one part.")
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise EntityTooSmall(f"Part {part.part_number} is smaller than the minimum size.")
    return chosen


async def complete(
    svc: ObjectService,
    container: m.ObjectContainer,
    name: str,
    upload_id: str,
    listed: Sequence[Listed],
) -> m.StoredObject:
    """Make the listed parts the object `name` and forget the upload."""
    async with svc.db.session() as s:
        await _upload(s, container.id, name, upload_id)
        rows = (
            await s.scalars(select(m.UploadPart).where(m.UploadPart.upload_id == upload_id))
        ).all()
    chosen = _chosen(listed, {p.part_number: p for p in rows})
    size = sum(p.size for p in chosen)
    if size > await objects.room(svc, container):
        raise errors.PayloadTooLarge("Upload exceeds quota.")
    written = await svc.store.concat([p.file_id for p in chosen])
    etag = multipart_etag([p.etag for p in chosen])
    picked = {p.part_number: p.file_id for p in chosen}

    async def _do(s: AsyncSession) -> m.StoredObject:
        current = await containers.fetch(s, container.project_id, container.name)
        live = await _upload(s, current.id, name, upload_id)
        now_parts = (
            await s.execute(
                select(m.UploadPart.part_number, m.UploadPart.file_id).where(
                    m.UploadPart.upload_id == upload_id
                )
            )
        ).all()
        # A part re-uploaded since it was read would make the object something else.
        if any(dict(now_parts).get(n) != f for n, f in picked.items()):
            raise InvalidPart("A part changed while the upload was being completed.")
        row = m.StoredObject(
            container_id=current.id,
            name=name,
            size=size,
            etag=etag,
            content_type=live.content_type,
            file_id=written.file_id,
            meta=dict(live.meta),
            delete_at=None,
        )
        await objects.replace(s, current, row)
        await _forget(s, live)
        return row

    try:
        row = await svc.db.write(_do)
    except BaseException:
        await svc.store.discard([written.file_id])
        raise
    await svc.store.publish([written.file_id])
    return row
