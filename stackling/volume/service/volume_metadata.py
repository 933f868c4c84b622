"""A volume's user metadata, key by key: /volumes/{id}/metadata and its items."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.volume import models as m
from stackling.volume.service import policy, scope
from stackling.volume.service.core import VolumeService


async def _items(s: AsyncSession, volume_id: str) -> dict[str, str]:
    rows = await s.scalars(select(m.VolumeMetadata).where(m.VolumeMetadata.volume_id == volume_id))
    return {row.key: row.value for row in rows}


async def show(svc: VolumeService, ctx: RequestContext, volume_id: str) -> dict[str, str]:
    """Every key of the volume's metadata."""
    async with svc.db.session() as s:
        row = await scope.load_volume(s, ctx, volume_id)
        policy.enforce(ctx, "volume:get_volume_metadata", {"project_id": row.project_id})
        return await _items(s, row.id)


async def write(
    svc: VolumeService,
    ctx: RequestContext,
    volume_id: str,
    items: dict[str, str],
    *,
    replace: bool,
) -> dict[str, str]:
    """Merge `items` in (POST, PUT of a key) or replace everything (PUT); the result."""

    async def _do(s: AsyncSession) -> dict[str, str]:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, "volume:update_volume_metadata", {"project_id": row.project_id})
        current = await _items(s, row.id)
        if replace:
            await s.execute(delete(m.VolumeMetadata).where(m.VolumeMetadata.volume_id == row.id))
            current = {}
        for key, value in items.items():
            if key in current:
                await s.execute(
                    delete(m.VolumeMetadata).where(
                        m.VolumeMetadata.volume_id == row.id, m.VolumeMetadata.key == key
                    )
                )
            s.add(m.VolumeMetadata(volume_id=row.id, key=key, value=value))
            current[key] = value
        row.updated_at = m.now()
        await s.flush()
        return current

    return await svc.tx(_do)


async def delete_key(svc: VolumeService, ctx: RequestContext, volume_id: str, key: str) -> None:
    """Remove one key; 404 when the volume does not have it."""

    async def _do(s: AsyncSession) -> None:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, "volume:delete_volume_metadata", {"project_id": row.project_id})
        done = await s.execute(
            delete(m.VolumeMetadata).where(
                m.VolumeMetadata.volume_id == row.id, m.VolumeMetadata.key == key
            )
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            raise errors.NotFound(f"Metadata key {key} could not be found for volume {volume_id}.")
        row.updated_at = m.now()

    await svc.tx(_do)
