"""Upload a volume to an image: a queued image, then the volume `uploading` for its agent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.service import images as volume_images
from stackling.volume.service import policy, scope, transitions
from stackling.volume.service.core import VolumeService

# What a volume may be uploaded from, without and with `force` (Cinder's conditions).
UPLOADABLE = (states.AVAILABLE,)
UPLOADABLE_FORCED = (states.AVAILABLE, states.IN_USE)


@dataclass(slots=True)
class UploadRequest:
    """A checked os-volume_upload_image body."""

    image_name: str
    force: bool = False
    disk_format: str = "raw"
    container_format: str = "bare"
    visibility: str | None = None
    protected: bool | None = None


@dataclass(slots=True)
class UploadStarted:
    """The volume now uploading, its type, and the image receiving its data."""

    volume: m.Volume
    volume_type: m.VolumeType | None
    image: volume_images.NewImage


def _refusal(volume_id: str, force: bool) -> faults.InvalidVolume:
    allowed = " or ".join(UPLOADABLE_FORCED if force else UPLOADABLE)
    return faults.InvalidVolume(f"Volume {volume_id} status must be {allowed}")


async def _image_body(
    svc: VolumeService, ctx: RequestContext, volume_id: str, req: UploadRequest
) -> dict[str, object]:
    """The new image's attributes, after checking the caller may upload this volume now."""
    async with svc.db.session() as s:
        row = await scope.load_volume(s, ctx, volume_id)
        policy.enforce(
            ctx, "volume_extension:volume_actions:upload_image", {"project_id": row.project_id}
        )
        if row.status not in (UPLOADABLE_FORCED if req.force else UPLOADABLE):
            raise _refusal(row.id, req.force)
        inherited = await s.execute(
            select(m.VolumeImageMetadata.key, m.VolumeImageMetadata.value).where(
                m.VolumeImageMetadata.volume_id == row.id
            )
        )
    if req.visibility == "public":
        policy.enforce(ctx, "volume_extension:volume_actions:upload_public")
    # As Cinder: the source image's own properties carry over, its core facts do not.
    body: dict[str, object] = {k: v for k, v in inherited.all() if k not in volume_images.CORE_KEYS}
    body.update(
        name=req.image_name,
        disk_format=req.disk_format,
        container_format=req.container_format,
    )
    if req.visibility is not None:
        body["visibility"] = req.visibility
    if req.protected is not None:
        body["protected"] = req.protected
    return body


async def upload_to_image(
    svc: VolumeService, ctx: RequestContext, volume_id: str, req: UploadRequest
) -> UploadStarted:
    """Create the image, then move the volume to `uploading`; its agent sends the data."""
    body = await _image_body(svc, ctx, volume_id, req)
    image = await volume_images.create_image(svc, ctx, body)

    async def _claim(s: AsyncSession) -> UploadStarted:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        if row.status not in (UPLOADABLE_FORCED if req.force else UPLOADABLE):
            raise _refusal(row.id, req.force)
        await transitions.compare_and_set(
            s, row, states.UPLOADING, previous_status=row.status, upload_image_id=image.id
        )
        await s.refresh(row)
        vtype = await s.get(m.VolumeType, row.volume_type_id) if row.volume_type_id else None
        return UploadStarted(row, vtype, image)

    try:
        started = await svc.tx(_claim)
    except BaseException:
        # The volume moved on meanwhile: the image would stay queued forever.
        await volume_images.discard(svc, ctx, image.id)
        raise
    await svc.notify(started.volume.host, started.volume.id)
    return started
