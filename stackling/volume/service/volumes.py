"""Volumes: desired state recorded in one transaction, then the agent of its host is told."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.service import attachments as volume_attachments
from stackling.volume.service import images as volume_images
from stackling.volume.service import listing, policy, quota, scope, transitions, types
from stackling.volume.service.core import VolumeService

LISTING = listing.Listing(
    model=m.Volume,
    select=scope.select_volumes,
    sort_keys={
        **listing.common_sort_keys(m.Volume),
        "availability_zone": listing.column(m.Volume.availability_zone),
        "bootable": listing.column(m.Volume.bootable),
    },
    filters={
        "name": listing.equals(m.Volume.name),
        "status": listing.equals(m.Volume.status),
        "metadata": listing.metadata_filter(
            m.Volume.id, m.VolumeMetadata, m.VolumeMetadata.volume_id
        ),
        "bootable": listing.bool_filter(m.Volume.bootable),
        "availability_zone": listing.equals(m.Volume.availability_zone),
        "size": listing.int_filter(m.Volume.size),
    },
)


@dataclass(slots=True)
class VolumeCreate:
    """A checked POST /volumes body; size None means the source's size."""

    size: int | None
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    volume_type: str | None = None
    availability_zone: str | None = None
    multiattach: bool = False
    image_id: str | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    # The generic volume group the volume joins (3.13).
    group_id: str | None = None


@dataclass(slots=True)
class DataSource:
    """What a volume made from a snapshot or another volume takes from it."""

    size: int | None = None
    host: str | None = None
    type_id: str | None = None
    bootable: bool = False


async def _data_source(s: AsyncSession, ctx: RequestContext, req: VolumeCreate) -> DataSource:
    """The snapshot or volume a new volume copies (locked until the row is written)."""
    if req.snapshot_id is not None:
        snap = await scope.load_snapshot(s, ctx, req.snapshot_id, for_update=True)
        if snap.status != states.SNAP_AVAILABLE:
            raise faults.InvalidSnapshot(
                "Originating snapshot status must be 'available' to create a volume from it, "
                f"but current status is: {snap.status}."
            )
        parent = await s.get(m.Volume, snap.volume_id)
        found = DataSource(snap.size, snap.host)
        if parent is not None:
            found.type_id, found.bootable = parent.volume_type_id, parent.bootable
        if req.size is not None and req.size < snap.size:
            raise faults.InvalidInput(
                f"Volume size '{req.size}'GB cannot be smaller than the snapshot size "
                f"{snap.size}GB. They must be >= original snapshot size."
            )
        return found
    if req.source_volid is not None:
        source = await scope.load_volume(s, ctx, req.source_volid, for_update=True)
        if source.status not in states.SNAPSHOTTABLE:
            raise faults.InvalidVolume(
                f"Source volume {source.id} status must be available or in-use, "
                f"but current status is: {source.status}."
            )
        if req.size is not None and req.size < source.size:
            raise faults.InvalidInput(
                f"Volume size '{req.size}'GB cannot be smaller than original volume size "
                f"{source.size}GB. They must be >= original volume size."
            )
        return DataSource(source.size, source.host, source.volume_type_id, source.bootable)
    return DataSource()


@dataclass(slots=True)
class VolumeRecord:
    """A volume with what its views show beside the row: metadata and its type."""

    volume: m.Volume
    metadata: dict[str, str]
    type_name: str | None
    # The source image's facts (Cinder's volume_glance_metadata); empty for most volumes.
    image_metadata: dict[str, str] = field(default_factory=dict)
    # Its volume_attachment rows, oldest first; the view shows the attached ones.
    attachments: list[m.Attachment] = field(default_factory=list)


