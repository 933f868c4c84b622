"""Snapshots: desired state in one transaction (quota included), then the agent is told."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.service import listing, policy, quota, scope, transitions
from stackling.volume.service.core import VolumeService

LISTING = listing.Listing(
    model=m.Snapshot,
    select=scope.select_snapshots,
    sort_keys={
        **listing.common_sort_keys(m.Snapshot),
        "volume_id": listing.column(m.Snapshot.volume_id),
    },
    # Cinder's resource filters for snapshots (display_name is the v1 name).
    filters={
        "name": listing.equals(m.Snapshot.name),
        "display_name": listing.equals(m.Snapshot.name),
        "status": listing.equals(m.Snapshot.status),
        "volume_id": listing.equals(m.Snapshot.volume_id),
        "metadata": listing.metadata_filter(
            m.Snapshot.id, m.SnapshotMetadata, m.SnapshotMetadata.snapshot_id
        ),
    },
)


@dataclass(slots=True)
class SnapshotCreate:
    """A checked POST /snapshots body; `allow_in_use` is force (or 3.66+)."""

    volume_id: str
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    allow_in_use: bool = False
    # The group snapshot this snapshot is taken for, if any (3.14).
    group_snapshot_id: str | None = None


@dataclass(slots=True)
class SnapshotRecord:
    """A snapshot with its metadata."""

    snapshot: m.Snapshot
    metadata: dict[str, str]


async def _records(s: AsyncSession, rows: Sequence[m.Snapshot]) -> list[SnapshotRecord]:
    ids = [row.id for row in rows]
    meta: dict[str, dict[str, str]] = {sid: {} for sid in ids}
    if ids:
        for item in await s.scalars(
            select(m.SnapshotMetadata).where(m.SnapshotMetadata.snapshot_id.in_(ids))
        ):
            meta[item.snapshot_id][item.key] = item.value
    return [SnapshotRecord(row, meta[row.id]) for row in rows]


async def _metadata(s: AsyncSession, snapshot_id: str) -> dict[str, str]:
    rows = await s.scalars(
        select(m.SnapshotMetadata).where(m.SnapshotMetadata.snapshot_id == snapshot_id)
    )
    return {row.key: row.value for row in rows}


async def create(svc: VolumeService, ctx: RequestContext, req: SnapshotCreate) -> SnapshotRecord:
    """Record a `creating` snapshot of the volume within its project's quota."""

    async def _do(s: AsyncSession) -> SnapshotRecord:
        # The volume's row is locked: a delete cannot start in between.
        volume = await scope.load_volume(s, ctx, req.volume_id, for_update=True)
        policy.enforce(ctx, "volume:create_snapshot", {"project_id": volume.project_id})
        allowed = states.SNAPSHOTTABLE if req.allow_in_use else (states.AVAILABLE,)
        if volume.status not in allowed:
            wanted = "available or in-use" if req.allow_in_use else "available"
            raise faults.InvalidVolume(
                f"Volume {volume.id} status must be {wanted}, "
                f"but current status is: {volume.status}."
            )
        await quota.reserve(
            s, svc.conf, volume.project_id, volumes=0, gigabytes=volume.size, snapshots=1
        )
        row = m.Snapshot(
            id=new_uuid(),
            project_id=volume.project_id,
            user_id=ctx.user_id,
            volume_id=volume.id,
            name=req.name,
            description=req.description,
            size=volume.size,
            status=states.SNAP_CREATING,
            progress="0%",
            host=volume.host,
            group_snapshot_id=req.group_snapshot_id,
        )
        s.add(row)
        for key, value in req.metadata.items():
            s.add(m.SnapshotMetadata(snapshot_id=row.id, key=key, value=value))
        await s.flush()
        return SnapshotRecord(row, dict(req.metadata))

    rec = await svc.tx(_do)
    await svc.notify_snapshot(rec.snapshot.host, rec.snapshot.id)
    return rec


async def list_snapshots(
    svc: VolumeService, ctx: RequestContext, q: listing.ListQuery
) -> tuple[list[SnapshotRecord], int | None]:
    """The page of snapshots the query asks for, and the total count when asked (3.45)."""
    policy.enforce(ctx, "volume:get_all_snapshots", {"project_id": ctx.project_id})
    async with svc.db.session() as s:
        rows, count = await listing.fetch(s, ctx, LISTING, q)
        return await _records(s, rows), count


