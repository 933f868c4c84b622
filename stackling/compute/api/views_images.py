"""Glance images as Nova's image proxy shows them."""

from __future__ import annotations

from typing import Any

from stackling.common.timeutil import isoformat
from stackling.compute.api.deps import Links
from stackling.image.service.records import ImageRecord

# Glance status -> what Nova reports; anything else is UNKNOWN.
_STATUS = {
    "active": "ACTIVE",
    "queued": "SAVING",
    "saving": "SAVING",
    "deleted": "DELETED",
    "pending_delete": "DELETED",
    "killed": "ERROR",
}
_PROGRESS = {"queued": 25, "saving": 50, "active": 100}
_TRUE = {"1", "t", "true", "on", "y", "yes"}


def _links(record: ImageRecord, links: Links, glance: str) -> list[dict[str, str]]:
    image_id = record.image.id
    return [
        *links.pair("images", image_id),
        {
            "rel": "alternate",
            "type": "application/vnd.openstack.image",
            "href": f"{glance}/images/{image_id}",
        },
    ]


def image_summary(record: ImageRecord, links: Links, glance: str) -> dict[str, Any]:
    """An image in GET /images."""
    return {
        "id": record.image.id,
        "name": record.image.name,
        "links": _links(record, links, glance),
    }


def image_detail(record: ImageRecord, links: Links, glance: str) -> dict[str, Any]:
    """An image in GET /images/detail and GET /images/{id}."""
    image = record.image
    metadata = dict(record.properties)
    body: dict[str, Any] = {
        "id": image.id,
        "name": image.name,
        "minRam": int(image.min_ram or 0),
        "minDisk": int(image.min_disk or 0),
        "metadata": metadata,
        "created": isoformat(image.created_at, micro=False),
        "updated": isoformat(image.updated_at, micro=False),
        "status": _STATUS.get(image.status, "UNKNOWN"),
        "progress": _PROGRESS.get(image.status, 0),
        "OS-EXT-IMG-SIZE:size": image.size,
        "links": _links(record, links, glance),
    }
    server = metadata.get("instance_uuid")
    if server is not None:
        # A snapshot points back at the server it was taken from.
        body["server"] = {"id": server, "links": links.pair("servers", server)}
    disk_config = metadata.get("auto_disk_config")
    if disk_config is not None:
        body["OS-DCF:diskConfig"] = "AUTO" if disk_config.strip().lower() in _TRUE else "MANUAL"
    return body
