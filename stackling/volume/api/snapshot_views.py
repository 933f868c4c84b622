"""Cinder's JSON for snapshots, per microversion."""

from __future__ import annotations

from typing import Any

from stackling.volume.api.deps import Call
from stackling.volume.api.views import when
from stackling.volume.service.snapshots import SnapshotRecord


def summary(call: Call, rec: SnapshotRecord) -> dict[str, Any]:
    """A snapshot as GET /snapshots lists it (Cinder's v2 summary)."""
    snap = rec.snapshot
    return {
        "id": snap.id,
        "created_at": when(snap.created_at),
        "updated_at": when(snap.updated_at),
        "name": snap.name,
        "description": snap.description,
        "volume_id": snap.volume_id,
        "status": snap.status,
        "size": snap.size,
        "metadata": dict(rec.metadata),
    }


def detail(call: Call, rec: SnapshotRecord, *, extended: bool = True) -> dict[str, Any]:
    """A snapshot in full; `extended` adds what Cinder shows on show and detail lists only."""
    snap, mv = rec.snapshot, call.version
    out = summary(call, rec)
    if extended:
        out["os-extended-snapshot-attributes:progress"] = snap.progress
        out["os-extended-snapshot-attributes:project_id"] = snap.project_id
    if mv.at_least("3.14"):
        out["group_snapshot_id"] = snap.group_snapshot_id
    if mv.at_least("3.41"):
        out["user_id"] = snap.user_id
    if mv.at_least("3.65"):
        out["consumes_quota"] = True
    return out
