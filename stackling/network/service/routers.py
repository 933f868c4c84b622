"""Routers (router, ext-gw-mode, extraroute): gateways, interfaces and extra routes.

A router's gateway is a port on an external network and its interfaces are
ports on project subnets, each created here with the addresses IPAM gives
(an interface takes its subnet's gateway address, so two routers can never
both claim a subnet: the address's unique key refuses the second, 409).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.network import faults, policy
from stackling.network import models as m
from stackling.network.service import (
    addressing,
    ipam,
    l3_ports,
    listing,
    quota,
    revisions,
    scope,
    tags,
)
from stackling.network.service.core import NetworkService

OPTIONS = (selectinload(m.Router.routes), selectinload(m.Router.tags))
# Neutron's max_routes default.
MAX_ROUTES = 30

_UPDATABLE = {"name": "name", "description": "description", "admin_state_up": "admin_state_up"}

LISTING = listing.Listing(
    model=m.Router,
    columns={
        "id": m.Router.id,
        "name": m.Router.name,
        "admin_state_up": m.Router.admin_state_up,
        "status": m.Router.status,
        **listing.owned_columns(m.Router),
    },
    options=OPTIONS,
    not_found=faults.RouterNotFound,
)


@dataclass(frozen=True, slots=True)
class RouterRecord:
    """A router with the addresses of its gateway port (external_fixed_ips)."""

    row: m.Router
    gateway_ips: list[tuple[str, str]]

    @property
    def id(self) -> str:
        """The router's id."""
        return self.row.id


async def _records(s: AsyncSession, rows: list[m.Router]) -> list[RouterRecord]:
    held = await l3_ports.addresses(s, [r.gw_port_id for r in rows if r.gw_port_id])
    return [RouterRecord(r, held.get(r.gw_port_id, []) if r.gw_port_id else []) for r in rows]


async def _reload(s: AsyncSession, router_id: str) -> RouterRecord:
    query = select(m.Router).where(m.Router.id == router_id).options(*OPTIONS)
    row = (await s.execute(query.execution_options(populate_existing=True))).scalar_one()
    return (await _records(s, [row]))[0]


async def list_routers(
    svc: NetworkService, ctx: RequestContext, query: listing.ListQuery
) -> list[RouterRecord]:
    """The routers the caller may see that match `query`."""
    async with svc.db.session() as s:
        return await _records(s, await listing.fetch(s, ctx, LISTING, query))


async def show_router(svc: NetworkService, ctx: RequestContext, router_id: str) -> RouterRecord:
    """One router the caller may see."""
    async with svc.db.session() as s:
        row = await scope.load(s, ctx, m.Router, router_id, faults.RouterNotFound, options=OPTIONS)
        return (await _records(s, [row]))[0]


# -- gateway -----------------------------------------------------------------------


def _gateway_rules(
    ctx: RequestContext, action: str, info: dict[str, Any] | None, target: dict[str, Any]
) -> None:
    """ext-gw-mode's attribute rules: only admins choose SNAT or the gateway's addresses."""
    if not info:
        return
    given = ["external_gateway_info", *(f"external_gateway_info:{key}" for key in info)]
    policy.enforce_attributes(ctx, action, given, target)


async def _router_subnets(s: AsyncSession, router_id: str) -> list[tuple[str, str, str]]:
    """(port type, subnet_id, cidr) of every address the router's ports hold."""
    query = (
        select(m.RouterPort.port_type, m.Subnet.id, m.Subnet.cidr)
        .join(m.IPAllocation, m.IPAllocation.port_id == m.RouterPort.port_id)
        .join(m.Subnet, m.Subnet.id == m.IPAllocation.subnet_id)
        .where(m.RouterPort.router_id == router_id)
    )
    return [(kind, sid, cidr) for kind, sid, cidr in (await s.execute(query)).all()]


async def check_no_overlap(s: AsyncSession, router: m.Router, new: list[m.Subnet]) -> None:
    """400 when a subnet is already on the router or overlaps one that is (Neutron's words).

    As in Neutron, every subnet of the gateway's network counts, not only those
    the gateway port has an address on.
    """
    held = await _router_subnets(s, router.id)
    for _, sub_id, _ in held:
        if any(subnet.id == sub_id for subnet in new):
            raise faults.BadRequest("router", f"Router already has a port on subnet {sub_id}")
    taken = {(sub_id, cidr) for kind, sub_id, cidr in held if kind != l3_ports.ROUTER_GATEWAY}
    if router.gw_network_id is not None:
        rows = await s.execute(
            select(m.Subnet.id, m.Subnet.cidr).where(m.Subnet.network_id == router.gw_network_id)
        )
        taken |= {(sub_id, cidr) for sub_id, cidr in rows.all()}
    for sub_id, cidr in sorted(taken):
        for subnet in new:
            if addressing.overlaps(cidr, subnet.cidr):
                raise faults.BadRequest(
                    "router",
                    f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr {cidr} of "
                    f"subnet {sub_id}",
                )


