"""Volume transfers: a volume offered to whichever project presents the one-time auth key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.service import policy, quota
from stackling.volume.service.core import VolumeService

# 16 hex characters, as Cinder's default auth key length.
KEY_BYTES = 8


@dataclass(slots=True)
class TransferCreate:
    """A checked transfer create body."""

    volume_id: str
    name: str | None = None
    no_snapshots: bool = False


@dataclass(slots=True)
class Created:
    """A new transfer and its auth key, which is shown this once and never stored."""

    transfer: m.Transfer
    auth_key: str


def _digest(salt: str, key: str) -> str:
    return hashlib.sha256((salt + key).encode()).hexdigest()


def not_found(transfer_id: str) -> errors.NotFound:
    """Cinder's TransferNotFound."""
    return errors.NotFound(f"Transfer {transfer_id} could not be found.")


async def create(svc: VolumeService, ctx: RequestContext, req: TransferCreate) -> Created:
    """Offer an available volume of the caller's project; it waits in awaiting-transfer."""
    policy.enforce(ctx, "volume:create_transfer", {"project_id": ctx.project_id})
    key = secrets.token_hex(KEY_BYTES)
    salt = secrets.token_hex(KEY_BYTES)

    async def _do(s: AsyncSession) -> m.Transfer:
        # Only the owner may give a volume away, even an admin's view of it is not enough.
        vol = await s.scalar(
            select(m.Volume)
            .where(m.Volume.id == req.volume_id, m.Volume.project_id == ctx.project_id)
            .with_for_update()
        )
        if vol is None:
            raise faults.volume_not_found(req.volume_id)
        if vol.status != states.AVAILABLE:
            raise faults.InvalidVolume("status must be available")
        if not req.no_snapshots:
            busy = await s.scalar(
                select(m.Snapshot.id).where(
                    m.Snapshot.volume_id == vol.id, m.Snapshot.status != states.SNAP_AVAILABLE
                )
            )
            if busy is not None:
                raise errors.BadRequest(
                    f"Invalid snapshot: snapshot: {busy} status must be available"
                )
        moved = await s.execute(
            update(m.Volume)
            .where(m.Volume.id == vol.id, m.Volume.status == states.AVAILABLE)
            .values(status=states.AWAITING_TRANSFER, updated_at=m.now())
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise faults.InvalidVolume("status must be available")
        row = m.Transfer(
            id=new_uuid(),
            volume_id=vol.id,
            source_project_id=vol.project_id,
            name=req.name,
            salt=salt,
            crypt_hash=_digest(salt, key),
            no_snapshots=req.no_snapshots,
            created_at=m.now(),
        )
        s.add(row)
        await s.flush()
        return row

    return Created(await svc.tx(_do), key)


def _visible(ctx: RequestContext, all_projects: bool) -> list[object]:
    if ctx.is_admin and all_projects:
        return []
    return [m.Transfer.source_project_id == ctx.project_id]


async def list_transfers(
    svc: VolumeService, ctx: RequestContext, *, all_projects: bool
) -> list[m.Transfer]:
    """The caller's project's transfers (an admin's all_tenants shows every project's)."""
    policy.enforce(ctx, "volume:get_all_transfers", {"project_id": ctx.project_id})
    query = (
        select(m.Transfer)
        .where(*_visible(ctx, all_projects))
        .order_by(m.Transfer.created_at, m.Transfer.id)
    )
    async with svc.db.session() as s:
        return list((await s.scalars(query)).all())


async def show(svc: VolumeService, ctx: RequestContext, transfer_id: str) -> m.Transfer:
    """One transfer of the caller's project (admins: any); 404 otherwise."""
    policy.enforce(ctx, "volume:get_transfer", {"project_id": ctx.project_id})
    async with svc.db.session() as s:
        row = await s.scalar(
            select(m.Transfer).where(m.Transfer.id == transfer_id, *_visible(ctx, True))
        )
    if row is None:
        raise not_found(transfer_id)
    return row


async def delete(svc: VolumeService, ctx: RequestContext, transfer_id: str) -> None:
    """Withdraw the offer: the volume is available to its project again."""
    policy.enforce(ctx, "volume:delete_transfer", {"project_id": ctx.project_id})

    async def _do(s: AsyncSession) -> None:
        row = await s.scalar(
            select(m.Transfer)
            .where(m.Transfer.id == transfer_id, *_visible(ctx, True))
            .with_for_update()
        )
        if row is None:
            raise not_found(transfer_id)
        await s.execute(
            update(m.Volume)
            .where(m.Volume.id == row.volume_id, m.Volume.status == states.AWAITING_TRANSFER)
            .values(status=states.AVAILABLE, updated_at=m.now())
        )
        await s.delete(row)

    await svc.tx(_do)


async def accept(
    svc: VolumeService, ctx: RequestContext, transfer_id: str, auth_key: str
) -> m.Transfer:
    """Take the volume (and its snapshots) into the caller's project, within its quota."""
    policy.enforce(ctx, "volume:accept_transfer", {"project_id": ctx.project_id})
    project_id = str(ctx.project_id)

    async def _do(s: AsyncSession) -> m.Transfer:
        # The row lock makes a second, concurrent accept wait and then find nothing.
        row = await s.scalar(
            select(m.Transfer)
            .where(m.Transfer.id == transfer_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None:
            raise not_found(transfer_id)
        if not hmac.compare_digest(_digest(row.salt, auth_key), row.crypt_hash):
            raise errors.BadRequest(
                f"Invalid auth key: Attempt to transfer {transfer_id} with invalid auth key."
            )
        vol = await s.scalar(select(m.Volume).where(m.Volume.id == row.volume_id).with_for_update())
        if vol is None:
            raise faults.volume_not_found(row.volume_id)
        if vol.status != states.AWAITING_TRANSFER:
            raise faults.InvalidVolume("status must be awaiting-transfer")
        quota.check_size(await quota.limits(s, svc.conf, project_id), vol.size)
        snaps, snap_gb = 0, 0
        if not row.no_snapshots:
            snaps, snap_gb = (
                await s.execute(
                    select(func.count(), func.coalesce(func.sum(m.Snapshot.size), 0)).where(
                        m.Snapshot.volume_id == vol.id
                    )
                )
            ).one()
        await quota.reserve(
            s,
            svc.conf,
            project_id,
            volumes=1,
            gigabytes=vol.size + int(snap_gb),
            snapshots=int(snaps),
        )
        vol.project_id = project_id
        vol.user_id = ctx.user_id
        vol.status = states.AVAILABLE
        vol.updated_at = m.now()
        if not row.no_snapshots:
            await s.execute(
                update(m.Snapshot)
                .where(m.Snapshot.volume_id == vol.id)
                .values(project_id=project_id, user_id=ctx.user_id, updated_at=m.now())
            )
        await s.delete(row)
        return row

    return await svc.tx(_do)
