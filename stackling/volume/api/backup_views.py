"""Cinder's JSON for backups, per microversion."""

from __future__ import annotations

from typing import Any

from stackling.volume.api.deps import Call
from stackling.volume.api.views import when
from stackling.volume.service import policy
from stackling.volume.service.backups import BackupRecord, RestoreResult


def links(call: Call, project_id: str, backup_id: str) -> list[dict[str, str]]:
    """The self and bookmark links of a backup."""
    return [
        {"href": f"{call.root}/v3/{project_id}/backups/{backup_id}", "rel": "self"},
        {"href": f"{call.root}/{project_id}/backups/{backup_id}", "rel": "bookmark"},
    ]


def summary(call: Call, rec: BackupRecord) -> dict[str, Any]:
    """A backup in a plain list and in the create answer: id, name, links."""
    row = rec.backup
    return {"id": row.id, "name": row.name, "links": links(call, row.project_id, row.id)}


def detail(call: Call, rec: BackupRecord) -> dict[str, Any]:
    """A backup in full."""
    row = rec.backup
    out: dict[str, Any] = {
        **summary(call, rec),
        "description": row.description,
        "status": row.status,
        "availability_zone": row.availability_zone,
        "volume_id": row.volume_id,
        "snapshot_id": row.snapshot_id,
        "size": row.size,
        "object_count": row.object_count,
        "container": row.container,
        "created_at": when(row.created_at),
        "updated_at": when(row.updated_at),
        "data_timestamp": when(row.data_timestamp),
        "fail_reason": row.fail_reason,
        "is_incremental": row.is_incremental,
        "has_dependent_backups": rec.has_dependents,
    }
    if call.version.at_least("3.18") and policy.RULES.check(
        call.ctx, "backup:backup_project_attribute", None
    ):
        out["os-backup-project-attr:project_id"] = row.project_id
    if call.version.at_least("3.43"):
        out["metadata"] = dict(rec.metadata)
    if call.version.at_least("3.56"):
        out["user_id"] = row.user_id
    if call.version.at_least("3.64"):
        # Backups of encrypted volumes do not exist here.
        out["encryption_key_id"] = None
    return out


def restore(result: RestoreResult) -> dict[str, Any]:
    """The answer to a restore."""
    return {
        "restore": {
            "backup_id": result.backup_id,
            "volume_id": result.volume_id,
            "volume_name": result.volume_name,
        }
    }
