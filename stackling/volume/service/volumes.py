"""Volumes: desired state recorded in one transaction, then the agent of its host is told."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.service import listing, policy, quota, scope, types
from stackling.volume.service.core import VolumeService


@dataclass(slots=True)
class VolumeCreate:
    """A checked POST /volumes body."""

    size: int
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    volume_type: str | None = None
    availability_zone: str | None = None
    multiattach: bool = False


@dataclass(slots=True)
class VolumeRecord:
    """A volume with what its views show beside the row: metadata and its type."""

    volume: m.Volume
    metadata: dict[str, str]
    type_name: str | None


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
    return [VolumeRecord(v, meta[v.id], names.get(v.volume_type_id or "")) for v in rows]


async def _record(s: AsyncSession, row: m.Volume) -> VolumeRecord:
    return (await _records(s, [row]))[0]


async def create(svc: VolumeService, ctx: RequestContext, req: VolumeCreate) -> VolumeRecord:
    """Record the volume in `creating` within its project's quota, then have it built."""
    policy.enforce(ctx, "volume:create")
    zone = req.availability_zone or svc.conf.availability_zone
    if zone != svc.conf.availability_zone:
        raise errors.BadRequest(f"Availability zone '{zone}' is invalid.")
    project_id = str(ctx.project_id)

    async def _do(s: AsyncSession) -> VolumeRecord:
        if req.volume_type:
            vtype: m.VolumeType | None = await types.find(s, ctx, req.volume_type)
        else:
            vtype = await types.default_type(s, svc)
        quota.check_size(await quota.limits(s, svc.conf, project_id), req.size)
        await quota.reserve(s, svc.conf, project_id, volumes=1, gigabytes=req.size)
        row = m.Volume(
            id=new_uuid(),
            project_id=project_id,
            user_id=ctx.user_id,
            name=req.name,
            description=req.description,
            size=req.size,
            status=states.CREATING,
            availability_zone=zone,
            multiattach=req.multiattach,
            volume_type_id=vtype.id if vtype is not None else None,
            host=svc.host,
        )
        s.add(row)
        for key, value in req.metadata.items():
            s.add(m.VolumeMetadata(volume_id=row.id, key=key, value=value))
        await s.flush()
        return VolumeRecord(row, dict(req.metadata), vtype.name if vtype else None)

    rec = await svc.tx(_do)
    await svc.notify(rec.volume.host, rec.volume.id)
    return rec


async def list_volumes(
    svc: VolumeService, ctx: RequestContext, q: listing.ListQuery
) -> tuple[list[VolumeRecord], int | None]:
    """The page of volumes the query asks for, and the total count when asked (3.45)."""
    query = scope.select_volumes(ctx, all_projects=q.all_projects).where(*q.filters)
    for key, value in q.metadata.items():
        query = query.where(
            m.Volume.id.in_(
                select(m.VolumeMetadata.volume_id).where(
                    m.VolumeMetadata.key == key, m.VolumeMetadata.value == value
                )
            )
        )
    async with svc.db.session() as s:
        count = None
        if q.with_count:
            count = await s.scalar(select(func.count()).select_from(query.subquery()))
        if q.marker is not None:
            marker = await s.scalar(
                scope.select_volumes(ctx, all_projects=True).where(m.Volume.id == q.marker)
            )
            if marker is None:
                raise errors.NotFound(f"Marker {q.marker} could not be found.")
            query = query.where(listing.after(q, marker))
        query = query.order_by(*listing.order_by(q)).offset(q.offset).limit(q.limit)
        rows = (await s.scalars(query)).all()
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
        query = sql_update(m.Volume).where(m.Volume.id == row.id, m.Volume.status == row.status)
        if allowed is not None and row.status not in allowed:
            raise faults.InvalidVolume(refusal.format(id=row.id, status=row.status))
        done = await s.execute(query.values(status=target, updated_at=m.now(), **values))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise errors.Conflict(f"Volume {volume_id} changed state during the request.")
        return row

    row = await svc.tx(_do)
    await svc.notify(row.host, row.id)
    return row


async def delete_volume(svc: VolumeService, ctx: RequestContext, volume_id: str) -> None:
    """Move the volume to `deleting`; the agent removes its data, then its row."""
    await _transition(
        svc,
        ctx,
        volume_id,
        "volume:delete",
        states.DELETABLE,
        states.DELETING,
        "Volume status must be available or error or error_restoring or error_extending or "
        "error_managing and must not be migrating, attached, belong to a group, have "
        "snapshots, awaiting a transfer, or be disassociated from snapshots after volume "
        "transfer.",
    )


async def force_delete(svc: VolumeService, ctx: RequestContext, volume_id: str) -> None:
    """Delete whatever the volume's state (admin)."""
    await _transition(
        svc,
        ctx,
        volume_id,
        "volume_extension:volume_admin_actions:force_delete",
        None,
        states.DELETING,
        "",
    )


async def extend(svc: VolumeService, ctx: RequestContext, volume_id: str, new_size: int) -> None:
    """Grow an available volume: quota for the difference, then `extending` for the agent."""

    async def _do(s: AsyncSession) -> m.Volume:
        row = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, "volume:extend", {"project_id": row.project_id})
        if row.status not in states.EXTENDABLE:
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
        done = await s.execute(
            sql_update(m.Volume)
            .where(m.Volume.id == row.id, m.Volume.status == row.status)
            .values(status=states.EXTENDING, extend_to=new_size, updated_at=m.now())
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise errors.Conflict(f"Volume {volume_id} changed state during the request.")
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
