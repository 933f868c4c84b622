"""Backups: desired state in one transaction, then the backup agent of the volume's host is told."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.object.internal import internal_objects
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.backup.base import BackupTarget
from stackling.volume.backup.registry import make_target
from stackling.volume.service import listing, policy, quota, scope, transitions, volumes
from stackling.volume.service.backup_scope import load_backup, select_backups
from stackling.volume.service.core import VolumeService

TOPIC_PREFIX = "volume-backup."
# Swift's and Cinder's default container name.
DEFAULT_CONTAINER = "volumebackups"
# A restore into a new volume waits this long (polls x interval) for it to be built.
RESTORE_WAIT_POLLS = 1200
RESTORE_WAIT_POLL_S = 0.05


def target_root(svc: VolumeService) -> Path:
    """Where this host's backup target keeps its data."""
    return svc.conf.backup_dir or svc.settings.data_dir / "backups"


def backup_target(svc: VolumeService) -> BackupTarget:
    """This host's backup target, as volume.backup_driver chooses it."""
    driver = svc.conf.backup_driver
    if driver == "object" and "object" not in svc.settings.services:
        raise ValueError(
            "volume.backup_driver is 'object' but the object service is not enabled"
            " (add 'object' to services)"
        )
    # The object service is looked up when data moves: it starts after this target is built.
    return make_target(target_root(svc), driver, lambda: internal_objects(svc.runtime))


def backup_topic(host: str) -> str:
    """The bus topic of the backup agent of `host`."""
    return TOPIC_PREFIX + host


async def notify(svc: VolumeService, host: str, backup_id: str) -> None:
    """Ask the backup agent of `host` to reconcile a backup (the message names it only)."""
    await svc.runtime.bus.cast(backup_topic(host), {"kind": "backup", "id": backup_id})


LISTING = listing.Listing(
    model=m.Backup,
    select=select_backups,
    sort_keys={
        **listing.common_sort_keys(m.Backup),
        "volume_id": listing.column(m.Backup.volume_id),
        "container": listing.blank_if_null(m.Backup.container),
        "data_timestamp": listing.column(m.Backup.data_timestamp),
    },
    filters={
        "name": listing.equals(m.Backup.name),
        "display_name": listing.equals(m.Backup.name),
        "status": listing.equals(m.Backup.status),
        "volume_id": listing.equals(m.Backup.volume_id),
    },
)


@dataclass(slots=True)
class BackupCreate:
    """A checked POST /backups body."""

    volume_id: str
    container: str | None = None
    name: str | None = None
    description: str | None = None
    incremental: bool = False
    force: bool = False
    snapshot_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class BackupRecord:
    """A backup with its metadata and whether incremental backups build on it."""

    backup: m.Backup
    metadata: dict[str, str]
    has_dependents: bool


@dataclass(slots=True)
class RestoreResult:
    """Where a restore writes: Cinder's {"restore": {backup_id, volume_id, volume_name}}."""

    backup_id: str
    volume_id: str
    volume_name: str | None


async def _records(s: AsyncSession, rows: Sequence[m.Backup]) -> list[BackupRecord]:
    ids = [row.id for row in rows]
    meta: dict[str, dict[str, str]] = {bid: {} for bid in ids}
    parents: set[str] = set()
    if ids:
        for item in await s.scalars(
            select(m.BackupMetadata).where(m.BackupMetadata.backup_id.in_(ids))
        ):
            meta[item.backup_id][item.key] = item.value
        parents = set(
            await s.scalars(select(m.Backup.parent_id).where(m.Backup.parent_id.in_(ids)))
        )
    return [BackupRecord(row, meta[row.id], row.id in parents) for row in rows]


async def _record(s: AsyncSession, row: m.Backup) -> BackupRecord:
    return (await _records(s, [row]))[0]


async def _check_quota(s: AsyncSession, svc: VolumeService, project_id: str, size: int) -> None:
    """QuotaError unless the project has room for one more backup of `size` GiB."""
    await quota.lock_project(s, project_id)
    found = await quota.limits(s, svc.conf, project_id)
    used = await quota.usage(s, project_id)
    allowed = found["backups"]
    if allowed != quota.UNLIMITED and used["backups"] + 1 > allowed:
        raise faults.QuotaError(
            f"Maximum number of backups allowed ({allowed}) exceeded for quota 'backups'."
        )
    allowed = found["backup_gigabytes"]
    if allowed != quota.UNLIMITED and used["backup_gigabytes"] + size > allowed:
        raise faults.QuotaError(
            "Requested backup exceeds allowed Backup gigabytes quota. "
            f"Requested {size}G, quota is {allowed}G and "
            f"{used['backup_gigabytes']}G has been consumed."
        )


async def _latest_parent(s: AsyncSession, volume_id: str) -> m.Backup | None:
    """The newest available backup of the volume: what an incremental one builds on."""
    return await s.scalar(
        select(m.Backup)
        .where(m.Backup.volume_id == volume_id, m.Backup.status == states.BACKUP_AVAILABLE)
        .order_by(m.Backup.data_timestamp.desc(), m.Backup.created_at.desc(), m.Backup.id.desc())
        .limit(1)
    )


