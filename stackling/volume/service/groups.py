"""Generic volume groups: volumes of some volume types, handled together.

A group holds no data of its own, so it is `available` as soon as it is
recorded; its volumes carry `group_id`. Creating a group from a group
snapshot or another group goes through the volume service's own create path,
one volume per source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.service import group_types, policy, transitions, types, volumes
from stackling.volume.service.core import VolumeService


@dataclass(slots=True)
class GroupCreate:
    """A checked POST /groups body."""

    group_type: str
    volume_types: list[str]
    name: str | None = None
    description: str | None = None
    availability_zone: str | None = None


@dataclass(slots=True)
class GroupUpdate:
    """A checked PUT /groups/{id} body; volume lists are ids."""

    changes: dict[str, str | None] = field(default_factory=dict)
    add_volumes: list[str] = field(default_factory=list)
    remove_volumes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class GroupSource:
    """A checked create-from-src body: exactly one of the two sources."""

    group_snapshot_id: str | None = None
    source_group_id: str | None = None
    name: str | None = None
    description: str | None = None


@dataclass(slots=True)
class GroupRecord:
    """A group with the ids of its volume types and of its volumes."""

    group: m.VolumeGroup
    volume_type_ids: list[str]
    volume_ids: list[str]


def visible(ctx: RequestContext, *, all_projects: bool = True) -> ColumnElement[bool]:
    """SQL condition: groups the caller may see (for an admin, all or its project's)."""
    if ctx.is_admin and all_projects:
        return true()
    if ctx.project_id is None:
        return false()
    return m.VolumeGroup.project_id == ctx.project_id


async def load(
    s: AsyncSession, ctx: RequestContext, group_id: str, *, for_update: bool = False
) -> m.VolumeGroup:
    """The group if the caller may see it; Cinder's GroupNotFound otherwise."""
    query = select(m.VolumeGroup).where(visible(ctx), m.VolumeGroup.id == group_id)
    if for_update:
        query = query.with_for_update()
    row = await s.scalar(query.execution_options(populate_existing=True))
    if row is None:
        raise faults.group_not_found(group_id)
    return row


async def type_ids_of(s: AsyncSession, group_id: str) -> list[str]:
    """The volume types a group's volumes may have."""
    found = await s.scalars(
        select(m.VolumeGroupVolumeType.volume_type_id)
        .where(m.VolumeGroupVolumeType.group_id == group_id)
        .order_by(m.VolumeGroupVolumeType.volume_type_id)
    )
    return list(found)


async def _records(s: AsyncSession, rows: Sequence[m.VolumeGroup]) -> list[GroupRecord]:
    ids = [row.id for row in rows]
    vtypes: dict[str, list[str]] = {gid: [] for gid in ids}
    members: dict[str, list[str]] = {gid: [] for gid in ids}
    if ids:
        for gid, tid in await s.execute(
            select(m.VolumeGroupVolumeType.group_id, m.VolumeGroupVolumeType.volume_type_id)
            .where(m.VolumeGroupVolumeType.group_id.in_(ids))
            .order_by(m.VolumeGroupVolumeType.volume_type_id)
        ):
            vtypes[gid].append(tid)
        for gid, vid in await s.execute(
            select(m.Volume.group_id, m.Volume.id)
            .where(m.Volume.group_id.in_(ids))
            .order_by(m.Volume.created_at, m.Volume.id)
        ):
            members[gid].append(vid)
    return [GroupRecord(row, vtypes[row.id], members[row.id]) for row in rows]


async def _record(
    s: AsyncSession,
    svc: VolumeService,
    ctx: RequestContext,
    *,
    group_type_id: str,
    volume_type_ids: list[str],
    name: str | None,
    description: str | None,
    status: str,
    group_snapshot_id: str | None = None,
    source_group_id: str | None = None,
) -> m.VolumeGroup:
    """Add a group row and its volume types to the transaction."""
    row = m.VolumeGroup(
        id=new_uuid(),
        project_id=str(ctx.project_id),
        user_id=ctx.user_id,
        name=name,
        description=description,
        status=status,
        availability_zone=svc.conf.availability_zone,
        group_type_id=group_type_id,
        group_snapshot_id=group_snapshot_id,
        source_group_id=source_group_id,
    )
    s.add(row)
    await s.flush()
    for type_id in dict.fromkeys(volume_type_ids):
        s.add(m.VolumeGroupVolumeType(group_id=row.id, volume_type_id=type_id))
    await s.flush()
    return row


async def create(svc: VolumeService, ctx: RequestContext, req: GroupCreate) -> GroupRecord:
    """Record a group of the given group type and volume types (available at once)."""
    policy.enforce(ctx, "group:create")
    zone = req.availability_zone or svc.conf.availability_zone
    if zone != svc.conf.availability_zone:
        raise errors.BadRequest(f"Availability zone '{zone}' is invalid.")

    async def _do(s: AsyncSession) -> GroupRecord:
        gtype = await group_types.find(s, ctx, req.group_type)
        type_ids = [(await types.find(s, ctx, name)).id for name in req.volume_types]
        # Nothing to build: the group is usable as soon as it is recorded.
        row = await _record(
            s,
            svc,
            ctx,
            group_type_id=gtype.id,
            volume_type_ids=type_ids,
            name=req.name,
            description=req.description,
            status=states.GROUP_AVAILABLE,
        )
        return GroupRecord(row, sorted(set(type_ids)), [])

    return await svc.tx(_do)


async def list_groups(
    svc: VolumeService, ctx: RequestContext, *, all_projects: bool
) -> list[GroupRecord]:
    """The groups the caller may list, newest first (all projects for an admin who asks)."""
    policy.enforce(ctx, "group:get_all", {"project_id": ctx.project_id})
    query = (
        select(m.VolumeGroup)
        .where(visible(ctx, all_projects=all_projects))
        .order_by(m.VolumeGroup.created_at.desc(), m.VolumeGroup.id.desc())
    )
    async with svc.db.session() as s:
        return await _records(s, (await s.scalars(query)).all())


async def show(svc: VolumeService, ctx: RequestContext, group_id: str) -> GroupRecord:
    """One group."""
    async with svc.db.session() as s:
        row = await load(s, ctx, group_id)
        policy.enforce(ctx, "group:get", {"project_id": row.project_id})
        return (await _records(s, [row]))[0]


async def update(svc: VolumeService, ctx: RequestContext, group_id: str, req: GroupUpdate) -> None:
    """Rename or describe a group, and move volumes into or out of it."""

    async def _do(s: AsyncSession) -> None:
        row = await load(s, ctx, group_id, for_update=True)
        policy.enforce(ctx, "group:update", {"project_id": row.project_id})
        if (req.add_volumes or req.remove_volumes) and row.status != states.GROUP_AVAILABLE:
            raise faults.InvalidGroup(
                f"Group {row.id} status must be available, but current status is: {row.status}."
            )
        allowed_types = set(await type_ids_of(s, row.id))
        for volume_id in req.add_volumes:
            volume = await _member_volume(s, row, volume_id)
            if volume.group_id is not None and volume.group_id != row.id:
                raise faults.InvalidVolume(f"Volume {volume.id} is already in a group.")
            if volume.status not in states.GROUP_ADDABLE:
                raise faults.InvalidVolume(
                    f"Cannot add volume {volume.id} to group {row.id} because volume is in "
                    f"an invalid state: {volume.status}. Valid states are: "
                    f"{', '.join(states.GROUP_ADDABLE)}."
                )
            if volume.volume_type_id not in allowed_types:
                raise faults.InvalidVolume(
                    f"Cannot add volume {volume.id} to group {row.id} because volume type "
                    f"{volume.volume_type_id} is not supported by the group."
                )
            volume.group_id = row.id
            volume.updated_at = m.now()
        for volume_id in req.remove_volumes:
            volume = await _member_volume(s, row, volume_id)
            if volume.group_id != row.id:
                raise faults.InvalidVolume(
                    f"Cannot remove volume {volume.id} from group {row.id} because it "
                    "is not in the group."
                )
            if volume.status not in states.GROUP_REMOVABLE:
                raise faults.InvalidVolume(
                    f"Cannot remove volume {volume.id} from group {row.id} because volume "
                    f"is in an invalid state: {volume.status}. Valid states are: "
                    f"{', '.join(states.GROUP_REMOVABLE)}."
                )
            volume.group_id = None
            volume.updated_at = m.now()
        for key, value in req.changes.items():
            setattr(row, key, value)
        row.updated_at = m.now()

    await svc.tx(_do)


async def _member_volume(s: AsyncSession, group: m.VolumeGroup, volume_id: str) -> m.Volume:
    """A volume of the group's project, locked; Cinder's VolumeNotFound otherwise."""
    volume = await s.scalar(
        select(m.Volume)
        .where(m.Volume.id == volume_id, m.Volume.project_id == group.project_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if volume is None:
        raise faults.volume_not_found(volume_id)
    return volume


async def delete_group(
    svc: VolumeService, ctx: RequestContext, group_id: str, *, delete_volumes: bool
) -> None:
    """Remove a group; with `delete_volumes` its volumes go to `deleting` in the same step."""

    async def _do(s: AsyncSession) -> list[m.Volume]:
        row = await load(s, ctx, group_id, for_update=True)
        policy.enforce(ctx, "group:delete", {"project_id": row.project_id})
        if row.status not in states.GROUP_DELETABLE:
            raise faults.InvalidGroup(
                f"Group status must be available or error, but current status is: {row.status}"
            )
        snapshot = await s.scalar(
            select(m.VolumeGroupSnapshot.id).where(m.VolumeGroupSnapshot.group_id == row.id)
        )
        if snapshot is not None:
            raise faults.InvalidGroup(f"Group {row.id} still has group snapshot {snapshot}.")
        members = list(
            await s.scalars(
                select(m.Volume)
                .where(m.Volume.group_id == row.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        if members and not delete_volumes:
            raise faults.InvalidGroup(
                "Volume(s) are still in the group; delete them with delete-volumes "
                "or remove them from the group first."
            )
        doomed = [v for v in members if v.status != states.DELETING]
        for volume in doomed:
            await _check_deletable(s, volume)
        for volume in doomed:
            await transitions.compare_and_set(s, volume, states.DELETING)
        await s.execute(
            delete(m.VolumeGroupVolumeType).where(m.VolumeGroupVolumeType.group_id == row.id)
        )
        await s.delete(row)
        return doomed

    doomed = await svc.tx(_do)
    for volume in doomed:
        await svc.notify(volume.host, volume.id)


async def _check_deletable(s: AsyncSession, volume: m.Volume) -> None:
    """Refuse a group delete whose volume could not be deleted on its own."""
    if volume.status not in states.DELETABLE:
        raise faults.InvalidVolume(
            f"Volume {volume.id} of the group is {volume.status}: it must be available "
            "or in error to be deleted with the group."
        )
    attached = await s.scalar(
        select(m.Attachment.id).where(
            m.Attachment.volume_id == volume.id,
            m.Attachment.attach_status != states.ATTACH_DETACHED,
        )
    )
    snapshot = await s.scalar(
        select(m.Snapshot.id).where(
            m.Snapshot.volume_id == volume.id, m.Snapshot.status != states.SNAP_DELETING
        )
    )
    if attached is not None or snapshot is not None:
        raise faults.InvalidVolume(
            f"Volume {volume.id} of the group is attached or has snapshots: "
            "it cannot be deleted with the group."
        )


async def reset_status(svc: VolumeService, ctx: RequestContext, group_id: str, status: str) -> None:
    """Set the status an admin names, and nothing else (3.20)."""
    if status not in states.GROUP_RESETTABLE:
        raise faults.InvalidInput(f"Must specify a valid status: {status!r} is not one.")

    async def _do(s: AsyncSession) -> None:
        row = await load(s, ctx, group_id, for_update=True)
        policy.enforce(ctx, "group:reset_status")
        row.status = status
        row.updated_at = m.now()

    await svc.tx(_do)


@dataclass(slots=True)
class _Plan:
    """What create-from-src makes: the group's shape and one source per new volume."""

    group_type_id: str
    volume_type_ids: list[str]
    # (source volume, or None, and snapshot, or None) per volume to make.
    sources: list[tuple[m.Volume | None, m.Snapshot | None]]


async def _plan(s: AsyncSession, ctx: RequestContext, req: GroupSource) -> _Plan:
    """Check the source and list what to copy."""
    if req.source_group_id is not None:
        source = await load(s, ctx, req.source_group_id)
        if source.status != states.GROUP_AVAILABLE:
            raise faults.InvalidGroup(
                f"Source group {source.id} status must be available, "
                f"but current status is: {source.status}."
            )
        vols = await s.scalars(
            select(m.Volume)
            .where(m.Volume.group_id == source.id)
            .order_by(m.Volume.created_at, m.Volume.id)
        )
        return _Plan(
            source.group_type_id, await type_ids_of(s, source.id), [(v, None) for v in vols]
        )
    gsnap = await _load_group_snapshot(s, ctx, str(req.group_snapshot_id))
    if gsnap.status != states.GROUP_SNAP_AVAILABLE:
        raise faults.InvalidGroupSnapshot(
            f"Group snapshot {gsnap.id} status must be available, "
            f"but current status is: {gsnap.status}."
        )
    snaps = list(
        await s.scalars(
            select(m.Snapshot)
            .where(m.Snapshot.group_snapshot_id == gsnap.id)
            .order_by(m.Snapshot.created_at, m.Snapshot.id)
        )
    )
    type_ids = await type_ids_of(s, gsnap.group_id)
    if not type_ids:
        # The source group is gone: the types its snapshots' volumes had will do.
        parents = await s.scalars(
            select(m.Volume.volume_type_id).where(m.Volume.id.in_([x.volume_id for x in snaps]))
        )
        type_ids = sorted({tid for tid in parents if tid is not None})
    return _Plan(gsnap.group_type_id, type_ids, [(None, snap) for snap in snaps])


async def _load_group_snapshot(
    s: AsyncSession, ctx: RequestContext, group_snapshot_id: str
) -> m.VolumeGroupSnapshot:
    query = select(m.VolumeGroupSnapshot).where(m.VolumeGroupSnapshot.id == group_snapshot_id)
    if not ctx.is_admin:
        query = query.where(m.VolumeGroupSnapshot.project_id == ctx.project_id)
    row = await s.scalar(query)
    if row is None:
        raise faults.group_snapshot_not_found(group_snapshot_id)
    return row


async def create_from_source(
    svc: VolumeService, ctx: RequestContext, req: GroupSource
) -> GroupRecord:
    """A new group copying each volume of a group, or each snapshot of a group snapshot."""
    policy.enforce(ctx, "group:create")

    async def _do(s: AsyncSession) -> tuple[m.VolumeGroup, _Plan]:
        plan = await _plan(s, ctx, req)
        row = await _record(
            s,
            svc,
            ctx,
            group_type_id=plan.group_type_id,
            volume_type_ids=plan.volume_type_ids,
            name=req.name,
            description=req.description,
            status=states.GROUP_CREATING,
            group_snapshot_id=req.group_snapshot_id,
            source_group_id=req.source_group_id,
        )
        return row, plan

    row, plan = await svc.tx(_do)
    made: list[str] = []
    try:
        # Each copy goes through the volume service's own create path (quota, type, host).
        for volume, snap in plan.sources:
            rec = await volumes.create(
                svc,
                ctx,
                volumes.VolumeCreate(
                    size=None,
                    name=(volume.name if volume else snap.name if snap else None),
                    source_volid=volume.id if volume else None,
                    snapshot_id=snap.id if snap else None,
                    group_id=row.id,
                ),
            )
            made.append(rec.volume.id)
    except errors.StacklingError:
        await _finish(svc, row.id, states.GROUP_ERROR)
        raise
    await _finish(svc, row.id, states.GROUP_AVAILABLE)
    return GroupRecord(row, sorted(set(plan.volume_type_ids)), made)


async def _finish(svc: VolumeService, group_id: str, status: str) -> None:
    """Move a group out of `creating` (unless someone changed it meanwhile)."""

    async def _do(s: AsyncSession) -> None:
        row = await s.get(m.VolumeGroup, group_id)
        if row is not None and row.status == states.GROUP_CREATING:
            await transitions.compare_and_set(s, row, status)

    await svc.tx(_do)
