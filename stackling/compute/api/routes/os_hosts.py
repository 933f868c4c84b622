"""/os-hosts (gone from 2.43): hosts by service, a host's resources, enable/disable, power."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stackling.compute.api import views_admin as views
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Microversion
from stackling.compute.api.microversion import Version
from stackling.compute.api.query_misc import Query, not_in_version
from stackling.compute.api.reply import reply
from stackling.compute.service import os_hosts

router = APIRouter(tags=["compute-os-hosts"])

H = V21 + "/os-hosts"


def _hosts_api(mv: Version) -> None:
    if mv.at_least("2.43"):
        raise not_in_version()


@router.get(H)
async def list_hosts(request: Request, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """Every enabled service with its host and zone (admin), optionally of one zone."""
    _hosts_api(mv)
    found = await os_hosts.list_hosts(svc, ctx, Query(request).get("zone"))
    return reply(mv, {"hosts": [views.host_entry(e) for e in found]})


@router.get(H + "/{host}")
async def show_host(host: str, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """A host's resources: total, used now, used by its servers, and per project (admin)."""
    _hosts_api(mv)
    return reply(mv, {"host": await os_hosts.show_host(svc, ctx, host)})


@router.put(H + "/{host}")
async def update_host(
    host: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Enable or disable a host's compute service (admin); maintenance mode is a 501."""
    _hosts_api(mv)
    return reply(mv, await os_hosts.update_host(svc, ctx, host, data))


@router.get(H + "/{host}/{action}")
async def power_action(
    host: str, action: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """reboot, shutdown, startup: not something the libvirt driver does (501)."""
    _hosts_api(mv)
    if action not in os_hosts.POWER_ACTIONS:
        raise not_in_version()
    await os_hosts.power_action(svc, ctx, host, action)
    return reply(mv, {"host": host, "power_action": action})