async def create(svc: VolumeService, ctx: RequestContext, req: BackupCreate) -> BackupRecord:
    """Record a `creating` backup; the volume (or snapshot) is `backing-up` until it is done."""

    async def _do(s: AsyncSession) -> BackupRecord:
        volume = await scope.load_volume(s, ctx, req.volume_id, for_update=True)
        policy.enforce(ctx, "backup:create", {"project_id": volume.project_id})
        snapshot = None
        if req.snapshot_id is not None:
            snapshot = await scope.load_snapshot(s, ctx, req.snapshot_id, for_update=True)
            if snapshot.volume_id != volume.id:
                raise faults.InvalidInput(
                    f"Snapshot {snapshot.id} is not a snapshot of volume {volume.id}."
                )
            if snapshot.status != states.SNAP_AVAILABLE:
                raise faults.InvalidSnapshot(
                    f"Snapshot {snapshot.id} status must be available, "
                    f"but current status is: {snapshot.status}."
                )
        else:
            allowed = states.BACKUPABLE if req.force else (states.AVAILABLE,)
            if volume.status not in allowed:
                wanted = "available or in-use" if req.force else "available"
                raise faults.InvalidVolume(
                    f"Volume {volume.id} status must be {wanted}, "
                    f"but current status is: {volume.status}."
                )
        parent = None
        if req.incremental:
            parent = await _latest_parent(s, volume.id)
            if parent is None:
                raise faults.InvalidBackup("No backups available to do an incremental backup.")
        await _check_quota(s, svc, volume.project_id, volume.size)
        if snapshot is not None:
            snapshot.status = states.BACKING_UP
            snapshot.updated_at = m.now()
        else:
            await transitions.compare_and_set(
                s, volume, states.BACKING_UP, previous_status=volume.status
            )
        now = m.now()
        row = m.Backup(
            id=new_uuid(),
            project_id=volume.project_id,
            user_id=ctx.user_id,
            volume_id=volume.id,
            snapshot_id=req.snapshot_id,
            parent_id=parent.id if parent is not None else None,
            name=req.name,
            description=req.description,
            size=volume.size,
            status=states.BACKUP_CREATING,
            is_incremental=parent is not None,
            container=req.container or (parent.container if parent else DEFAULT_CONTAINER),
            object_count=0,
            availability_zone=volume.availability_zone,
            host=volume.host,
            # A snapshot's data is as old as the snapshot (Cinder's data_timestamp).
            data_timestamp=snapshot.created_at if snapshot is not None else now,
            created_at=now,
        )
        s.add(row)
        for key, value in req.metadata.items():
            s.add(m.BackupMetadata(backup_id=row.id, key=key, value=value))
        await s.flush()
        return BackupRecord(row, dict(req.metadata), False)

    rec = await svc.tx(_do)
    await notify(svc, rec.backup.host, rec.backup.id)
    return rec


async def list_backups(
    svc: VolumeService, ctx: RequestContext, q: listing.ListQuery
) -> tuple[list[BackupRecord], int | None]:
    """The page of backups the query asks for, and the total count when asked (3.45)."""
    policy.enforce(ctx, "backup:get_all", {"project_id": ctx.project_id})
    async with svc.db.session() as s:
        rows, count = await listing.fetch(s, ctx, LISTING, q)
        return await _records(s, rows), count


async def show(svc: VolumeService, ctx: RequestContext, backup_id: str) -> BackupRecord:
    """One backup."""
    async with svc.db.session() as s:
        row = await load_backup(s, ctx, backup_id)
        policy.enforce(ctx, "backup:get", {"project_id": row.project_id})
        return await _record(s, row)


async def update(
    svc: VolumeService, ctx: RequestContext, backup_id: str, changes: dict[str, Any]
) -> BackupRecord:
    """Rename or describe a backup, or replace its metadata (3.43)."""

    async def _do(s: AsyncSession) -> BackupRecord:
        row = await load_backup(s, ctx, backup_id, for_update=True)
        policy.enforce(ctx, "backup:update", {"project_id": row.project_id})
        for key in ("name", "description"):
            if key in changes:
                setattr(row, key, changes[key])
        if "metadata" in changes:
            await s.execute(delete(m.BackupMetadata).where(m.BackupMetadata.backup_id == row.id))
            await s.flush()
            for key, value in changes["metadata"].items():
                s.add(m.BackupMetadata(backup_id=row.id, key=key, value=value))
        row.updated_at = m.now()
        await s.flush()
        return await _record(s, row)

    return await svc.tx(_do)


