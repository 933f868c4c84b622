"""The server JSON Nova clients expect, field by field and microversion by microversion."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from stackling.common.context import RequestContext
from stackling.common.microversion import Version
from stackling.compute import states
from stackling.compute.api.deps import Links
from stackling.compute.service.records import ServerRecord

# Statuses in which Nova shows build/resize progress.
_PROGRESS_STATUSES = {"BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING", "ACTIVE"}


def isotime(value: dt.datetime | None) -> str | None:
    """Nova's timestamp format: seconds, `Z`."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_time(value: dt.datetime | None) -> str | None:
    """OS-SRV-USG times: microseconds, no zone (as Nova prints them)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def host_id(project_id: str, host: str | None) -> str:
    """Nova's opaque hostId: the same for a project's servers on one host."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def summary(record: ServerRecord, links: Links) -> dict[str, Any]:
    """A server in GET /servers."""
    inst = record.instance
    return {"id": inst.uuid, "name": inst.display_name, "links": links.pair("servers", inst.uuid)}


def _flavor(inst: Any, mv: Version, links: Links) -> dict[str, Any]:
    flavor = inst.flavor
    if not mv.at_least("2.47"):
        return {"id": flavor["id"], "links": links.pair("flavors", flavor["id"])[1:]}
    return {
        "vcpus": flavor["vcpus"],
        "ram": flavor["ram"],
        "disk": flavor["disk"],
        "ephemeral": flavor["ephemeral"],
        "swap": flavor["swap"],
        "original_name": flavor["name"],
        "extra_specs": dict(flavor.get("extra_specs") or {}),
    }


def _image(inst: Any, links: Links) -> Any:
    if not inst.image_ref:
        return ""
    return {"id": inst.image_ref, "links": links.pair("images", inst.image_ref)[1:]}


def addresses(inst: Any) -> dict[str, list[dict[str, Any]]]:
    """Network name -> addresses, from the server's network info."""
    out: dict[str, list[dict[str, Any]]] = {}
    for vif in inst.network_info or []:
        entries = out.setdefault(vif.get("network_name", "private"), [])
        for ip in vif.get("ips", []):
            entries.append(
                {
                    "version": ip.get("version", 4),
                    "addr": ip["addr"],
                    "OS-EXT-IPS:type": ip.get("type", "fixed"),
                    "OS-EXT-IPS-MAC:mac_addr": vif.get("mac", ""),
                }
            )
    return out


def _fault(record: ServerRecord, ctx: RequestContext) -> dict[str, Any] | None:
    fault = record.fault
    if fault is None:
        return None
    body: dict[str, Any] = {
        "code": fault.code,
        "created": isotime(fault.created_at),
        "message": fault.message,
    }
    # Nova hides details of internal errors from non-admins.
    if fault.details and (ctx.is_admin or fault.code != 500):
        body["details"] = fault.details
    return body


def _volumes_attached(record: ServerRecord, mv: Version) -> list[dict[str, Any]]:
    """Nova's os-extended-volumes:volumes_attached (delete_on_termination from 2.3)."""
    if mv.at_least("2.3"):
        return [{"id": vid, "delete_on_termination": dot} for vid, dot in record.volumes]
    return [{"id": vid} for vid, _ in record.volumes]


