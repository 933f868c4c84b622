"""Hosts: /os-services, /os-hypervisors and /os-availability-zone (plus /os-aggregates)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stackling.compute.api import views_hosts as views
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Microversion
from stackling.compute.api.query_misc import Query, full_page, not_in_version
from stackling.compute.api.reply import reply
from stackling.compute.api.routes import aggregates
from stackling.compute.service import hosts, hypervisors

router = APIRouter(tags=["compute-hosts"])
router.include_router(aggregates.router)


# -- os-services ----------------------------------------------------------------


@router.get(V21 + "/os-services")
async def list_services(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Every service (admin), by host and binary."""
    query = Query(request)
    query.only(mv, ("host", "binary"))
    found = await hosts.list_services(svc, ctx, host=query.get("host"), binary=query.get("binary"))
    return reply(mv, {"services": [views.service(r, mv) for r in found]})


@router.put(V21 + "/os-services/{service_id}")
async def update_service(
    service_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """2.53: update a service by uuid; before: enable, disable, disable-log-reason, force-down."""
    if mv.at_least("2.53"):
        record = await hosts.update_service(svc, ctx, service_id, data, mv)
        return reply(mv, {"service": views.service(record, mv)})
    return reply(mv, {"service": await hosts.legacy_update(svc, ctx, service_id, data, mv)})


@router.delete(V21 + "/os-services/{service_id}")
async def delete_service(
    service_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Delete a service (204); a compute host must have no servers left."""
    await hosts.delete_service(svc, ctx, service_id, mv)
    return reply(mv, None, 204)


# -- os-hypervisors -------------------------------------------------------------


def _node_query(request: Request, mv: Microversion, *, usage: bool) -> hypervisors.NodeQuery:
    query = Query(request)
    q = hypervisors.NodeQuery(
        usage=usage, by_uuid=mv.at_least("2.53"), uptime=usage and mv.at_least("2.88")
    )
    if mv.at_least("2.53"):
        query.only(
            mv, ("limit", "marker", "hypervisor_hostname_pattern", "with_servers"), since="2.53"
        )
        q.pattern = query.get("hypervisor_hostname_pattern")
        q.with_servers = bool(query.boolean("with_servers"))
    if mv.at_least("2.33"):
        q.limit = query.integer("limit")
        q.marker = query.get("marker")
    return q


async def _list_nodes(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion, *, detail: bool
) -> Response:
    q = _node_query(request, mv, usage=detail)
    found = await hypervisors.list_nodes(svc, ctx, q)
    view = views.hypervisor_detail if detail else views.hypervisor
    body: dict[str, object] = {"hypervisors": [view(r, mv) for r in found]}
    paged = q.pattern is None and mv.at_least("2.33")
    if paged and full_page(len(found), q.limit, svc.conf.api_max_limit):
        last = found[-1].node
        path = "os-hypervisors/detail" if detail else "os-hypervisors"
        marker = last.uuid if mv.at_least("2.53") else last.id
        body["hypervisors_links"] = Query(request).next_links(path, marker)
    return reply(mv, body)


@router.get(V21 + "/os-hypervisors")
async def list_hypervisors(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Hypervisors, briefly (admin)."""
    return await _list_nodes(request, svc, ctx, mv, detail=False)


@router.get(V21 + "/os-hypervisors/detail")
async def list_hypervisors_detail(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Hypervisors with their resources (admin)."""
    return await _list_nodes(request, svc, ctx, mv, detail=True)


@router.get(V21 + "/os-hypervisors/statistics")
async def hypervisor_statistics(svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """Totals over the enabled hypervisors (admin, before 2.88)."""
    if mv.at_least("2.88"):
        raise not_in_version()
    return reply(mv, {"hypervisor_statistics": await hypervisors.statistics(svc, ctx)})


@router.get(V21 + "/os-hypervisors/{node_id}")
async def show_hypervisor(
    node_id: str, request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One hypervisor (admin); with_servers from 2.53."""
    query = Query(request)
    with_servers = False
    if mv.at_least("2.53"):
        query.only(mv, ("with_servers",), since="2.53")
        with_servers = bool(query.boolean("with_servers"))
    record = await hypervisors.show_node(svc, ctx, node_id, mv, with_servers=with_servers)
    return reply(mv, {"hypervisor": views.hypervisor_detail(record, mv)})


@router.get(V21 + "/os-hypervisors/{node_id}/uptime")
async def hypervisor_uptime(
    node_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """How long the hypervisor's host has been up, as `uptime` says (before 2.88)."""
    if mv.at_least("2.88"):
        raise not_in_version()
    record, uptime = await hypervisors.show_uptime(svc, ctx, node_id, mv)
    return reply(mv, {"hypervisor": views.hypervisor_uptime(record, uptime, mv)})


@router.get(V21 + "/os-hypervisors/{pattern}/search")
async def search_hypervisors(
    pattern: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Hypervisors whose host name contains `pattern` (before 2.53)."""
    if mv.at_least("2.53"):
        raise not_in_version()
    found = await hypervisors.search(svc, ctx, pattern, with_servers=False)
    return reply(mv, {"hypervisors": [views.hypervisor(r, mv) for r in found]})


@router.get(V21 + "/os-hypervisors/{pattern}/servers")
async def hypervisor_servers(
    pattern: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Matching hypervisors with their servers (before 2.53)."""
    if mv.at_least("2.53"):
        raise not_in_version()
    found = await hypervisors.search(svc, ctx, pattern, with_servers=True)
    return reply(mv, {"hypervisors": [views.hypervisor(r, mv) for r in found]})


# -- os-availability-zone -------------------------------------------------------


@router.get(V21 + "/os-availability-zone")
async def list_zones(svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """Availability zones and whether they are available."""
    zones = await hosts.list_zones(svc, ctx, detail=False)
    return reply(mv, {"availabilityZoneInfo": [views.zone(z, detail=False) for z in zones]})


@router.get(V21 + "/os-availability-zone/detail")
async def list_zones_detail(svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """Availability zones with their hosts and services (admin)."""
    zones = await hosts.list_zones(svc, ctx, detail=True)
    return reply(mv, {"availabilityZoneInfo": [views.zone(z, detail=True) for z in zones]})
