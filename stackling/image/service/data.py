"""Image data: upload, download with ranges, stage, and the import flows.

A transfer first claims the image in one transaction (status and quota),
then streams bytes to a store outside any transaction, then records the
outcome in a second transaction. The store makes data visible only once it
is complete and inspected, so every failure between the two transactions
leaves at most an unreferenced file, which the next start-up sweeps.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.image import inspect
from stackling.image import models as m
from stackling.image.drivers.base import SizeExceeded, SizeMismatch, StoredData, StoreError
from stackling.image.service import access, quota
from stackling.image.service.core import STAGING, ImageService

LOG = logging.getLogger(__name__)

IMPORT_METHODS = ("glance-direct", "copy-image")
_NO_NETWORK_METHODS = ("web-download", "glance-download")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(errors.StacklingError):
    """A Range outside the image (416)."""

    status = 416
    title = "Requested Range Not Satisfiable"


@dataclass(slots=True)
class Download:
    """What GET /file sends: a stream, or nothing (204) for an image without data."""

    image: m.Image
    chunks: AsyncIterator[bytes] | None
    offset: int = 0
    length: int = 0
    partial: bool = False


class _Inspector:
    """The store's verify hook: inspects the data and remembers what it found."""

    def __init__(self, disk_format: str | None) -> None:
        self.disk_format = disk_format
        self.found: inspect.Inspection | None = None

    async def __call__(self, path: Path) -> None:
        self.found = await inspect.inspect_image(path, self.disk_format)


def _inspector(svc: ImageService, disk_format: str | None) -> _Inspector | None:
    return _Inspector(disk_format) if svc.conf.inspect_images else None


async def _live(s: AsyncSession, image_id: str, *, for_update: bool = False) -> m.Image | None:
    """The image, or None once it is gone (deleted images stay as tombstone rows).

    `for_update` locks the row for the rest of the write transaction (see access.lock).
    """
    image = await s.get(m.Image, image_id, with_for_update=access.lock(for_update))
    return None if image is None or image.status == "deleted" else image


def _require_formats(image: m.Image) -> None:
    """Glance's 400 for data (uploaded or imported) going into an image without formats."""
    missing = [k for k in ("disk_format", "container_format") if not getattr(image, k)]
    if missing:
        noun = "Property" if len(missing) == 1 else "Properties"
        raise errors.BadRequest(f"{noun} {', '.join(missing)} must be set prior to saving data.")


async def _set_status(
    svc: ImageService, image_id: str, expected: str, status: str, **values: Any
) -> None:
    """Compare-and-set an image's status (nothing happens if someone moved it since)."""

    async def _set(s: AsyncSession) -> None:
        image = await _live(s, image_id, for_update=True)
        if image is not None and image.status == expected:
            image.status = status
            image.busy_host = None
            image.updated_at = m.now()
            for key, value in values.items():
                setattr(image, key, value)

    await svc.tx(_set)


async def _kill(svc: ImageService, image_id: str, expected: str, reason: str) -> None:
    await _set_status(svc, image_id, expected, "killed", reason=reason)


