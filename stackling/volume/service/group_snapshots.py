"""Group snapshots: one snapshot of each volume of a group, made by the snapshot service.

The group snapshot is recorded first (`creating`), then each member snapshot
goes through the snapshot service's own create path (quota, state checks,
the agent told); once all are recorded the group snapshot is `available`,
and the member snapshots reach `available` as the agent makes them. A delete
moves every member snapshot to `deleting` and removes the group snapshot's
row in the same transaction: the agent removes the members' data and rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.service import groups, policy, snapshots, transitions
from stackling.volume.service.core import VolumeService


@dataclass(slots=True)
class GroupSnapshotCreate:
    """A checked POST /group_snapshots body."""

    group_id: str
    name: str | None = None
    description: str | None = None


def visible(ctx: RequestContext, *, all_projects: bool = True) -> ColumnElement[bool]:
    """SQL condition: group snapshots the caller may see (for an admin, all or its project's)."""
    if ctx.is_admin and all_projects:
        return true()
    if ctx.project_id is None:
        return false()
    return m.VolumeGroupSnapshot.project_id == ctx.project_id


async def load(
    s: AsyncSession, ctx: RequestContext, group_snapshot_id: str, *, for_update: bool = False
) -> m.VolumeGroupSnapshot:
    """The group snapshot if the caller may see it; Cinder's GroupSnapshotNotFound otherwise."""
    query = select(m.VolumeGroupSnapshot).where(
        visible(ctx), m.VolumeGroupSnapshot.id == group_snapshot_id
    )
    if for_update:
        query = query.with_for_update()
    row = await s.scalar(query.execution_options(populate_existing=True))
    if row is None:
        raise faults.group_snapshot_not_found(group_snapshot_id)
    return row


async def create(
    svc: VolumeService, ctx: RequestContext, req: GroupSnapshotCreate
) -> m.VolumeGroupSnapshot:
    """Snapshot every volume of an available group, as one group snapshot."""

    async def _do(s: AsyncSession) -> tuple[m.VolumeGroupSnapshot, list[str]]:
        group = await groups.load(s, ctx, req.group_id, for_update=True)
        policy.enforce(ctx, "group:create_group_snapshot", {"project_id": group.project_id})
        if group.status != states.GROUP_AVAILABLE:
            raise faults.InvalidGroup(
                f"Group {group.id} status must be available, but current status is: {group.status}."
            )
        members = list(
            await s.scalars(
                select(m.Volume)
                .where(m.Volume.group_id == group.id)
                .order_by(m.Volume.created_at, m.Volume.id)
            )
        )
        # Checked before anything is recorded, so that a refusal leaves nothing behind.
        for volume in members:
            if volume.status not in states.SNAPSHOTTABLE:
                raise faults.InvalidGroup(
                    f"Volume {volume.id} of the group is {volume.status}: it must be "
                    "available or in-use to be snapshotted."
                )
        row = m.VolumeGroupSnapshot(
            id=new_uuid(),
            project_id=group.project_id,
            user_id=ctx.user_id,
            group_id=group.id,
            group_type_id=group.group_type_id,
            name=req.name,
            description=req.description,
            status=states.GROUP_SNAP_CREATING,
        )
        s.add(row)
        await s.flush()
        return row, [v.id for v in members]

    row, member_ids = await svc.tx(_do)
    try:
        for volume_id in member_ids:
            await snapshots.create(
                svc,
                ctx,
                snapshots.SnapshotCreate(
                    volume_id=volume_id,
                    name=row.name,
                    description=row.description,
                    allow_in_use=True,
                    group_snapshot_id=row.id,
                ),
            )
    except errors.StacklingError:
        await _finish(svc, row.id, states.GROUP_SNAP_ERROR)
        raise
    await _finish(svc, row.id, states.GROUP_SNAP_AVAILABLE)
    row.status = states.GROUP_SNAP_AVAILABLE
    return row


async def _finish(svc: VolumeService, group_snapshot_id: str, status: str) -> None:
    """Move a group snapshot out of `creating` (unless someone changed it meanwhile)."""

    async def _do(s: AsyncSession) -> None:
        row = await s.get(m.VolumeGroupSnapshot, group_snapshot_id)
        if row is not None and row.status == states.GROUP_SNAP_CREATING:
            await transitions.compare_and_set(s, row, status)

    await svc.tx(_do)


async def list_group_snapshots(
    svc: VolumeService, ctx: RequestContext, *, all_projects: bool
) -> Sequence[m.VolumeGroupSnapshot]:
    """The group snapshots the caller may list, newest first."""
    policy.enforce(ctx, "group:get_all_group_snapshots", {"project_id": ctx.project_id})
    query = (
        select(m.VolumeGroupSnapshot)
        .where(visible(ctx, all_projects=all_projects))
        .order_by(m.VolumeGroupSnapshot.created_at.desc(), m.VolumeGroupSnapshot.id.desc())
    )
    async with svc.db.session() as s:
        return (await s.scalars(query)).all()


async def show(
    svc: VolumeService, ctx: RequestContext, group_snapshot_id: str
) -> m.VolumeGroupSnapshot:
    """One group snapshot."""
    async with svc.db.session() as s:
        row = await load(s, ctx, group_snapshot_id)
        policy.enforce(ctx, "group:get_group_snapshot", {"project_id": row.project_id})
        return row


async def delete_group_snapshot(
    svc: VolumeService, ctx: RequestContext, group_snapshot_id: str
) -> None:
    """Member snapshots to `deleting` for the agent, and the group snapshot gone."""

    async def _do(s: AsyncSession) -> list[m.Snapshot]:
        row = await load(s, ctx, group_snapshot_id, for_update=True)
        policy.enforce(ctx, "group:delete_group_snapshot", {"project_id": row.project_id})
        if row.status not in states.GROUP_SNAP_DELETABLE:
            raise faults.InvalidGroupSnapshot(
                f"Group snapshot {row.id} status must be available or error, "
                f"but current status is: {row.status}."
            )
        members = list(
            await s.scalars(
                select(m.Snapshot)
                .where(m.Snapshot.group_snapshot_id == row.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        doomed = [snap for snap in members if snap.status != states.SNAP_DELETING]
        for snap in doomed:
            if snap.status not in states.SNAP_DELETABLE:
                raise faults.InvalidGroupSnapshot(
                    f"Snapshot {snap.id} of the group snapshot is {snap.status}: "
                    "it must be available or in error to be deleted."
                )
            copying = await s.scalar(
                select(m.Volume.id).where(
                    m.Volume.snapshot_id == snap.id, m.Volume.status == states.CREATING
                )
            )
            if copying is not None:
                raise faults.InvalidGroupSnapshot(
                    f"Snapshot {snap.id} is the source of volume {copying}, "
                    "which is still being created."
                )
        for snap in doomed:
            await transitions.compare_and_set(s, snap, states.SNAP_DELETING)
        await s.delete(row)
        return doomed

    doomed = await svc.tx(_do)
    for snap in doomed:
        await svc.notify_snapshot(snap.host, snap.id)


async def reset_status(
    svc: VolumeService, ctx: RequestContext, group_snapshot_id: str, status: str
) -> None:
    """Set the status an admin names, and nothing else (3.19)."""
    if status not in states.GROUP_SNAP_RESETTABLE:
        raise faults.InvalidInput(f"Must specify a valid status: {status!r} is not one.")

    async def _do(s: AsyncSession) -> None:
        row = await load(s, ctx, group_snapshot_id, for_update=True)
        policy.enforce(ctx, "group:reset_group_snapshot_status")
        row.status = status
        row.updated_at = m.now()

    await svc.tx(_do)
