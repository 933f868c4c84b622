"""The agent's image work: fill a volume from its image, and upload a volume into an image.

Image data passes through a scratch file beside the volumes, named
`.volume-<id>.<what>.partial` so that the backend's start-up sweep of partial
files (remove_partials) removes whatever a crash left; a clean run removes it
itself. Both jobs are safe to repeat: a volume already imported is not
fetched again, and an image already active is not uploaded again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.volume import models as m
from stackling.volume import states
from stackling.volume.drivers.base import BackendError
from stackling.volume.service import images as volume_images
from stackling.volume.service.core import VolumeService

if TYPE_CHECKING:
    from stackling.volume.agent import VolumeAgent

LOG = logging.getLogger(__name__)
CHUNK = 1 << 20


def scratch_path(root: Path, volume_id: str, what: str) -> Path:
    """A temporary file for a volume's image data, named so the backend's sweep finds it."""
    return root / f".volume-{volume_id}.{what}.partial"


def _scratch(svc: VolumeService, volume_id: str, what: str) -> Path:
    # Beside the volumes: the backend's root, as VolumeService computes it.
    return scratch_path(svc.conf.data_dir or svc.settings.data_dir / "volume", volume_id, what)


async def _set(svc: VolumeService, volume_id: str, expected: str, **values: Any) -> None:
    """Compare-and-set the row: nothing changes if its status moved on meanwhile."""

    async def _do(s: AsyncSession) -> None:
        await s.execute(
            update(m.Volume)
            .where(m.Volume.id == volume_id, m.Volume.status == expected)
            .values(updated_at=m.now(), **values)
        )

    await svc.tx(_do)


async def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        await asyncio.to_thread(path.unlink)


async def build(agent: VolumeAgent, row: m.Volume) -> None:
    """Fill a `creating` volume from its image and mark it bootable; BackendError on failure."""
    svc = agent.svc
    if row.image_id is None:
        raise BackendError(f"volume {row.id} names no image")
    tmp = _scratch(svc, row.id, "image")
    try:
        # A restart after the import but before the status change: the data is there.
        if await agent.backend.size_of(row.id) is None:
            ctx = volume_images.agent_context(row)
            disk_format = await volume_images.fetch(svc, ctx, row.image_id, tmp)
            await agent.backend.import_image(row.id, tmp, disk_format, row.size, replace=False)
    except (BackendError, errors.StacklingError, OSError) as exc:
        reason = f"Failed to copy image {row.image_id} to volume: {exc}"
        await _set(svc, row.id, states.CREATING, error_reason=reason)
        raise BackendError(reason) from exc
    finally:
        await _unlink(tmp)
    await _set(svc, row.id, states.CREATING, bootable=True, error_reason=None)


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    fd = await asyncio.to_thread(os.open, path, os.O_RDONLY)
    try:
        while chunk := await asyncio.to_thread(os.read, fd, CHUNK):
            yield chunk
    finally:
        os.close(fd)


async def _send(agent: VolumeAgent, row: m.Volume, image_id: str, tmp: Path) -> None:
    """Export the volume and upload it into the queued image (nothing if it is active)."""
    svc = agent.svc
    ctx = volume_images.agent_context(row)
    image = await volume_images.image_state(svc, ctx, image_id)
    if image.status == "active":
        return
    await asyncio.to_thread(tmp.parent.mkdir, parents=True, exist_ok=True)
    await agent.backend.export_image(row.id, tmp, image.disk_format or "raw")
    size = (await asyncio.to_thread(tmp.stat)).st_size
    await volume_images.send(svc, ctx, image_id, _chunks(tmp), size)


async def upload(agent: VolumeAgent, row: m.Volume) -> None:
    """Upload an `uploading` volume into its image, then give it back its previous status."""
    if row.host != agent.host:
        return
    svc = agent.svc
    done = {
        "status": row.previous_status or states.AVAILABLE,
        "previous_status": None,
        "upload_image_id": None,
    }
    image_id = row.upload_image_id
    if image_id is None:
        LOG.error("volume %s: uploading with no image to upload to", row.id)
        await _set(svc, row.id, states.UPLOADING, error_reason="No image to upload to.", **done)
        return
    tmp = _scratch(svc, row.id, "upload")
    try:
        await _send(agent, row, image_id, tmp)
    except (BackendError, errors.StacklingError, OSError) as exc:
        reason = f"Failed to upload volume to image {image_id}: {exc}"
        LOG.error("volume %s: %s", row.id, reason)
        await volume_images.discard(svc, volume_images.agent_context(row), image_id)
        await _set(svc, row.id, states.UPLOADING, error_reason=reason, **done)
        return
    finally:
        await _unlink(tmp)
    await _set(svc, row.id, states.UPLOADING, error_reason=None, **done)