async def _fips_use_router(s: AsyncSession, router_id: str) -> bool:
    found = await s.scalar(
        select(m.FloatingIP.id).where(m.FloatingIP.router_id == router_id).limit(1)
    )
    return found is not None


async def _clear_gateway(s: AsyncSession, router: m.Router) -> None:
    if router.gw_network_id is None:
        return
    if await _fips_use_router(s, router.id):
        raise faults.RouterExternalGatewayInUseByFloatingIp(router.id, router.gw_network_id)
    if router.gw_port_id is not None:
        await s.execute(delete(m.Port).where(m.Port.id == router.gw_port_id))
    router.gw_network_id = None
    router.gw_port_id = None
    router.enable_snat = True


async def _set_gateway(
    s: AsyncSession, svc: NetworkService, ctx: RequestContext, router: m.Router, info: Any
) -> None:
    """Make `info` the router's gateway: create, move, readdress or (empty) remove it."""
    if not info:
        await _clear_gateway(s, router)
        return
    net = await scope.load(
        s, ctx, m.Network, info["network_id"], faults.NetworkNotFound, for_share=True
    )
    if not net.external:
        raise faults.BadRequest("router", f"Network {net.id} is not an external network")
    asked = ipam.wants(info["external_fixed_ips"]) if "external_fixed_ips" in info else None
    subnets = await ipam.subnets_of(s, net.id)
    if router.gw_network_id == net.id and router.gw_port_id is not None:
        if asked is not None:
            port = await s.get_one(
                m.Port, router.gw_port_id, options=[selectinload(m.Port.fixed_ips)]
            )
            await ipam.release(s, port, set())
            await s.flush()
            await ipam.allocate(s, port, subnets, asked)
    else:
        await _clear_gateway(s, router)
        await check_no_overlap(s, router, subnets)
        port = await l3_ports.create(
            s, svc, net, project_id="", owner=l3_ports.ROUTER_GATEWAY, device_id=router.id,
            subnets=subnets, asked=asked,
        )  # fmt: skip
        s.add(m.RouterPort(router_id=router.id, port_id=port.id, port_type=l3_ports.ROUTER_GATEWAY))
        router.gw_network_id = net.id
        router.gw_port_id = port.id
    router.enable_snat = info.get("enable_snat", True)
    await s.flush()


# -- extra routes ------------------------------------------------------------------


async def _replace_routes(s: AsyncSession, router: m.Router, routes: list[dict[str, str]]) -> bool:
    """Check (extraroute's rules) and store the router's routes; whether they changed."""
    if len(routes) > MAX_ROUTES:
        raise faults.RoutesExhausted(router.id, MAX_ROUTES)
    held = await _router_subnets(s, router.id)
    cidrs = [addressing.network(cidr) for _, _, cidr in held]
    own = set(
        await s.scalars(
            select(m.IPAllocation.ip_address)
            .join(m.RouterPort, m.RouterPort.port_id == m.IPAllocation.port_id)
            .where(m.RouterPort.router_id == router.id)
        )
    )
    wanted = []
    for route in routes:
        destination = str(addressing.network(route["destination"]))
        hop = addressing.address(route["nexthop"])
        if not any(hop.version == c.version and hop in c for c in cidrs):
            raise faults.InvalidRoutes(routes, "the nexthop is not connected with router")
        if str(hop) in own:
            raise faults.InvalidRoutes(routes, "the nexthop is used by router")
        wanted.append((destination, str(hop)))
    if sorted(set(wanted)) == sorted((r.destination, r.nexthop) for r in router.routes):
        return False
    await s.execute(delete(m.RouterRoute).where(m.RouterRoute.router_id == router.id))
    s.add_all(m.RouterRoute(router_id=router.id, destination=d, nexthop=n) for d, n in set(wanted))
    return True


