"""The locally built test guest, registered as public `cirros` when a cloud has no images.

Clients and test suites written for OpenStack expect a CirrOS image to boot;
this gives them one without any download. Building takes a while the first
time (Debian packages are fetched and cached), so it runs in the background
after start-up and never delays `stackling up`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.ids import new_uuid
from stackling.image import inspect, testimage
from stackling.image import models as m
from stackling.image.service.core import ImageService

LOG = logging.getLogger(__name__)


async def _file_chunks(path: Path, size: int = 1 << 20) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while data := await asyncio.to_thread(fh.read, size):
            yield data


def _live_images() -> Any:
    # Deleted images stay as tombstone rows; they do not count as images.
    return select(func.count()).select_from(m.Image).where(m.Image.status != "deleted")


async def _has_images(svc: ImageService) -> bool:
    async with svc.db.session() as s:
        return bool(await s.scalar(_live_images()))


async def register_test_image(svc: ImageService) -> str | None:
    """Build (or reuse) the test guest and register it when there are no images; its id."""
    if await _has_images(svc):
        return None
    path = await asyncio.to_thread(testimage.ensure_test_image)
    if await _has_images(svc):
        return None  # someone uploaded an image while we were building
    image_id = new_uuid()
    found = await inspect.inspect_image(path, testimage.TEST_IMAGE_DISK_FORMAT)
    store_id = svc.default_store
    stored = await svc.stores[store_id].put(image_id, _file_chunks(path))

    async def _register(s: AsyncSession) -> bool:
        if await s.scalar(_live_images()):
            s.add(m.OrphanData(store=store_id, url=stored.location))
            return False
        now = m.now()
        s.add(
            m.Image(
                id=image_id,
                name=testimage.TEST_IMAGE_NAME,
                status="active",
                visibility="public",
                owner=None,
                size=stored.size,
                virtual_size=found.virtual_size,
                checksum=stored.checksum,
                os_hash_algo=stored.hash_algo,
                os_hash_value=stored.hash_value,
                disk_format=testimage.TEST_IMAGE_DISK_FORMAT,
                container_format=testimage.TEST_IMAGE_CONTAINER_FORMAT,
                min_ram=testimage.TEST_IMAGE_MIN_RAM_MB,
                min_disk=testimage.TEST_IMAGE_MIN_DISK_GB,
                created_at=now,
                updated_at=now,
            )
        )
        await s.flush()
        s.add_all(
            m.ImageProperty(image_id=image_id, name=k, value=v)
            for k, v in testimage.TEST_IMAGE_PROPERTIES.items()
        )
        s.add(m.ImageLocation(image_id=image_id, store=store_id, url=stored.location))
        return True

    if not await svc.tx(_register):
        await svc.purge_orphans()
        return None
    LOG.info("registered the test image %s as %r", image_id, testimage.TEST_IMAGE_NAME)
    return image_id
