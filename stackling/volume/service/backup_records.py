"""Cinder's backup export and import: a backup row as a portable record, and back.

The record (`backup_url`) is base64 of JSON: the row's fields, its metadata, and
where its manifest lies in the backup target. Importing it recreates the row,
available when that manifest can be read. A record imported under another id
(Tempest fakes one) gets a manifest of its own that reads every chunk from the
exported backup, which is then kept as its parent so the shared data outlives
neither of them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.backup import chunks
from stackling.volume.backup.base import BackupTargetError
from stackling.volume.backup.filesystem import safe_name
from stackling.volume.service import policy
from stackling.volume.service.backup_scope import load_backup
from stackling.volume.service.backups import BackupRecord, backup_target
from stackling.volume.service.core import VolumeService

FORMAT = "stackling-backup-record-1"
MAX_INT = 2**31 - 1
# Cinder's driver names, which clients check the backup_service against.
DRIVERS = {
    "filesystem": "cinder.backup.drivers.posix.PosixBackupDriver",
    "object": "cinder.backup.drivers.swift.SwiftBackupDriver",
}


@dataclass(slots=True)
class ExportedRecord:
    """Cinder's {"backup-record": {backup_service, backup_url}}."""

    backup_service: str
    backup_url: str


def _service_name(svc: VolumeService) -> str:
    name = backup_target(svc).name
    return DRIVERS.get(name, f"cinder.backup.drivers.{name}")


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def export_record(svc: VolumeService, ctx: RequestContext, backup_id: str) -> ExportedRecord:
    """An available backup's record (admin)."""
    async with svc.db.session() as s:
        row = await load_backup(s, ctx, backup_id)
        policy.enforce(ctx, "backup:export-import")
        if row.status != states.BACKUP_AVAILABLE:
            raise faults.InvalidBackup(f"Backup status must be available and not {row.status}.")
        metadata = await _metadata(s, row.id)
    record = {
        "format": FORMAT,
        "id": row.id,
        "volume_id": row.volume_id,
        "snapshot_id": row.snapshot_id,
        "parent_id": row.parent_id,
        "name": row.name,
        "description": row.description,
        "size": row.size,
        "is_incremental": row.is_incremental,
        "container": row.container,
        "object_count": row.object_count,
        "availability_zone": row.availability_zone,
        "data_timestamp": _when(row.data_timestamp),
        "created_at": _when(row.created_at),
        "metadata": metadata,
        "manifest": {"container": row.container or "", "backup_id": row.id},
    }
    url = base64.b64encode(json.dumps(record).encode()).decode()
    return ExportedRecord(_service_name(svc), url)


async def _metadata(s: AsyncSession, backup_id: str) -> dict[str, str]:
    rows = await s.scalars(select(m.BackupMetadata).where(m.BackupMetadata.backup_id == backup_id))
    return {item.key: item.value for item in rows}


@dataclass(slots=True)
class _Imported:
    """A decoded record: the row's fields and where its manifest lies."""

    fields: dict[str, Any]
    metadata: dict[str, str]
    source_container: str
    source_id: str


def _unparsable() -> faults.InvalidInput:
    return faults.InvalidInput("Can't parse backup record.")


def _text(record: dict[str, Any], key: str, longest: int = 255) -> str | None:
    value = record.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > longest):
        raise _unparsable()
    return value