async def _records(s: AsyncSession, rows: Sequence[m.Volume]) -> list[VolumeRecord]:
    ids = [v.id for v in rows]
    meta: dict[str, dict[str, str]] = {vid: {} for vid in ids}
    if ids:
        for item in await s.scalars(
            select(m.VolumeMetadata).where(m.VolumeMetadata.volume_id.in_(ids))
        ):
            meta[item.volume_id][item.key] = item.value
    type_ids = {v.volume_type_id for v in rows if v.volume_type_id}
    names: dict[str, str] = {}
    if type_ids:
        found = await s.execute(
            select(m.VolumeType.id, m.VolumeType.name).where(m.VolumeType.id.in_(type_ids))
        )
        names = {tid: tname for tid, tname in found.all()}
    image_meta: dict[str, dict[str, str]] = {vid: {} for vid in ids}
    if ids:
        for item in await s.scalars(
            select(m.VolumeImageMetadata).where(m.VolumeImageMetadata.volume_id.in_(ids))
        ):
            image_meta[item.volume_id][item.key] = item.value
    attached = await volume_attachments.for_volumes(s, ids)
    return [
        VolumeRecord(
            v,
            meta[v.id],
            names.get(v.volume_type_id or ""),
            image_meta[v.id],
            attachments=attached[v.id],
        )
        for v in rows
    ]


async def _record(s: AsyncSession, row: m.Volume) -> VolumeRecord:
    return (await _records(s, [row]))[0]


async def create(svc: VolumeService, ctx: RequestContext, req: VolumeCreate) -> VolumeRecord:
    """Record the volume in `creating` within its project's quota, then have it built."""
    policy.enforce(ctx, "volume:create")
    zone = req.availability_zone or svc.conf.availability_zone
    if zone != svc.conf.availability_zone:
        raise errors.BadRequest(f"Availability zone '{zone}' is invalid.")
    project_id = str(ctx.project_id)
    image = None
    if req.image_id is not None:
        image = await volume_images.source_image(svc, ctx, req.image_id, req.size)

    async def _do(s: AsyncSession) -> VolumeRecord:
        source = await _data_source(s, ctx, req)
        size = req.size or source.size
        if size is None:
            raise errors.BadRequest("Invalid input received: 'size' is a required property.")
        if req.volume_type:
            vtype: m.VolumeType | None = await types.find(s, ctx, req.volume_type)
        elif source.type_id is not None:
            # As Cinder: a copy keeps its source's type unless told otherwise.
            vtype = await s.get(m.VolumeType, source.type_id)
        else:
            vtype = await types.default_type(s, svc)
        if req.group_id is not None:
            await _check_group(s, project_id, req.group_id, vtype)
        quota.check_size(await quota.limits(s, svc.conf, project_id), size)
        await quota.reserve(s, svc.conf, project_id, volumes=1, gigabytes=size)
        row = m.Volume(
            id=new_uuid(),
            project_id=project_id,
            user_id=ctx.user_id,
            name=req.name,
            description=req.description,
            size=size,
            status=states.CREATING,
            availability_zone=zone,
            multiattach=req.multiattach
            or await volume_attachments.type_allows_multiattach(s, vtype),
            volume_type_id=vtype.id if vtype is not None else None,
            # A copy is made by the backend holding its source.
            host=source.host or svc.host,
            image_id=image.id if image is not None else None,
            snapshot_id=req.snapshot_id,
            source_volid=req.source_volid,
            bootable=source.bootable,
            group_id=req.group_id,
        )
        s.add(row)
        for key, value in req.metadata.items():
            s.add(m.VolumeMetadata(volume_id=row.id, key=key, value=value))
        await s.flush()
        if image is not None:
            s.add_all(volume_images.metadata_rows(row.id, image))
            await s.flush()
        return VolumeRecord(
            row,
            dict(req.metadata),
            vtype.name if vtype else None,
            dict(image.metadata) if image is not None else {},
        )

    rec = await svc.tx(_do)
    await svc.notify(rec.volume.host, rec.volume.id)
    return rec


