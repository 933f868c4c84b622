"""The image service as volumes see it: the one module of the volume service that calls it.

Volumes reach the image service through its service layer in this process
(never its models). API calls use the caller's own context, so that the image
service's visibility rules decide what the caller may use; the agent uses
agent_context().
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.image.service import data as image_data
from stackling.image.service import images as image_api
from stackling.volume import faults
from stackling.volume import models as m
from stackling.volume.service.core import VolumeService

LOG = logging.getLogger(__name__)
GIB = 1 << 30
# Image attributes Cinder copies into volume_glance_metadata beside the image's properties.
_COPIED = ("checksum", "container_format", "disk_format", "min_disk", "min_ram", "size")
# Keys of a volume's image metadata that describe the source image itself: an image
# uploaded from the volume gets every other key as a property (Cinder's core properties).
CORE_KEYS = frozenset(
    {"checksum", "container_format", "disk_format", "image_name", "image_id", "min_disk"}
    | {"min_ram", "name", "size"}
)


@dataclass(slots=True)
class SourceImage:
    """An image a volume is made from, as the volume service needs it."""

    id: str
    disk_format: str
    metadata: dict[str, str]


def image_service(svc: VolumeService) -> Any:
    """The image service of this process; 400 when the cloud runs none."""
    runtime = svc.runtime
    if runtime is None or "image" not in runtime.services:
        raise errors.BadRequest("Images are not supported by this cloud: it runs no image service.")
    return runtime.service("image").svc


def agent_context(volume: m.Volume) -> RequestContext:
    """The agent's context: admin, acting for the volume's project.

    The caller's right to the image was checked with their own token at the API;
    the agent may run after a restart, when no token is left.
    """
    return RequestContext(
        request_id=f"req-{new_uuid()}",
        user_id=volume.user_id,
        project_id=volume.project_id,
        roles=frozenset({"admin", "member", "reader"}),
    )


def _gib(size: int | None) -> int:
    return ((size or 0) + GIB - 1) // GIB


async def source_image(
    svc: VolumeService, ctx: RequestContext, image_id: str, size: int
) -> SourceImage:
    """The image named by imageRef if the caller may use it for a volume of `size` GiB.

    400 (Cinder's words) when it does not exist or is hidden from the caller,
    is not active, or does not fit.
    """
    try:
        rec = await image_api.show(image_service(svc), ctx, image_id)
    except (errors.NotFound, errors.Forbidden):
        raise errors.BadRequest(f"Image {image_id} could not be found.") from None
    image = rec.image
    if image.status != "active":
        raise faults.InvalidInput(f"Image {image.id} is not active.")
    if image.disk_format is None:
        raise faults.InvalidInput(f"Image {image.id} has no disk format.")
    if _gib(image.size) > size:
        raise faults.InvalidInput(
            f"Size of specified image {_gib(image.size)}GB is larger than volume size {size}GB."
        )
    if _gib(image.virtual_size) > size:
        raise faults.InvalidInput(
            f"Image virtual size is {_gib(image.virtual_size)}GB and doesn't fit in a volume "
            f"of size {size}GB."
        )
    if image.min_disk > size:
        raise faults.InvalidInput(
            f"Volume size {size}GB cannot be smaller than the image minDisk size "
            f"{image.min_disk}GB."
        )
    meta: dict[str, str] = {"image_id": image.id}
    if image.name is not None:
        meta["image_name"] = image.name
    for key in _COPIED:
        value = getattr(image, key)
        if value is not None:
            meta[key] = str(value)
    for key, value in rec.properties.items():
        meta.setdefault(key, value)
    return SourceImage(image.id, image.disk_format, meta)


def metadata_rows(volume_id: str, source: SourceImage) -> list[m.VolumeImageMetadata]:
    """The volume_image_metadata rows recording the source image."""
    return [
        m.VolumeImageMetadata(volume_id=volume_id, key=key, value=value)
        for key, value in source.metadata.items()
    ]


@dataclass(slots=True)
class ImageState:
    """What the agent needs to know of an image it uploads into."""

    status: str
    disk_format: str | None
    protected: bool


async def image_state(svc: VolumeService, ctx: RequestContext, image_id: str) -> ImageState:
    """The image's status, disk format and protection."""
    image = (await image_api.show(image_service(svc), ctx, image_id)).image
    return ImageState(image.status, image.disk_format, image.protected)


async def fetch(svc: VolumeService, ctx: RequestContext, image_id: str, dest: Path) -> str:
    """Write the image's data to `dest`; its disk format (400/404 as the image service says)."""
    download = await image_data.download(image_service(svc), ctx, image_id, None)
    if download.chunks is None or download.image.disk_format is None:
        raise errors.BadRequest(f"Image {image_id} has no data.")
    await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
    fd = await asyncio.to_thread(os.open, dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        async for chunk in download.chunks:
            await asyncio.to_thread(os.write, fd, chunk)
    finally:
        os.close(fd)
    return download.image.disk_format


async def send(
    svc: VolumeService,
    ctx: RequestContext,
    image_id: str,
    chunks: AsyncIterable[bytes],
    size: int,
) -> None:
    """Upload data into a queued image, which becomes active."""
    await image_data.upload(image_service(svc), ctx, image_id, chunks, size)


async def discard(svc: VolumeService, ctx: RequestContext, image_id: str) -> None:
    """Delete an image (unprotecting it first); errors are logged, a missing image ignored."""
    try:
        image_svc = image_service(svc)
        if (await image_api.show(image_svc, ctx, image_id)).image.protected:
            await image_api.update(image_svc, ctx, image_id, [("replace", "protected", False)])
        await image_api.delete_image(image_svc, ctx, image_id)
    except errors.NotFound:
        return
    except errors.StacklingError as exc:
        LOG.error("cannot delete image %s: %s", image_id, exc)


@dataclass(slots=True)
class NewImage:
    """An image created to receive a volume's data."""

    id: str
    name: str | None
    disk_format: str | None
    container_format: str | None
    visibility: str
    protected: bool


async def create_image(svc: VolumeService, ctx: RequestContext, body: dict[str, Any]) -> NewImage:
    """A queued image owned by the caller's project (Glance's rules and quotas apply)."""
    image = (await image_api.create(image_service(svc), ctx, body)).image
    return NewImage(
        image.id,
        image.name,
        image.disk_format,
        image.container_format,
        image.visibility,
        image.protected,
    )