async def show(svc: VolumeService, ctx: RequestContext, snapshot_id: str) -> SnapshotRecord:
    """One snapshot."""
    async with svc.db.session() as s:
        row = await scope.load_snapshot(s, ctx, snapshot_id)
        policy.enforce(ctx, "volume:get_snapshot", {"project_id": row.project_id})
        return SnapshotRecord(row, await _metadata(s, row.id))


async def update(
    svc: VolumeService, ctx: RequestContext, snapshot_id: str, changes: dict[str, Any]
) -> SnapshotRecord:
    """Rename or describe a snapshot."""

    async def _do(s: AsyncSession) -> SnapshotRecord:
        row = await scope.load_snapshot(s, ctx, snapshot_id, for_update=True)
        policy.enforce(ctx, "volume:update_snapshot", {"project_id": row.project_id})
        for key in ("name", "description"):
            if key in changes:
                setattr(row, key, changes[key])
        row.updated_at = m.now()
        await s.flush()
        return SnapshotRecord(row, await _metadata(s, row.id))

    return await svc.tx(_do)


async def delete_snapshot(
    svc: VolumeService, ctx: RequestContext, snapshot_id: str, *, force: bool = False
) -> None:
    """Move the snapshot to `deleting` (from any state when forced by an admin)."""
    action = (
        "volume_extension:snapshot_admin_actions:force_delete"
        if force
        else "volume:delete_snapshot"
    )

    async def _do(s: AsyncSession) -> m.Snapshot:
        row = await scope.load_snapshot(s, ctx, snapshot_id, for_update=True)
        policy.enforce(ctx, action, {"project_id": row.project_id})
        if not force and row.status not in states.SNAP_DELETABLE:
            raise faults.InvalidSnapshot(
                f"Snapshot {row.id} status must be available or error, "
                f"but current status is: {row.status}."
            )
        dependent = await s.scalar(
            select(m.Volume.id).where(
                m.Volume.snapshot_id == row.id, m.Volume.status == states.CREATING
            )
        )
        if dependent is not None:
            raise faults.InvalidSnapshot(
                f"Snapshot {row.id} is the source of volume {dependent}, "
                "which is still being created."
            )
        await transitions.compare_and_set(s, row, states.SNAP_DELETING)
        return row

    row = await svc.tx(_do)
    await svc.notify_snapshot(row.host, row.id)


async def reset_status(
    svc: VolumeService, ctx: RequestContext, snapshot_id: str, status: str
) -> None:
    """Set the status an admin names, and nothing else (os-reset_status)."""
    if status not in states.SNAP_RESETTABLE:
        raise faults.InvalidInput(f"Must specify a valid status: {status!r} is not one.")

    async def _do(s: AsyncSession) -> None:
        row = await scope.load_snapshot(s, ctx, snapshot_id, for_update=True)
        policy.enforce(ctx, "volume_extension:snapshot_admin_actions:reset_status")
        row.status = status
        row.updated_at = m.now()

    await svc.tx(_do)


async def update_status(
    svc: VolumeService, ctx: RequestContext, snapshot_id: str, status: str, progress: str | None
) -> None:
    """os-update_snapshot_status: an outside helper reports a creating or deleting snapshot."""

    async def _do(s: AsyncSession) -> None:
        row = await scope.load_snapshot(s, ctx, snapshot_id, for_update=True)
        policy.enforce(
            ctx,
            "snapshot_extension:snapshot_actions:update_snapshot_status",
            {"project_id": row.project_id},
        )
        allowed = states.SNAP_STATUS_UPDATES.get(row.status)
        if allowed is None:
            raise errors.BadRequest(
                f"Snapshot status {row.status} not allowed for update_snapshot_status"
            )
        if status not in allowed:
            raise errors.BadRequest(
                f"Provided snapshot status {status} not allowed for snapshot with status "
                f"{row.status}."
            )
        row.status = status
        if progress is not None:
            row.progress = progress
        row.updated_at = m.now()

    await svc.tx(_do)


