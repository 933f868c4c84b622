"""Changing what a volume is: retype (without migration) and an admin's force detach."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.service import attachments, policy, scope, types
from stackling.volume.service.core import VolumeService

# Cinder retypes volumes in these states (in-use too: the data stays where it is).
RETYPEABLE = (states.AVAILABLE, states.IN_USE)
MIGRATION_POLICIES = ("never", "on-demand")


async def retype(
    svc: VolumeService, ctx: RequestContext, volume_id: str, new_type: str, migration_policy: str
) -> None:
    """Give the volume another type. One backend serves every type here, so no data moves."""
    if migration_policy not in MIGRATION_POLICIES:
        raise faults.InvalidInput(
            f"Invalid migration_policy {migration_policy!r}: it is never or on-demand."
        )

    async def _do(s: AsyncSession) -> None:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, "volume:retype", {"project_id": row.project_id})
        vtype = await types.find(s, ctx, new_type)
        if row.status not in RETYPEABLE:
            raise faults.InvalidVolume(
                f"Volume {row.id} status must be available or in-use to retype, "
                f"but current status is: {row.status}."
            )
        if vtype.id == row.volume_type_id:
            raise faults.InvalidInput("Retype requires a different volume type.")
        row.volume_type_id = vtype.id
        row.updated_at = m.now()

    await svc.tx(_do)


async def force_detach(
    svc: VolumeService, ctx: RequestContext, volume_id: str, attachment_id: str | None
) -> None:
    """Drop the volume's attachment (or all of them) whatever the host did (admin)."""
    async with svc.db.session() as s:
        row = await scope.load_volume(s, ctx, volume_id)
        policy.enforce(ctx, "volume_extension:volume_admin_actions:force_detach")
        query = select(m.Attachment.id).where(m.Attachment.volume_id == row.id)
        if attachment_id is not None:
            query = query.where(m.Attachment.id == attachment_id)
        found = list(await s.scalars(query))
    if attachment_id is not None and not found:
        raise errors.NotFound(f"Volume attachment {attachment_id} could not be found.")
    for ident in found:
        await attachments.attachment_delete(svc, ctx, ident)
    # Forced: a volume in error (Tempest resets it so first) is available once free.
    await attachments.settle_unattached(svc, row.id)