async def change_extraroutes(
    svc: NetworkService,
    ctx: RequestContext,
    router_id: str,
    routes: list[dict[str, str]],
    *,
    add: bool,
) -> RouterRecord:
    """Add routes to, or remove them from, the router's set in one step (extraroute-atomic)."""
    action = "add_extraroutes" if add else "remove_extraroutes"

    async def _change(s: AsyncSession) -> RouterRecord:
        router = await scope.load(
            s, ctx, m.Router, router_id, faults.RouterNotFound, options=OPTIONS, for_update=True
        )
        policy.enforce(ctx, action, {"project_id": router.project_id})
        current = [(r.destination, r.nexthop) for r in router.routes]
        given = [
            (str(addressing.network(r["destination"])), str(addressing.address(r["nexthop"])))
            for r in routes
        ]
        if add:
            new = current + [g for g in dict.fromkeys(given) if g not in current]
        else:
            new = [c for c in current if c not in given]
        wanted = [{"destination": d, "nexthop": n} for d, n in new]
        if await _replace_routes(s, router, wanted):
            revisions.bump(router)
        await s.flush()
        return await _reload(s, router.id)

    record = await svc.tx(_change)
    await svc.notify_data_plane("router", record.id, "updated")
    return record


# -- create, update, delete --------------------------------------------------------


async def create_router(
    svc: NetworkService, ctx: RequestContext, body: dict[str, Any]
) -> RouterRecord:
    """A new router, with its gateway when external_gateway_info names one."""
    project_id = body["project_id"]
    target = {"project_id": project_id}
    policy.enforce(ctx, "create_router", target)
    info = body.get("external_gateway_info")
    _gateway_rules(ctx, "create_router", info, target)

    async def _create(s: AsyncSession) -> RouterRecord:
        await quota.reserve(s, svc.conf, project_id, {"router": 1})
        router = m.Router(
            id=new_uuid(),
            project_id=project_id,
            name=body.get("name", ""),
            description=body.get("description", ""),
            admin_state_up=body.get("admin_state_up", True),
        )
        s.add(router)
        await s.flush()
        if info:
            await _set_gateway(s, svc, ctx, router, info)
        return await _reload(s, router.id)

    record = await svc.tx(_create)
    await svc.notify_data_plane("router", record.id, "created")
    return record


async def update_router(
    svc: NetworkService,
    ctx: RequestContext,
    router_id: str,
    body: dict[str, Any],
    revision: int | None = None,
) -> RouterRecord:
    """Change a router: its attributes, its gateway, its extra routes."""

    async def _update(s: AsyncSession) -> RouterRecord:
        router = await scope.load(
            s, ctx, m.Router, router_id, faults.RouterNotFound, options=OPTIONS, for_update=True
        )
        target = {"project_id": router.project_id}
        policy.enforce(ctx, "update_router", target)
        revisions.check(router, revision)
        changed = revisions.apply(router, body, _UPDATABLE)
        if "external_gateway_info" in body:
            info = body["external_gateway_info"]
            _gateway_rules(ctx, "update_router", info, target)
            before = (router.gw_network_id, router.gw_port_id, router.enable_snat)
            await _set_gateway(s, svc, ctx, router, info)
            changed |= before != (router.gw_network_id, router.gw_port_id, router.enable_snat)
            changed |= bool(info and "external_fixed_ips" in info)
        if "routes" in body:
            changed |= await _replace_routes(s, router, body["routes"])
        if changed:
            revisions.bump(router)
        await s.flush()
        return await _reload(s, router.id)

    record = await svc.tx(_update)
    await svc.notify_data_plane("router", record.id, "updated")
    return record


async def delete_router(
    svc: NetworkService, ctx: RequestContext, router_id: str, revision: int | None = None
) -> None:
    """Delete a router and its gateway port; 409 RouterInUse while it has interfaces."""

    async def _delete(s: AsyncSession) -> None:
        router = await scope.load(
            s, ctx, m.Router, router_id, faults.RouterNotFound, for_update=True
        )
        policy.enforce(ctx, "delete_router", {"project_id": router.project_id})
        revisions.check(router, revision)
        interface = list(
            await s.scalars(
                select(m.RouterPort.port_id).where(
                    m.RouterPort.router_id == router.id,
                    m.RouterPort.port_type == l3_ports.ROUTER_INTERFACE,
                )
            )
        )
        if interface:
            raise faults.RouterInUse(router.id, "has ports still attached: " + ", ".join(interface))
        await _clear_gateway(s, router)
        await s.flush()
        await tags.forget(s, "routers", [router.id])
        await s.execute(delete(m.Router).where(m.Router.id == router.id))

    await svc.tx(_delete)
    await svc.notify_data_plane("router", router_id, "deleted")