async def upload(
    svc: ImageService,
    ctx: RequestContext,
    image_id: str,
    chunks: AsyncIterable[bytes],
    content_length: int | None,
) -> None:
    """PUT /file: store the data of a queued image and make it active."""

    async def _claim(s: AsyncSession) -> tuple[int, str | None]:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        access.require_modify(ctx, image, "upload data to")
        if image.status != "queued":
            raise errors.Conflict(
                f"Image status transition from {image.status} to saving is not allowed"
            )
        _require_formats(image)
        room = await quota.room_for_data(s, svc.conf, image.owner, staging=False)
        if content_length is not None and content_length > room:
            raise quota.OverQuota(
                f"Image data of {content_length} bytes exceeds the storage quota."
            )
        image.status = "saving"
        image.busy_host = svc.host
        image.updated_at = m.now()
        return room, image.disk_format

    room, disk_format = await svc.tx(_claim)
    store_id = svc.default_store
    inspector = _inspector(svc, disk_format)
    stored = await _receive(
        svc,
        image_id,
        "saving",
        svc.stores[store_id].put(
            image_id,
            chunks,
            expected_size=content_length,
            max_size=room,
            verify=inspector,
        ),
    )

    async def _activate(s: AsyncSession) -> bool:
        image = await _live(s, image_id, for_update=True)
        if image is None or image.status != "saving":
            s.add(m.OrphanData(store=store_id, url=stored.location))
            return False
        await quota.lock_project(s, image.owner)
        used = await quota.usage(s, image.owner)
        limit = svc.conf.image_size_total_bytes
        if limit >= 0 and used.image_size_total + stored.size > limit:
            # Another upload of the project finished first and took the room.
            s.add(m.OrphanData(store=store_id, url=stored.location))
            image.status, image.busy_host = "queued", None
            return False
        _record_data(image, stored, _virtual_size(inspector.found if inspector else None, stored))
        image.status = "active"
        s.add(m.ImageLocation(image_id=image_id, store=store_id, url=stored.location))
        return True

    activated = await svc.tx(_activate)
    if not activated:
        await svc.purge_orphans()
        async with svc.db.session() as s:
            image = await _live(s, image_id)
        if image is None:
            raise access.not_found(image_id)
        if image.status == "queued":
            raise quota.OverQuota("Image storage quota exceeded.")
        raise errors.Conflict(f"Image {image_id} changed while its data was being uploaded.")


async def _receive(
    svc: ImageService, image_id: str, claimed: str, put: Awaitable[StoredData]
) -> StoredData:
    """Await a store write, turning each failure into the image's next state and a 4xx."""
    try:
        return await put
    except inspect.ImageRefused as exc:
        await _kill(svc, image_id, claimed, exc.reason)
        raise errors.BadRequest(f"Image data was refused: {exc.reason}") from None
    except SizeExceeded:
        await _set_status(svc, image_id, claimed, "queued")
        raise quota.OverQuota("Image data exceeds the storage quota or the size limit.") from None
    except SizeMismatch as exc:
        await _set_status(svc, image_id, claimed, "queued")
        raise errors.BadRequest(f"Image data size does not match: {exc}") from None
    except StoreError as exc:
        LOG.error("image %s: store write failed: %s", image_id, exc)
        await _set_status(svc, image_id, claimed, "queued")
        raise errors.ServiceUnavailable("The image store failed to write the data.") from None
    except BaseException:
        # Client went away or the server is stopping: a retry starts over from queued.
        await _set_status(svc, image_id, claimed, "queued")
        raise


def _virtual_size(found: inspect.Inspection | None, stored: StoredData) -> int | None:
    """What a guest sees: qemu's figure, except raw data, which is exactly its size."""
    if found is None:
        return None
    if found.format in ("raw", "iso"):
        return stored.size
    return found.virtual_size


def _record_data(image: m.Image, stored: StoredData, virtual_size: int | None = None) -> None:
    image.size = stored.size
    image.checksum = stored.checksum
    image.os_hash_algo = stored.hash_algo
    image.os_hash_value = stored.hash_value
    if virtual_size is not None:
        image.virtual_size = virtual_size
    image.busy_host = None
    image.updated_at = m.now()


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(offset, length) for a single-range `Range: bytes=a-b`; None for the whole image."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise RangeNotSatisfiable(f"Invalid Range header: {header}")
    first, last = match.groups()
    if first == "":
        length = min(int(last), size)
        if length == 0:
            raise RangeNotSatisfiable(f"Range {header} is not satisfiable for {size} bytes.")
        return size - length, length
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(f"Range {header} is not satisfiable for {size} bytes.")
    return start, end - start + 1