async def _check_group(
    s: AsyncSession, project_id: str, group_id: str, vtype: m.VolumeType | None
) -> None:
    """A volume joins only a group of its project that accepts its volume type."""
    group = await s.scalar(
        select(m.VolumeGroup).where(
            m.VolumeGroup.id == group_id, m.VolumeGroup.project_id == project_id
        )
    )
    if group is None:
        raise faults.group_not_found(group_id)
    if group.status not in (states.GROUP_AVAILABLE, states.GROUP_CREATING):
        raise faults.InvalidGroup(
            f"Group {group_id} status must be available, but current status is: {group.status}."
        )
    allowed = await s.scalar(
        select(m.VolumeGroupVolumeType.volume_type_id).where(
            m.VolumeGroupVolumeType.group_id == group_id,
            m.VolumeGroupVolumeType.volume_type_id == (vtype.id if vtype else None),
        )
    )
    if allowed is None:
        raise faults.InvalidInput(
            f"Invalid volume type {vtype.id if vtype else None} for group {group_id}."
        )


async def list_volumes(
    svc: VolumeService, ctx: RequestContext, q: listing.ListQuery
) -> tuple[list[VolumeRecord], int | None]:
    """The page of volumes the query asks for, and the total count when asked (3.45)."""
    async with svc.db.session() as s:
        rows, count = await listing.fetch(s, ctx, LISTING, q)
        return await _records(s, rows), count


async def show(svc: VolumeService, ctx: RequestContext, volume_id: str) -> VolumeRecord:
    """One volume."""
    async with svc.db.session() as s:
        row = await scope.load_volume(s, ctx, volume_id)
        policy.enforce(ctx, "volume:get", {"project_id": row.project_id})
        return await _record(s, row)


async def summary(svc: VolumeService, ctx: RequestContext, all_projects: bool) -> dict[str, Any]:
    """Count, total size and metadata values of the visible volumes (3.12, 3.36)."""
    query = scope.select_volumes(ctx, all_projects=all_projects)
    async with svc.db.session() as s:
        rows = (await s.scalars(query)).all()
        records = await _records(s, rows)
    meta: dict[str, list[str]] = {}
    for rec in records:
        for key, value in rec.metadata.items():
            if value not in meta.setdefault(key, []):
                meta[key].append(value)
    return {
        "total_size": sum(r.volume.size for r in records),
        "total_count": len(records),
        "metadata": meta,
    }


async def update(
    svc: VolumeService, ctx: RequestContext, volume_id: str, changes: dict[str, Any]
) -> VolumeRecord:
    """Rename, describe, or replace the metadata of a volume."""

    async def _do(s: AsyncSession) -> VolumeRecord:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, "volume:update", {"project_id": row.project_id})
        for key in ("name", "description"):
            if key in changes:
                setattr(row, key, changes[key])
        if "metadata" in changes:
            await s.execute(delete(m.VolumeMetadata).where(m.VolumeMetadata.volume_id == row.id))
            for key, value in changes["metadata"].items():
                s.add(m.VolumeMetadata(volume_id=row.id, key=key, value=value))
        row.updated_at = m.now()
        await s.flush()
        return await _record(s, row)

    return await svc.tx(_do)


async def _transition(
    svc: VolumeService,
    ctx: RequestContext,
    volume_id: str,
    action: str,
    allowed: tuple[str, ...] | None,
    target: str,
    refusal: str,
    **values: Any,
) -> m.Volume:
    """Compare-and-set a volume from one of `allowed` states (any when None) to `target`."""

    async def _do(s: AsyncSession) -> m.Volume:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, action, {"project_id": row.project_id})
        if allowed is not None and row.status not in allowed:
            raise faults.InvalidVolume(refusal.format(id=row.id, status=row.status))
        await transitions.compare_and_set(s, row, target, **values)
        return row

    row = await svc.tx(_do)
    await svc.notify(row.host, row.id)
    return row


# Cinder's refusal of a delete, whichever condition failed.
_UNDELETABLE = (
    "Volume status must be available or error or error_restoring or error_extending or "
    "error_managing and must not be migrating, attached, belong to a group, have "
    "snapshots, awaiting a transfer, or be disassociated from snapshots after volume "
    "transfer."
)