async def get_metadata(svc: VolumeService, ctx: RequestContext, snapshot_id: str) -> dict[str, str]:
    """A snapshot's metadata."""
    async with svc.db.session() as s:
        row = await scope.load_snapshot(s, ctx, snapshot_id)
        policy.enforce(ctx, "volume:get_snapshot_metadata", {"project_id": row.project_id})
        return await _metadata(s, row.id)


async def get_metadata_item(
    svc: VolumeService, ctx: RequestContext, snapshot_id: str, key: str
) -> str:
    """One value of a snapshot's metadata; 404 when the key is not there."""
    found = await get_metadata(svc, ctx, snapshot_id)
    if key not in found:
        raise _no_key(snapshot_id, key)
    return found[key]


async def set_metadata(
    svc: VolumeService,
    ctx: RequestContext,
    snapshot_id: str,
    items: dict[str, str],
    *,
    replace: bool,
) -> dict[str, str]:
    """Merge (POST, one key PUT) or replace (PUT) a snapshot's metadata; all of it after."""

    async def _do(s: AsyncSession) -> dict[str, str]:
        row = await scope.load_snapshot(s, ctx, snapshot_id, for_update=True)
        policy.enforce(ctx, "volume:update_snapshot_metadata", {"project_id": row.project_id})
        current = {} if replace else await _metadata(s, row.id)
        current.update(items)
        await s.execute(delete(m.SnapshotMetadata).where(m.SnapshotMetadata.snapshot_id == row.id))
        await s.flush()
        for key, value in current.items():
            s.add(m.SnapshotMetadata(snapshot_id=row.id, key=key, value=value))
        row.updated_at = m.now()
        return current

    return await svc.tx(_do)


async def delete_metadata_item(
    svc: VolumeService, ctx: RequestContext, snapshot_id: str, key: str
) -> None:
    """Remove one key of a snapshot's metadata; 404 when it is not there."""

    async def _do(s: AsyncSession) -> None:
        row = await scope.load_snapshot(s, ctx, snapshot_id, for_update=True)
        policy.enforce(ctx, "volume:delete_snapshot_metadata", {"project_id": row.project_id})
        done = await s.execute(
            delete(m.SnapshotMetadata).where(
                m.SnapshotMetadata.snapshot_id == row.id, m.SnapshotMetadata.key == key
            )
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise _no_key(snapshot_id, key)

    await svc.tx(_do)


def _no_key(snapshot_id: str, key: str) -> errors.NotFound:
    """Cinder's SnapshotMetadataNotFound."""
    return errors.NotFound(f"Snapshot {snapshot_id} has no metadata with key {key}.")


async def revert(svc: VolumeService, ctx: RequestContext, volume_id: str, snapshot_id: str) -> None:
    """Volume `reverting` and its latest snapshot `restoring`; the agent copies the data back."""

    async def _do(s: AsyncSession) -> m.Volume:
        volume = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, "volume:revert_to_snapshot", {"project_id": volume.project_id})
        snap = await scope.load_snapshot(s, ctx, snapshot_id, for_update=True)
        if snap.volume_id != volume.id:
            raise faults.InvalidInput(
                f"Snapshot {snap.id} is not a snapshot of volume {volume.id}."
            )
        latest = await s.scalar(
            select(m.Snapshot.id)
            .where(m.Snapshot.volume_id == volume.id)
            .order_by(m.Snapshot.created_at.desc(), m.Snapshot.id.desc())
            .limit(1)
        )
        if latest != snap.id:
            raise faults.InvalidInput(
                f"Specified snapshot {snap.id} is not the latest one of volume {volume.id}."
            )
        if volume.status != states.AVAILABLE:
            raise faults.InvalidVolume(
                f"Volume {volume.id} status must be available, "
                f"but current status is: {volume.status}."
            )
        if snap.status != states.SNAP_AVAILABLE:
            raise faults.InvalidSnapshot(
                f"Snapshot {snap.id} status must be available, "
                f"but current status is: {snap.status}."
            )
        if volume.size != snap.size:
            raise faults.InvalidInput(
                f"Volume {volume.id} size ({volume.size}G) must match the size of "
                f"snapshot {snap.id} ({snap.size}G) to revert."
            )
        await transitions.compare_and_set(s, volume, states.REVERTING)
        snap.status = states.SNAP_RESTORING
        snap.updated_at = m.now()
        return volume

    volume = await svc.tx(_do)
    await svc.notify(volume.host, volume.id)