async def download(
    svc: ImageService, ctx: RequestContext, image_id: str, range_header: str | None
) -> Download:
    """GET /file: the stored data (or a range of it); None data for an image without any."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        image = await access.load_visible(s, ctx, image_id)
        locations = (
            await s.scalars(
                select(m.ImageLocation)
                .where(m.ImageLocation.image_id == image_id)
                .order_by(m.ImageLocation.created_at)
            )
        ).all()
    if image.status == "deactivated" and not ctx.is_admin:
        raise errors.Forbidden(
            "The requested image has been deactivated. Image data download is forbidden."
        )
    location = next((loc for loc in locations if loc.store in svc.stores), None)
    if location is None or image.size is None:
        return Download(image, None)
    span = parse_range(range_header, image.size)
    offset, length = span if span is not None else (0, image.size)
    chunks = svc.stores[location.store].get(location.url, offset=offset, length=length)
    return Download(image, chunks, offset, length, partial=span is not None)


async def stage(
    svc: ImageService,
    ctx: RequestContext,
    image_id: str,
    chunks: AsyncIterable[bytes],
    content_length: int | None,
) -> None:
    """PUT /stage: keep data in the staging area; the image waits in `uploading`."""

    async def _claim(s: AsyncSession) -> int:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        access.require_modify(ctx, image, "stage data for")
        if image.status != "queued":
            raise errors.Conflict(
                f"Image status transition from {image.status} to uploading is not allowed"
            )
        room = await quota.room_for_data(s, svc.conf, image.owner, staging=True)
        if content_length is not None and content_length > room:
            raise quota.OverQuota(f"Staged data of {content_length} bytes exceeds the quota.")
        image.status = "uploading"
        image.busy_host = svc.host
        image.updated_at = m.now()
        return room

    room = await svc.tx(_claim)
    stored = await _receive(
        svc,
        image_id,
        "uploading",
        svc.staging.put(image_id, chunks, expected_size=content_length, max_size=room),
    )

    async def _staged(s: AsyncSession) -> bool:
        image = await _live(s, image_id, for_update=True)
        if image is None or image.status != "uploading":
            s.add(m.OrphanData(store=STAGING, url=stored.location))
            return False
        image.staged_size = stored.size
        image.busy_host = None
        image.updated_at = m.now()
        return True

    if not await svc.tx(_staged):
        await svc.purge_orphans()
        raise errors.Conflict(f"Image {image_id} changed while its data was being staged.")


def _import_request(svc: ImageService, body: Any) -> tuple[str, list[str], bool]:
    """(method, target stores, all must succeed) from an import body; 400 when malformed."""
    if not isinstance(body, dict) or not isinstance(body.get("method"), dict):
        raise errors.BadRequest('An import request names its method: {"method": {"name": ...}}.')
    method = body["method"].get("name")
    if method in _NO_NETWORK_METHODS:
        raise errors.BadRequest(
            f"Import method '{method}' is not available: this cloud does not fetch "
            "images from the network. Upload the data, or stage it and use glance-direct."
        )
    if method not in IMPORT_METHODS:
        raise errors.BadRequest(
            f"Unknown import method {method!r}; available: {', '.join(IMPORT_METHODS)}."
        )
    stores = body.get("stores")
    all_stores = body.get("all_stores", False)
    must_succeed = body.get("all_stores_must_succeed", True)
    if not isinstance(all_stores, bool) or not isinstance(must_succeed, bool):
        raise errors.BadRequest("all_stores and all_stores_must_succeed are booleans.")
    if stores is not None and all_stores:
        raise errors.BadRequest("Give either 'stores' or 'all_stores', not both.")
    if all_stores:
        targets = list(svc.stores)
    elif stores is None:
        targets = [svc.default_store]
    else:
        if (
            not isinstance(stores, list)
            or not stores
            or not all(isinstance(x, str) for x in stores)
        ):
            raise errors.BadRequest("'stores' is a non-empty list of store identifiers.")
        unknown = [x for x in stores if x not in svc.stores]
        if unknown:
            raise errors.BadRequest(f"Unknown store(s): {', '.join(unknown)}.")
        targets = list(dict.fromkeys(stores))
    return method, targets, must_succeed


def _set_property(
    s: AsyncSession, props: dict[str, m.ImageProperty], image_id: str, name: str, value: str
) -> None:
    if name in props:
        props[name].value = value
    else:
        props[name] = m.ImageProperty(image_id=image_id, name=name, value=value)
        s.add(props[name])


async def _props(s: AsyncSession, image_id: str) -> dict[str, m.ImageProperty]:
    rows = await s.scalars(select(m.ImageProperty).where(m.ImageProperty.image_id == image_id))
    return {p.name: p for p in rows}


async def start_import(
    svc: ImageService, ctx: RequestContext, image_id: str, body: Any, request_id: str
) -> None:
    """POST /import: check the request, record a task, and run it in the background."""
    method, targets, must_succeed = _import_request(svc, body)

    async def _begin(s: AsyncSession) -> tuple[str, list[str]]:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        if method == "copy-image":
            if not ctx.is_admin:
                raise errors.Forbidden("Only an administrator may copy images between stores.")
            if image.status != "active":
                raise errors.Conflict(
                    f"Image {image_id} is not active; only active images are copied."
                )
            held = set(
                await s.scalars(
                    select(m.ImageLocation.store).where(m.ImageLocation.image_id == image_id)
                )
            )
            todo = [x for x in targets if x not in held]
        else:
            access.require_modify(ctx, image, "import")
            if image.status != "uploading" or image.staged_size is None:
                raise errors.Conflict(
                    "Image needs to be staged before 'glance-direct' method can be used."
                )
            _require_formats(image)
            image.status = "importing"
            todo = targets
        image.busy_host = svc.host
        image.updated_at = m.now()
        props = await _props(s, image_id)
        _set_property(s, props, image_id, "os_glance_importing_to_stores", ",".join(todo))
        _set_property(s, props, image_id, "os_glance_failed_import", "")
        task_id = new_uuid()
        _set_property(s, props, image_id, "os_glance_import_task", task_id)
        now = m.now()
        s.add(
            m.Task(
                id=task_id,
                type="api_image_import",
                status="processing",
                owner=ctx.project_id,
                image_id=image_id,
                request_id=request_id,
                user_id=ctx.user_id,
                input={"image_id": image_id, "import_req": body, "backend": todo},
                created_at=now,
                updated_at=now,
            )
        )
        return task_id, todo

    task_id, todo = await svc.tx(_begin)
    svc.spawn(_run_import(svc, image_id, task_id, method, todo, must_succeed), f"import {image_id}")


async def _run_import(
    svc: ImageService,
    image_id: str,
    task_id: str,
    method: str,
    stores: list[str],
    must_succeed: bool,
) -> None:
    """Copy the data into each target store, recording progress on the image as Glance does."""
    failed: list[str] = []
    message = ""
    try:
        if method == "glance-direct":
            source_store, source_url = svc.staging, svc.staging_url(image_id)
            async with svc.db.session() as s:
                image = await _live(s, image_id)
            if image is None:
                raise _Gone
            try:
                info = (
                    await inspect.inspect_image(
                        svc.staging.local_path(source_url), image.disk_format
                    )
                    if svc.conf.inspect_images
                    else None
                )
            except inspect.ImageRefused as exc:
                await _finish_refused(svc, image_id, task_id, exc.reason)
                return
            virtual_size = info.virtual_size if info else None
            if info is not None and info.format in ("raw", "iso"):
                virtual_size = image.staged_size
        else:
            async with svc.db.session() as s:
                loc = (
                    await s.scalars(
                        select(m.ImageLocation).where(m.ImageLocation.image_id == image_id)
                    )
                ).first()
            if loc is None:
                raise _Gone
            source_store, source_url, virtual_size = svc.stores[loc.store], loc.url, None
        for store_id in stores:
            try:
                stored = await svc.stores[store_id].put(image_id, source_store.get(source_url))
            except StoreError as exc:
                LOG.error("import of %s into %s failed: %s", image_id, store_id, exc)
                failed.append(store_id)
                await _progress(svc, image_id, store_id, None, failed, virtual_size)
                if must_succeed:
                    message = f"Import into store {store_id} failed."
                    break
                continue
            if not await _progress(svc, image_id, store_id, stored, failed, virtual_size):
                raise _Gone
    except _Gone:
        message = "The image was deleted during the import."
    await _finish(svc, image_id, task_id, method, failed, message)


class _Gone(Exception):
    """The image disappeared (deleted) while its import ran."""


async def _progress(
    svc: ImageService,
    image_id: str,
    store_id: str,
    stored: StoredData | None,
    failed: list[str],
    virtual_size: int | None,
) -> bool:
    """Record one store done (or failed); the first success makes the image active."""

    async def _step(s: AsyncSession) -> bool:
        image = await _live(s, image_id, for_update=True)
        if image is None:
            if stored is not None:
                s.add(m.OrphanData(store=store_id, url=stored.location))
            return False
        props = await _props(s, image_id)
        pending = [
            x
            for x in props.get(
                "os_glance_importing_to_stores", m.ImageProperty(value="")
            ).value.split(",")
            if x and x != store_id
        ]
        _set_property(s, props, image_id, "os_glance_importing_to_stores", ",".join(pending))
        _set_property(s, props, image_id, "os_glance_failed_import", ",".join(failed))
        if stored is not None:
            s.add(m.ImageLocation(image_id=image_id, store=store_id, url=stored.location))
            if image.status == "importing":
                _record_data(image, stored, virtual_size)
                image.status = "active"
                image.staged_size = None
        image.updated_at = m.now()
        return True

    return await svc.tx(_step)


async def _finish(
    svc: ImageService, image_id: str, task_id: str, method: str, failed: list[str], message: str
) -> None:
    async def _done(s: AsyncSession) -> None:
        image = await _live(s, image_id, for_update=True)
        ok = not message and image is not None and image.status == "active"
        if image is not None:
            image.busy_host = None
            props = await _props(s, image_id)
            _set_property(s, props, image_id, "os_glance_importing_to_stores", "")
            if image.status == "importing":
                # Nothing landed anywhere: back to queued, as Glance reverts a failed import.
                image.status = "queued"
                image.staged_size = None
        task = await s.get(m.Task, task_id)
        if task is not None:
            task.status = "success" if ok else "failure"
            task.message = message if not ok else ""
            task.result = {"image_id": image_id} if ok else None
            task.updated_at = m.now()
            task.expires_at = _expiry(svc)
        if method == "glance-direct":
            s.add(m.OrphanData(store=STAGING, url=svc.staging_url(image_id)))

    await svc.tx(_done)
    await svc.purge_orphans()


async def _finish_refused(svc: ImageService, image_id: str, task_id: str, reason: str) -> None:
    async def _done(s: AsyncSession) -> None:
        image = await _live(s, image_id, for_update=True)
        if image is not None:
            image.status, image.reason, image.busy_host = "killed", reason, None
            image.staged_size = None
            props = await _props(s, image_id)
            _set_property(s, props, image_id, "os_glance_importing_to_stores", "")
        task = await s.get(m.Task, task_id)
        if task is not None:
            task.status, task.message = "failure", f"Image data was refused: {reason}"
            task.updated_at, task.expires_at = m.now(), _expiry(svc)
        s.add(m.OrphanData(store=STAGING, url=svc.staging_url(image_id)))

    await svc.tx(_done)
    await svc.purge_orphans()


def _expiry(svc: ImageService) -> Any:
    return m.now() + dt.timedelta(seconds=svc.conf.task_ttl_s)


async def delete_from_store(
    svc: ImageService, ctx: RequestContext, store_id: str, image_id: str
) -> None:
    """DELETE /v2/stores/{store}/{image}: drop one copy; the last one cannot go (409)."""
    if not ctx.is_admin:
        raise errors.Forbidden("Only an administrator may delete an image from a store.")
    if store_id not in svc.stores:
        raise errors.NotFound(f"Unknown store {store_id}.")

    async def _drop(s: AsyncSession) -> None:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        if image.status != "active":
            raise errors.Conflict(f"Image {image_id} is not active.")
        locs = (
            await s.scalars(select(m.ImageLocation).where(m.ImageLocation.image_id == image_id))
        ).all()
        here = [loc for loc in locs if loc.store == store_id]
        if not here:
            raise errors.NotFound(f"Image {image_id} has no data in store {store_id}.")
        if len(locs) == 1:
            raise errors.Conflict("The last copy of an image's data cannot be deleted.")
        s.add(m.OrphanData(store=store_id, url=here[0].url))
        await s.execute(
            delete(m.ImageLocation).where(
                m.ImageLocation.image_id == image_id, m.ImageLocation.store == store_id
            )
        )
        image.updated_at = m.now()

    await svc.tx(_drop)
    await svc.purge_orphans()