def _count(value: Any) -> bool:
    """Whether `value` fits an integer column."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT


def _uuid(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise _unparsable()
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _unparsable() from None


def _timestamp(record: dict[str, Any], key: str) -> dt.datetime:
    value = record.get(key)
    try:
        found = dt.datetime.fromisoformat(value) if isinstance(value, str) else m.now()
    except ValueError:
        raise _unparsable() from None
    return found if found.tzinfo is not None else found.replace(tzinfo=dt.UTC)


def _decode(url: str) -> _Imported:
    """The record a backup_url holds; 400 when it is not one this cloud exported."""
    try:
        record = json.loads(base64.b64decode(url, validate=True))
    except (binascii.Error, ValueError):
        raise _unparsable() from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise _unparsable()
    size, count = record.get("size"), record.get("object_count", 0)
    manifest, metadata = record.get("manifest"), record.get("metadata") or {}
    if (
        not _count(size)
        or size < 1
        or not _count(count)
        or not isinstance(manifest, dict)
        or not isinstance(metadata, dict)
        or not all(isinstance(v, str) for v in metadata.values())
    ):
        raise _unparsable()
    container = _text(record, "container") or ""
    source_container = manifest.get("container")
    source_id = manifest.get("backup_id")
    names = (container, source_container, source_id)
    if not all(isinstance(n, str) and safe_name(n) for n in names if n != ""):
        raise _unparsable()
    fields = {
        "id": _uuid(record, "id"),
        "volume_id": _uuid(record, "volume_id"),
        "snapshot_id": _text(record, "snapshot_id", 36),
        "name": _text(record, "name"),
        "description": _text(record, "description", 65535),
        "size": size,
        "is_incremental": bool(record.get("is_incremental")),
        "container": container or None,
        "object_count": count,
        "availability_zone": _text(record, "availability_zone"),
        "data_timestamp": _timestamp(record, "data_timestamp"),
        "parent_id": _text(record, "parent_id", 36),
    }
    return _Imported(fields, dict(metadata), str(source_container), str(source_id))


async def _adopt(svc: VolumeService, rec: _Imported, source_exists: bool) -> str | None:
    """Make the target hold the imported backup's manifest; why not, when it cannot."""
    target = backup_target(svc)
    new_id, container = rec.fields["id"], rec.fields["container"] or ""
    try:
        manifest = await chunks.load_manifest(target, rec.source_container, rec.source_id)
        if new_id == rec.source_id and container == rec.source_container:
            return None
        if not source_exists:
            # Its data would be swept as an orphan: no row would name the backup holding it.
            return f"backup {rec.source_id} holding the data has no row any more"
        borrowed = chunks.borrowed(manifest, new_id, container)
        await target.write(container, new_id, chunks.MANIFEST, json.dumps(borrowed).encode())
    except BackupTargetError as exc:
        return f"backup data not found in the backup target: {exc}"
    return None


async def import_record(
    svc: VolumeService, ctx: RequestContext, backup_service: str, backup_url: str
) -> BackupRecord:
    """A backup row from a record (admin): available if its data is in the target, else error."""
    policy.enforce(ctx, "backup:import-export")
    if backup_service != _service_name(svc):
        raise faults.InvalidInput(f"Backup service {backup_service} is not supported here.")
    rec = _decode(backup_url)
    new_id = rec.fields["id"]
    async with svc.db.session() as s:
        if await s.get(m.Backup, new_id) is not None:
            raise faults.InvalidBackup("Backup already exists in database.")
        source_exists = await s.get(m.Backup, rec.source_id) is not None
    reason = await _adopt(svc, rec, source_exists)
    fields = dict(rec.fields)
    if new_id != rec.source_id and reason is None:
        # The exported backup holds the chunks: as the parent, it cannot go first.
        fields["parent_id"] = rec.source_id

    async def _do(s: AsyncSession) -> BackupRecord:
        if await s.get(m.Backup, new_id) is not None:
            raise faults.InvalidBackup("Backup already exists in database.")
        now = m.now()
        row = m.Backup(
            **fields,
            project_id=str(ctx.project_id),
            user_id=ctx.user_id,
            status=states.BACKUP_ERROR if reason else states.BACKUP_AVAILABLE,
            fail_reason=reason,
            host=svc.host,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        for key, value in rec.metadata.items():
            s.add(m.BackupMetadata(backup_id=new_id, key=key, value=value))
        await s.flush()
        return BackupRecord(row, dict(rec.metadata), False)

    return await svc.tx(_do)