def detail(record: ServerRecord, mv: Version, ctx: RequestContext, links: Links) -> dict[str, Any]:
    """A server in GET /servers/detail and GET /servers/{id}."""
    inst = record.instance
    status = states.status_of(inst.vm_state, inst.task_state)
    server: dict[str, Any] = {
        "id": inst.uuid,
        "name": inst.display_name,
        "status": status,
        "tenant_id": inst.project_id,
        "user_id": inst.user_id,
        "metadata": dict(record.metadata),
        "hostId": host_id(inst.project_id, inst.host),
        "image": _image(inst, links),
        "flavor": _flavor(inst, mv, links),
        "created": isotime(inst.created_at),
        "updated": isotime(inst.updated_at),
        "addresses": addresses(inst),
        "accessIPv4": inst.access_ip_v4 or "",
        "accessIPv6": inst.access_ip_v6 or "",
        "links": links.pair("servers", inst.uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": inst.availability_zone or "",
        "config_drive": "True" if inst.config_drive else "",
        "key_name": inst.key_name,
        "OS-SRV-USG:launched_at": usage_time(inst.launched_at),
        "OS-SRV-USG:terminated_at": usage_time(inst.terminated_at),
        "OS-EXT-STS:task_state": inst.task_state,
        "OS-EXT-STS:vm_state": inst.vm_state,
        "OS-EXT-STS:power_state": inst.power_state,
        "os-extended-volumes:volumes_attached": _volumes_attached(record, mv),
    }
    if inst.security_groups:
        server["security_groups"] = [{"name": name} for name in inst.security_groups]
    if status in _PROGRESS_STATUSES:
        server["progress"] = inst.progress
    if ctx.is_admin:
        server["OS-EXT-SRV-ATTR:host"] = inst.host
        server["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{inst.id:08x}"
        server["OS-EXT-SRV-ATTR:hypervisor_hostname"] = inst.node
        if mv.at_least("2.3"):
            server["OS-EXT-SRV-ATTR:reservation_id"] = inst.reservation_id
            server["OS-EXT-SRV-ATTR:launch_index"] = inst.launch_index
            server["OS-EXT-SRV-ATTR:hostname"] = inst.hostname
            server["OS-EXT-SRV-ATTR:kernel_id"] = ""
            server["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
            server["OS-EXT-SRV-ATTR:root_device_name"] = inst.root_device_name
            server["OS-EXT-SRV-ATTR:user_data"] = inst.user_data
        if mv.at_least("2.16"):
            server["host_status"] = "UP" if inst.host else ""
    elif mv.at_least("2.90"):
        server["OS-EXT-SRV-ATTR:hostname"] = inst.hostname
    if mv.at_least("2.9"):
        server["locked"] = inst.locked
    if mv.at_least("2.19"):
        server["description"] = inst.display_description
    if mv.at_least("2.26"):
        server["tags"] = list(record.tags)
    if mv.at_least("2.63"):
        server["trusted_image_certificates"] = None
    if mv.at_least("2.73"):
        server["locked_reason"] = inst.locked_reason
    if mv.at_least("2.96"):
        server["pinned_availability_zone"] = inst.availability_zone
    fault = _fault(record, ctx)
    if fault is not None and status in ("ERROR", "DELETED"):
        server["fault"] = fault
    return server


def shown(record: ServerRecord, mv: Version, ctx: RequestContext, links: Links) -> dict[str, Any]:
    """GET /servers/{id}: the detail, plus the server's group from 2.71."""
    server = detail(record, mv, ctx, links)
    if mv.at_least("2.71"):
        server["server_groups"] = list(record.server_groups)
    return server


# What update and rebuild responses leave out before 2.75 made them match GET.
_NOT_IN_ACTION_VIEWS = (
    "OS-EXT-AZ:availability_zone",
    "config_drive",
    "key_name",
    "OS-SRV-USG:launched_at",
    "OS-SRV-USG:terminated_at",
    "OS-EXT-STS:task_state",
    "OS-EXT-STS:vm_state",
    "OS-EXT-STS:power_state",
    "os-extended-volumes:volumes_attached",
    "security_groups",
    "host_status",
    "OS-EXT-SRV-ATTR:host",
    "OS-EXT-SRV-ATTR:instance_name",
    "OS-EXT-SRV-ATTR:hypervisor_hostname",
    "OS-EXT-SRV-ATTR:reservation_id",
    "OS-EXT-SRV-ATTR:launch_index",
    "OS-EXT-SRV-ATTR:hostname",
    "OS-EXT-SRV-ATTR:kernel_id",
    "OS-EXT-SRV-ATTR:ramdisk_id",
    "OS-EXT-SRV-ATTR:root_device_name",
    "OS-EXT-SRV-ATTR:user_data",
    "fault",
    "pinned_availability_zone",
)


def updated(
    record: ServerRecord, mv: Version, ctx: RequestContext, links: Links, *, rebuild: bool = False
) -> dict[str, Any]:
    """The server in a PUT /servers/{id} or rebuild response, as each microversion shapes it."""
    server = shown(record, mv, ctx, links)
    if not mv.at_least("2.75"):
        for key in _NOT_IN_ACTION_VIEWS:
            server.pop(key, None)
        if rebuild and mv.at_least("2.54"):
            server["key_name"] = record.instance.key_name
    if rebuild:
        server.pop("OS-EXT-SRV-ATTR:user_data", None)
        if mv.at_least("2.57"):
            server["user_data"] = record.instance.user_data
    return server