async def delete_volume(
    svc: VolumeService,
    ctx: RequestContext,
    volume_id: str,
    *,
    cascade: bool = False,
    force: bool = False,
) -> None:
    """Move the volume (and with `cascade` its snapshots) to `deleting` for the agent."""
    action = "volume_extension:volume_admin_actions:force_delete" if force else "volume:delete"

    async def _do(s: AsyncSession) -> m.Volume:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, action, {"project_id": row.project_id})
        if not force and row.status not in states.DELETABLE:
            raise faults.InvalidVolume(_UNDELETABLE)
        snaps = list(
            await s.scalars(
                select(m.Snapshot).where(m.Snapshot.volume_id == row.id).with_for_update()
            )
        )
        if snaps and not cascade:
            raise faults.InvalidVolume(_UNDELETABLE)
        for snap in snaps:
            if snap.status not in (*states.SNAP_DELETABLE, states.SNAP_DELETING):
                raise faults.InvalidVolume(
                    f"Snapshot {snap.id} of volume {row.id} is {snap.status}: a cascade "
                    "deletes only snapshots that are available or in error."
                )
        copying = await s.scalar(
            select(m.Volume.id).where(
                or_(
                    m.Volume.source_volid == row.id,
                    m.Volume.snapshot_id.in_([snap.id for snap in snaps]),
                ),
                m.Volume.status == states.CREATING,
            )
        )
        if copying is not None:
            raise faults.InvalidVolume(
                f"Volume {row.id} is the source of volume {copying}, which is still being created."
            )
        await transitions.compare_and_set(s, row, states.DELETING)
        for snap in snaps:
            snap.status = states.SNAP_DELETING
            snap.updated_at = m.now()
        return row

    row = await svc.tx(_do)
    # The agent deletes the snapshots before the volume (see VolumeAgent.reconcile).
    await svc.notify(row.host, row.id)


async def force_delete(svc: VolumeService, ctx: RequestContext, volume_id: str) -> None:
    """Delete whatever the volume's state (admin); snapshots still need a cascade."""
    await delete_volume(svc, ctx, volume_id, force=True)


async def extend(
    svc: VolumeService, ctx: RequestContext, volume_id: str, new_size: int, online: bool = False
) -> None:
    """Grow a volume (an in-use one when `online`): quota, then `extending` for the agent."""
    allowed = states.EXTENDABLE_ONLINE if online else states.EXTENDABLE

    async def _do(s: AsyncSession) -> m.Volume:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, "volume:extend", {"project_id": row.project_id})
        if row.status not in allowed:
            raise faults.InvalidVolume(
                f"Volume {row.id} status must be available or in-use to extend, "
                f"but current status is: {row.status}."
            )
        if new_size <= row.size:
            raise faults.InvalidInput(
                "New size for extend must be greater than current size. "
                f"(current: {row.size}, extended: {new_size})."
            )
        quota.check_size(await quota.limits(s, svc.conf, row.project_id), new_size)
        await quota.reserve(s, svc.conf, row.project_id, volumes=0, gigabytes=new_size - row.size)
        await transitions.compare_and_set(s, row, states.EXTENDING, extend_to=new_size)
        return row

    row = await svc.tx(_do)
    await svc.notify(row.host, row.id)


async def reset_status(
    svc: VolumeService, ctx: RequestContext, volume_id: str, status: str
) -> None:
    """Set the status an admin names, and nothing else (Cinder's os-reset_status)."""
    if status not in states.RESETTABLE:
        raise faults.InvalidInput(f"Must specify a valid status: {status!r} is not one.")

    async def _do(s: AsyncSession) -> None:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, "volume_extension:volume_admin_actions:reset_status")
        row.status = status
        row.extend_to = None
        row.updated_at = m.now()

    await svc.tx(_do)


async def set_bootable(
    svc: VolumeService, ctx: RequestContext, volume_id: str, bootable: bool
) -> None:
    """Mark the volume bootable or not."""

    async def _do(s: AsyncSession) -> None:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(
            ctx, "volume_extension:volume_actions:set_bootable", {"project_id": row.project_id}
        )
        row.bootable = bootable
        row.updated_at = m.now()

    await svc.tx(_do)