async def delete_backup(
    svc: VolumeService, ctx: RequestContext, backup_id: str, *, force: bool = False
) -> None:
    """Move the backup to `deleting` (from any state when an admin forces it)."""
    action = "backup:backup-admin-actions:force_delete" if force else "backup:delete"

    async def _do(s: AsyncSession) -> m.Backup:
        row = await load_backup(s, ctx, backup_id, for_update=True)
        policy.enforce(ctx, action, {"project_id": row.project_id})
        if not force and row.status not in states.BACKUP_DELETABLE:
            raise faults.InvalidBackup(
                f"Backup status must be available or error, but current status is: {row.status}."
            )
        if row.status == states.BACKUP_DELETING:
            return row
        dependent = await s.scalar(select(m.Backup.id).where(m.Backup.parent_id == row.id))
        if dependent is not None:
            raise faults.InvalidBackup("Incremental backups exist for this backup.")
        await _release_sources(s, row)
        await transitions.compare_and_set(s, row, states.BACKUP_DELETING)
        return row

    row = await svc.tx(_do)
    await notify(svc, row.host, row.id)


async def _release_sources(s: AsyncSession, row: m.Backup) -> None:
    """A forced delete mid-way gives the volume (or snapshot) and restore target back."""
    if row.status == states.BACKUP_CREATING:
        await release_source(s, row)
    elif row.status == states.BACKUP_RESTORING and row.restore_volume_id:
        await s.execute(
            sql_update(m.Volume)
            .where(
                m.Volume.id == row.restore_volume_id,
                m.Volume.status == states.RESTORING_BACKUP,
            )
            .values(status=states.ERROR_RESTORING, updated_at=m.now())
        )


async def release_source(s: AsyncSession, row: m.Backup) -> None:
    """The backed-up volume back to its previous status, or the snapshot to available."""
    if row.snapshot_id is not None:
        await s.execute(
            sql_update(m.Snapshot)
            .where(m.Snapshot.id == row.snapshot_id, m.Snapshot.status == states.BACKING_UP)
            .values(status=states.SNAP_AVAILABLE, updated_at=m.now())
        )
        return
    volume = await s.get(m.Volume, row.volume_id, populate_existing=True)
    if volume is not None and volume.status == states.BACKING_UP:
        volume.status = volume.previous_status or states.AVAILABLE
        volume.previous_status = None
        volume.updated_at = m.now()


async def reset_status(
    svc: VolumeService, ctx: RequestContext, backup_id: str, status: str
) -> None:
    """Set the status an admin names (available or error), and nothing else."""
    if status not in states.BACKUP_RESETTABLE:
        raise faults.InvalidInput(f"Must specify a valid status: {status!r} is not one.")

    async def _do(s: AsyncSession) -> None:
        row = await load_backup(s, ctx, backup_id, for_update=True)
        policy.enforce(ctx, "backup:backup-admin-actions:reset_status")
        row.status = status
        row.updated_at = m.now()

    await svc.tx(_do)


async def _wait_built(svc: VolumeService, volume_id: str) -> None:
    """Wait (bounded) until the volume agent has built a new volume."""
    for _ in range(RESTORE_WAIT_POLLS):
        async with svc.db.session() as s:
            status = await s.scalar(select(m.Volume.status).where(m.Volume.id == volume_id))
        if status != states.CREATING:
            return
        await asyncio.sleep(RESTORE_WAIT_POLL_S)
    raise faults.InvalidVolume(f"Volume {volume_id} for the restore was not created in time.")


def _check_restorable(row: m.Backup) -> None:
    if row.status != states.BACKUP_AVAILABLE:
        raise faults.InvalidBackup(
            f"Backup status must be available, but current status is: {row.status}."
        )


async def restore(
    svc: VolumeService,
    ctx: RequestContext,
    backup_id: str,
    volume_id: str | None,
    name: str | None,
) -> RestoreResult:
    """Backup `restoring` into a volume `restoring-backup` (a new one when none is named)."""
    async with svc.db.session() as s:
        row = await load_backup(s, ctx, backup_id)
        policy.enforce(ctx, "backup:restore", {"project_id": row.project_id})
        _check_restorable(row)
    if volume_id is None:
        # As Cinder: a new volume, built empty by the volume agent; once it is available
        # it is claimed below like a named one, so nobody sees it available in between.
        created = await volumes.create(
            svc,
            ctx,
            volumes.VolumeCreate(
                size=row.size,
                name=name or f"restore_backup_{row.id}",
                description=f"auto-created volume for restore of backup {row.id}",
            ),
        )
        volume_id = created.volume.id
        await _wait_built(svc, volume_id)
    target = volume_id

    async def _do(s: AsyncSession) -> RestoreResult:
        backup = await load_backup(s, ctx, backup_id, for_update=True)
        _check_restorable(backup)
        volume = await scope.load_volume(s, ctx, target, for_update=True)
        if volume.status != states.AVAILABLE:
            raise faults.InvalidVolume(
                "Volume to be restored to must be available, "
                f"but current status is: {volume.status}."
            )
        if volume.size < backup.size:
            raise faults.InvalidVolume(
                f"volume size {volume.size}G is smaller than the backup's size {backup.size}G."
            )
        await transitions.compare_and_set(s, volume, states.RESTORING_BACKUP)
        backup.status = states.BACKUP_RESTORING
        backup.restore_volume_id = volume.id
        backup.fail_reason = None
        backup.updated_at = m.now()
        return RestoreResult(backup.id, volume.id, volume.name)

    result = await svc.tx(_do)
    await notify(svc, row.host, row.id)
    return result
