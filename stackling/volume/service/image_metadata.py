"""A volume's image metadata (Cinder's volume_glance_metadata): show, set and unset keys."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.service import policy, scope
from stackling.volume.service.core import VolumeService


async def _load(s: AsyncSession, volume_id: str) -> dict[str, str]:
    rows = await s.scalars(
        select(m.VolumeImageMetadata).where(m.VolumeImageMetadata.volume_id == volume_id)
    )
    return {r.key: r.value for r in rows}


def _not_found(volume_id: str) -> errors.NotFound:
    """Cinder's GlanceMetadataNotFound."""
    return errors.NotFound(f"Glance metadata for volume/snapshot {volume_id} cannot be found.")


async def show(svc: VolumeService, ctx: RequestContext, volume_id: str) -> dict[str, str]:
    """The volume's image metadata."""
    async with svc.db.session() as s:
        row = await scope.load_volume(s, ctx, volume_id)
        policy.enforce(
            ctx, "volume_extension:volume_image_metadata:show", {"project_id": row.project_id}
        )
        return await _load(s, row.id)


async def set_keys(
    svc: VolumeService, ctx: RequestContext, volume_id: str, metadata: dict[str, str]
) -> dict[str, str]:
    """Add or replace keys; all of the volume's image metadata after the change."""

    async def _do(s: AsyncSession) -> dict[str, str]:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(
            ctx, "volume_extension:volume_image_metadata:set", {"project_id": row.project_id}
        )
        if row.status == states.MAINTENANCE:
            raise faults.InvalidVolume("The volume is in maintenance.")
        rows = {
            r.key: r
            for r in await s.scalars(
                select(m.VolumeImageMetadata).where(m.VolumeImageMetadata.volume_id == row.id)
            )
        }
        for key, value in metadata.items():
            if key in rows:
                rows[key].value = value
            else:
                s.add(m.VolumeImageMetadata(volume_id=row.id, key=key, value=value))
        await s.flush()
        return await _load(s, row.id)

    return await svc.tx(_do)


async def unset_key(svc: VolumeService, ctx: RequestContext, volume_id: str, key: str) -> None:
    """Remove one key; 404 when the volume's image metadata lacks it."""

    async def _do(s: AsyncSession) -> None:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(
            ctx, "volume_extension:volume_image_metadata:remove", {"project_id": row.project_id}
        )
        if row.status == states.MAINTENANCE:
            raise faults.InvalidVolume("The volume is in maintenance.")
        done = await s.execute(
            delete(m.VolumeImageMetadata).where(
                m.VolumeImageMetadata.volume_id == row.id, m.VolumeImageMetadata.key == key
            )
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise _not_found(row.id)

    await svc.tx(_do)
