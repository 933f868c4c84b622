"""Services, hypervisors, availability zones and aggregates as Nova shows them."""

from __future__ import annotations

import json
from typing import Any

from stackling.common.microversion import Version
from stackling.compute.api.views_misc import timestamp
from stackling.compute.service.aggregates import AggregateRecord
from stackling.compute.service.hosts import ServiceRecord, Zone
from stackling.compute.service.hypervisors import NodeRecord


def service(record: ServiceRecord, mv: Version) -> dict[str, Any]:
    """A service in GET /os-services (and PUT /os-services/{uuid} from 2.53)."""
    row = record.service
    body: dict[str, Any] = {
        "id": row.uuid if mv.at_least("2.53") else row.id,
        "binary": row.binary,
        "host": row.host,
        "zone": record.zone,
        "status": "disabled" if row.disabled else "enabled",
        "state": "up" if record.up else "down",
        "updated_at": timestamp(record.updated_at),
        "disabled_reason": row.disabled_reason,
    }
    if mv.at_least("2.11"):
        body["forced_down"] = row.forced_down
    return body


def _state(record: NodeRecord) -> dict[str, str]:
    return {
        "state": "up" if record.up else "down",
        "status": "enabled" if record.enabled else "disabled",
    }


def _servers(record: NodeRecord, mv: Version, body: dict[str, Any]) -> None:
    # Before 2.75 Nova leaves the key out for a node without servers.
    if record.servers is not None and (record.servers or mv.at_least("2.75")):
        body["servers"] = [{"uuid": uuid, "name": name} for uuid, name in record.servers]


def hypervisor(record: NodeRecord, mv: Version) -> dict[str, Any]:
    """A hypervisor in GET /os-hypervisors and the legacy search."""
    node = record.node
    body: dict[str, Any] = {
        "id": node.uuid if mv.at_least("2.53") else node.id,
        "hypervisor_hostname": node.hypervisor_hostname,
        **_state(record),
    }
    _servers(record, mv, body)
    return body


def hypervisor_uptime(record: NodeRecord, uptime: str, mv: Version) -> dict[str, Any]:
    """GET /os-hypervisors/{id}/uptime."""
    body = hypervisor(record, mv)
    body.pop("servers", None)
    body["uptime"] = uptime
    return body


def hypervisor_detail(record: NodeRecord, mv: Version) -> dict[str, Any]:
    """A hypervisor in GET /os-hypervisors/detail and /{id}; 2.88 drops the resource figures."""
    node = record.node
    svc = record.service
    body = hypervisor(record, mv)
    body.pop("servers", None)
    body.update(
        {
            "hypervisor_type": node.hypervisor_type,
            "hypervisor_version": node.hypervisor_version,
            "host_ip": node.host_ip,
            "service": {
                "host": node.host,
                "id": (svc.uuid if mv.at_least("2.53") else svc.id) if svc else None,
                "disabled_reason": svc.disabled_reason if svc else None,
            },
        }
    )
    if mv.at_least("2.88"):
        body["uptime"] = record.uptime
    else:
        free_disk = node.local_gb - record.local_gb_used
        body.update(
            {
                "vcpus": node.vcpus,
                "memory_mb": node.memory_mb,
                "local_gb": node.local_gb,
                "vcpus_used": record.vcpus_used,
                "memory_mb_used": record.memory_mb_used,
                "local_gb_used": record.local_gb_used,
                "free_ram_mb": node.memory_mb - record.memory_mb_used,
                "free_disk_gb": free_disk,
                "current_workload": record.current_workload,
                "running_vms": record.running_vms,
                "disk_available_least": free_disk,
                # A JSON string until 2.28, an object from it.
                "cpu_info": (
                    dict(node.cpu_info or {})
                    if mv.at_least("2.28")
                    else json.dumps(node.cpu_info or {})
                ),
            }
        )
    _servers(record, mv, body)
    return body


def zone(item: Zone, *, detail: bool) -> dict[str, Any]:
    """An availability zone; hosts with their services only in the detailed view."""
    hosts: dict[str, Any] | None = None
    if detail:
        hosts = {
            host: {
                rec.service.binary: {
                    "available": rec.up,
                    "active": not rec.service.disabled,
                    "updated_at": timestamp(rec.updated_at),
                }
                for rec in records
            }
            for host, records in item.hosts.items()
        }
    return {"zoneName": item.name, "zoneState": {"available": item.available}, "hosts": hosts}


def aggregate(record: AggregateRecord, mv: Version, *, created: bool = False) -> dict[str, Any]:
    """An aggregate; the create answer has no hosts or metadata, as in Nova."""
    agg = record.aggregate
    body: dict[str, Any] = {
        "id": agg.id,
        "name": agg.name,
        "availability_zone": record.zone,
        "created_at": timestamp(agg.created_at),
        "updated_at": timestamp(agg.updated_at),
        "deleted_at": None,
        "deleted": False,
    }
    if not created:
        body["hosts"] = list(record.hosts)
        body["metadata"] = dict(record.metadata)
    if mv.at_least("2.41"):
        body["uuid"] = agg.uuid
    return body
