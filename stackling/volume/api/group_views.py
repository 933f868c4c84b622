"""Cinder's JSON for group types, groups and group snapshots, per microversion."""

from __future__ import annotations

from typing import Any

from stackling.volume import models as m
from stackling.volume.api.deps import Call
from stackling.volume.api.views import when
from stackling.volume.service.group_types import GroupTypeRecord
from stackling.volume.service.groups import GroupRecord


def group_type(call: Call, rec: GroupTypeRecord) -> dict[str, Any]:
    """A group type; its specs only for those who may read them (admins)."""
    gtype = rec.gtype
    out: dict[str, Any] = {
        "id": gtype.id,
        "name": gtype.name,
        "description": gtype.description,
        "is_public": gtype.is_public,
    }
    if call.ctx.is_admin:
        out["group_specs"] = dict(rec.group_specs)
    return out


def group_summary(group: m.VolumeGroup) -> dict[str, Any]:
    """A group as GET /groups and the create answer show it."""
    return {"id": group.id, "name": group.name}


def group_detail(call: Call, rec: GroupRecord, *, list_volume: bool = False) -> dict[str, Any]:
    """A group in full; its volumes' ids from 3.25 when asked with list_volume."""
    group, mv = rec.group, call.version
    out: dict[str, Any] = {
        "id": group.id,
        "status": group.status,
        "availability_zone": group.availability_zone,
        "created_at": when(group.created_at),
        "name": group.name,
        "description": group.description,
        "group_type": group.group_type_id,
        "volume_types": list(rec.volume_type_ids),
    }
    if mv.at_least("3.14"):
        out["group_snapshot_id"] = group.group_snapshot_id
        out["source_group_id"] = group.source_group_id
    if list_volume and mv.at_least("3.25"):
        out["volumes"] = list(rec.volume_ids)
    if mv.at_least("3.38"):
        # No replication in this cloud: Cinder's value for groups without it.
        out["replication_status"] = "disabled"
    if mv.at_least("3.58"):
        out["project_id"] = group.project_id
    return out


def group_snapshot_summary(row: m.VolumeGroupSnapshot) -> dict[str, Any]:
    """A group snapshot as GET /group_snapshots lists it."""
    return {"id": row.id, "name": row.name}


def group_snapshot_created(row: m.VolumeGroupSnapshot) -> dict[str, Any]:
    """The answer to POST /group_snapshots."""
    return {"id": row.id, "name": row.name, "group_type_id": row.group_type_id}


def group_snapshot_detail(call: Call, row: m.VolumeGroupSnapshot) -> dict[str, Any]:
    """A group snapshot in full."""
    out: dict[str, Any] = {
        "id": row.id,
        "group_id": row.group_id,
        "group_type_id": row.group_type_id,
        "status": row.status,
        "created_at": when(row.created_at),
        "name": row.name,
        "description": row.description,
    }
    if call.version.at_least("3.58"):
        out["project_id"] = row.project_id
    return out
