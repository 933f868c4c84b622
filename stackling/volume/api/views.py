"""Cinder's JSON for volumes, volume types and quotas, per microversion."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from stackling.volume.api.deps import Call
from stackling.volume.service.types import TypeRecord, visible_specs
from stackling.volume.service.volumes import VolumeRecord


def when(value: dt.datetime | None) -> str | None:
    """Cinder's timestamps: ISO 8601 with microseconds and no zone (UTC)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def links(call: Call, project_id: str, volume_id: str) -> list[dict[str, str]]:
    """The self and bookmark links of a volume."""
    return [
        {"href": f"{call.root}/v3/{project_id}/volumes/{volume_id}", "rel": "self"},
        {"href": f"{call.root}/{project_id}/volumes/{volume_id}", "rel": "bookmark"},
    ]


def attachments(volume_id: str, rows: list[Any]) -> list[dict[str, Any]]:
    """The volume's attached attachments, as Cinder lists them in a volume."""
    return [
        {
            "server_id": a.instance_uuid,
            "attachment_id": a.id,
            "attached_at": when(a.attach_time),
            "host_name": a.attached_host,
            "volume_id": volume_id,
            "device": a.mountpoint,
            "id": volume_id,
        }
        for a in rows
        if a.attach_status == "attached"
    ]


def summary(call: Call, rec: VolumeRecord) -> dict[str, Any]:
    """A volume as GET /volumes lists it."""
    v = rec.volume
    return {"id": v.id, "name": v.name, "links": links(call, v.project_id, v.id)}


def detail(call: Call, rec: VolumeRecord) -> dict[str, Any]:
    """A volume as GET /volumes/{id} and /volumes/detail show it."""
    v, mv, admin = rec.volume, call.version, call.ctx.is_admin
    out: dict[str, Any] = {
        "id": v.id,
        "name": v.name,
        "status": v.status,
        "size": v.size,
        "availability_zone": v.availability_zone,
        "created_at": when(v.created_at),
        "updated_at": when(v.updated_at),
        "attachments": attachments(v.id, rec.attachments),
        "bootable": "true" if v.bootable else "false",
        "encrypted": False,
        "multiattach": v.multiattach,
        "metadata": dict(rec.metadata),
        "description": v.description,
        "volume_type": rec.type_name,
        "snapshot_id": v.snapshot_id,
        "source_volid": v.source_volid,
        "user_id": v.user_id,
        "os-vol-tenant-attr:tenant_id": v.project_id,
        "consistencygroup_id": None,
        "replication_status": None,
        "links": links(call, v.project_id, v.id),
    }
    if rec.image_metadata:
        # Cinder shows the key only for volumes that came from an image.
        out["volume_image_metadata"] = dict(rec.image_metadata)
    if admin:
        out["os-vol-host-attr:host"] = v.host
        out["os-vol-mig-status-attr:migstat"] = None
        out["os-vol-mig-status-attr:name_id"] = None
        # Volumes never migrate between backends here (one backend per host).
        out["migration_status"] = None
    if mv.at_least("3.13"):
        out["group_id"] = v.group_id
    if mv.at_least("3.21") and admin:
        out["provider_id"] = None
    if mv.at_least("3.48"):
        out["service_uuid"] = str(uuid.uuid5(uuid.NAMESPACE_DNS, v.host))
        out["shared_targets"] = False
    if mv.at_least("3.61") and admin:
        out["cluster_name"] = None
    if mv.at_least("3.63"):
        out["volume_type_id"] = v.volume_type_id
    if mv.at_least("3.64"):
        out["encryption_key_id"] = None
    if mv.at_least("3.65"):
        out["consumes_quota"] = True
    return out


def collection(
    call: Call, key: str, items: list[dict[str, Any]], limit: int | None, count: int | None
) -> dict[str, Any]:
    """A list body, with `<key>_links` naming the next page when this one is full."""
    out: dict[str, Any] = {key: items}
    if limit and len(items) == limit:
        params = call.params()
        params["limit"] = str(limit)
        params["marker"] = items[-1]["id"]
        href = f"{str(call.request.base_url).rstrip('/')}{call.request.url.path}"
        out[f"{key}_links"] = [{"href": f"{href}?{urlencode(params)}", "rel": "next"}]
    if count is not None:
        out["count"] = count
    return out


def volume_type(call: Call, rec: TypeRecord) -> dict[str, Any]:
    """A volume type; extra specs and QoS are the admin's to see."""
    t = rec.vtype
    out: dict[str, Any] = {
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "is_public": t.is_public,
        "os-volume-type-access:is_public": t.is_public,
    }
    if call.ctx.is_admin:
        out["extra_specs"] = visible_specs(call.ctx, rec.extra_specs)
        out["qos_specs_id"] = rec.qos_specs_id
    return out


def version_doc(root: str, updated: str, min_v: str, max_v: str) -> dict[str, Any]:
    """The v3 entry of Cinder's version documents."""
    return {
        "id": "v3.0",
        "status": "CURRENT",
        "version": max_v,
        "min_version": min_v,
        "updated": updated,
        "links": [
            {"href": "https://docs.openstack.org/", "type": "text/html", "rel": "describedby"},
            {"href": f"{root}/v3/", "rel": "self"},
        ],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}
        ],
    }
