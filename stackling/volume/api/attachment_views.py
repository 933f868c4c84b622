"""Cinder's JSON for volume attachments (3.27+)."""

from __future__ import annotations

from typing import Any

from stackling.volume import models as m
from stackling.volume.api.views import when


def summary(row: m.Attachment) -> dict[str, Any]:
    """An attachment as GET /attachments lists it."""
    return {
        "id": row.id,
        "status": row.attach_status,
        "instance": row.instance_uuid,
        "volume_id": row.volume_id,
    }


def detail(row: m.Attachment) -> dict[str, Any]:
    """An attachment as show, create, update and GET /attachments/detail give it."""
    out = {
        **summary(row),
        "attached_at": when(row.attach_time),
        "detached_at": when(row.detach_time),
        "attach_mode": row.attach_mode,
    }
    # Cinder shows the connection only once a connector was given.
    out["connection_info"] = row.connection_info if row.connector else {}
    return out
