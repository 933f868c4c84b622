"""os-hosts (deprecated at 2.43): hosts by their services, a host's resources, enable/disable.

Power actions and maintenance mode are what the libvirt driver does not
implement, so they answer 501 exactly as Nova over libvirt does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute import models as m
from stackling.compute.service import access, aggregates, checks, hosts, hypervisors
from stackling.compute.service.core import ComputeService
from stackling.compute.service.scheduler import service_up

_POLICY = "os_compute_api:os-hosts:{}"
# Nova's schema takes these spellings only.
_SWITCH = ("enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE")
POWER_ACTIONS = ("reboot", "shutdown", "startup")


@dataclass(slots=True)
class HostEntry:
    """One service of a host, as GET /os-hosts lists it."""

    host_name: str
    service: str
    zone: str


def host_not_found(host: str) -> errors.NotFound:
    """Nova's 404 for a host without a compute service."""
    return errors.NotFound(f"Compute host {host} could not be found.")


def not_supported() -> errors.NotImplementedYet:
    """Nova's 501 when the virt driver cannot do what was asked."""
    return errors.NotImplementedYet("The requested functionality is not supported.")


async def list_hosts(svc: ComputeService, ctx: RequestContext, zone: str | None) -> list[HostEntry]:
    """GET /os-hosts (admin): one entry per enabled service, optionally of one zone only."""
    access.require_admin(ctx, _POLICY.format("list"))
    records = await hosts.list_services(svc, ctx)
    return [
        HostEntry(r.service.host, r.service.topic, r.zone)
        for r in records
        # Nova lists enabled services only; an empty zone means every zone.
        if not r.service.disabled and (not zone or r.zone == zone)
    ]


def _resource(host: str, project: str, cpu: int, memory_mb: int, disk_gb: int) -> dict[str, Any]:
    return {
        "resource": {
            "host": host,
            "project": project,
            "cpu": cpu,
            "memory_mb": memory_mb,
            "disk_gb": disk_gb,
        }
    }


async def show_host(svc: ComputeService, ctx: RequestContext, host: str) -> list[dict[str, Any]]:
    """GET /os-hosts/{host} (admin): totals, what is used now, what servers may use, per project."""
    access.require_admin(ctx, _POLICY.format("show"))
    node = await hypervisors.by_host(svc, host)
    if node is None:
        raise host_not_found(host)
    async with svc.db.session() as s:
        flavors = (
            await s.execute(
                select(m.Instance.project_id, m.Instance.flavor)
                .where(m.Instance.host == host, m.Instance.deleted.is_(False))
                .order_by(m.Instance.id)
            )
        ).all()
    totals = node.node
    out = [
        _resource(host, "(total)", totals.vcpus, totals.memory_mb, totals.local_gb),
        _resource(host, "(used_now)", node.vcpus_used, node.memory_mb_used, node.local_gb_used),
    ]
    # Per project, in the order their first server was created: [cpu, memory, disk].
    used: dict[str, list[int]] = {}
    for project, flavor in flavors:
        sums = used.setdefault(project, [0, 0, 0])
        sums[0] += int(flavor.get("vcpus") or 0)
        sums[1] += int(flavor.get("ram") or 0)
        sums[2] += int(flavor.get("disk") or 0) + int(flavor.get("ephemeral") or 0)
    all_projects = [sum(sums[i] for sums in used.values()) for i in range(3)]
    out.append(_resource(host, "(used_max)", *all_projects))
    out.extend(_resource(host, project, *sums) for project, sums in used.items())
    return out


async def _compute_service(svc: ComputeService, host: str) -> m.ComputeService:
    """The compute service of `host` (404 when none, 400 when it is down), as Nova checks."""
    async with svc.db.session() as s:
        service = await s.scalar(
            select(m.ComputeService).where(
                m.ComputeService.host == host, m.ComputeService.binary == aggregates.COMPUTE
            )
        )
    if service is None:
        raise host_not_found(host)
    if not service_up(service):
        raise errors.BadRequest(f"Compute service of {host} is unavailable at this time.")
    return service


def _switch(body: dict[str, Any], name: str) -> bool | None:
    """enable/disable in any case (Nova's schema) as True/False; None when absent."""
    if name not in body:
        return None
    value = body[name]
    if value not in _SWITCH:
        raise checks.invalid(name, value, f"{value!r} is not one of {list(_SWITCH)}")
    return str(value).lower() == "enable"


async def update_host(
    svc: ComputeService, ctx: RequestContext, host: str, body: dict[str, Any]
) -> dict[str, Any]:
    """PUT /os-hosts/{host} (admin): status enables or disables the host's compute service."""
    access.require_admin(ctx, _POLICY.format("update"))
    checks.only(body, ("status", "maintenance_mode"), "body")
    enabled = _switch(body, "status")
    maintenance = _switch(body, "maintenance_mode")
    if enabled is None and maintenance is None:
        raise errors.BadRequest(
            "Invalid input for field/attribute body. 'status' or 'maintenance_mode' is required."
        )
    service = await _compute_service(svc, host)
    if maintenance is not None:
        # Checked before any change, so a refused request changes nothing.
        raise not_supported()

    async def _apply(s: AsyncSession) -> None:
        row = await s.get(m.ComputeService, service.id, with_for_update=True)
        if row is None:
            raise host_not_found(host)
        row.disabled = not enabled
        if enabled:
            row.disabled_reason = None
        row.updated_at = m.now()

    await svc.tx(_apply)
    return {"host": host, "status": "enabled" if enabled else "disabled"}


async def power_action(svc: ComputeService, ctx: RequestContext, host: str, action: str) -> None:
    """GET /os-hosts/{host}/{reboot,shutdown,startup} (admin): 501, as over libvirt."""
    access.require_admin(ctx, _POLICY.format(action))
    await _compute_service(svc, host)
    raise not_supported()
