"""Subnets: an IP range on a network, given directly or carved from a subnet pool."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.network import faults, policy
from stackling.network import models as m
from stackling.network.service import (
    addressing,
    listing,
    quota,
    revisions,
    scope,
    subnetpools,
    tags,
)
from stackling.network.service import subnet_checks as checks
from stackling.network.service.core import NetworkService
from stackling.network.service.networks import AUTO_DELETE_OWNERS

OPTIONS = (
    selectinload(m.Subnet.allocation_pools),
    selectinload(m.Subnet.dns_nameservers),
    selectinload(m.Subnet.host_routes),
    selectinload(m.Subnet.tags),
)

_UPDATABLE = {
    "name": "name",
    "description": "description",
    "enable_dhcp": "enable_dhcp",
}

LISTING = listing.Listing(
    model=m.Subnet,
    columns={
        "id": m.Subnet.id,
        "name": m.Subnet.name,
        "ip_version": m.Subnet.ip_version,
        "network_id": m.Subnet.network_id,
        "subnetpool_id": m.Subnet.subnetpool_id,
        "cidr": m.Subnet.cidr,
        "gateway_ip": m.Subnet.gateway_ip,
        **listing.owned_columns(m.Subnet),
        "enable_dhcp": m.Subnet.enable_dhcp,
        "ipv6_ra_mode": m.Subnet.ipv6_ra_mode,
        "ipv6_address_mode": m.Subnet.ipv6_address_mode,
    },
    options=OPTIONS,
    not_found=faults.SubnetNotFound,
)


def network_target(net: m.Network, project_id: str) -> dict[str, Any]:
    """What policy needs to know about a resource on `net` owned by `project_id`."""
    return {
        "project_id": project_id,
        "network_project_id": net.project_id,
        "network_shared": net.shared,
    }


def check_network_open_to(ctx: RequestContext, net: m.Network, project_id: str) -> None:
    """404 for a port or subnet of one project on another's network that is not shared.

    An external network is visible to everyone but open only to its owner: as
    Neutron does, the caller is told the network is not there.
    """
    if not ctx.is_admin and not net.shared and net.project_id != project_id:
        raise errors.NotFound("The resource could not be found.")


async def _reload(s: AsyncSession, subnet_id: str) -> m.Subnet:
    query = select(m.Subnet).where(m.Subnet.id == subnet_id).options(*OPTIONS)
    return (await s.execute(query.execution_options(populate_existing=True))).scalar_one()


async def list_subnets(
    svc: NetworkService, ctx: RequestContext, query: listing.ListQuery
) -> list[m.Subnet]:
    """The subnets the caller may see that match `query`."""
    async with svc.db.session() as s:
        return await listing.fetch(s, ctx, LISTING, query)


async def show_subnet(svc: NetworkService, ctx: RequestContext, subnet_id: str) -> m.Subnet:
    """One subnet the caller may see."""
    async with svc.db.session() as s:
        return await scope.load(s, ctx, m.Subnet, subnet_id, faults.SubnetNotFound, options=OPTIONS)


async def _pool_for(
    s: AsyncSession, ctx: RequestContext, body: dict[str, Any]
) -> m.SubnetPool | None:
    """The subnet pool a create names (or its family's default), locked; None for none."""
    pool_id = body.get("subnetpool_id")
    if body.get("use_default_subnetpool"):
        if pool_id:
            raise faults.BadRequest(
                "subnets", "subnetpool_id and use_default_subnetpool cannot both be specified"
            )
        pool_id = (await subnetpools.default_pool(s, ctx, body["ip_version"])).id
    if not pool_id:
        return None
    pool = await scope.load(
        s, ctx, m.SubnetPool, pool_id, faults.SubnetPoolNotFound,
        options=(selectinload(m.SubnetPool.prefixes),), for_update=True,
    )  # fmt: skip
    if pool.ip_version != body["ip_version"]:
        raise faults.InvalidInput(
            f"Cannot allocate IPv{body['ip_version']} subnet from IPv{pool.ip_version} subnet pool"
        )
    return pool


async def _check_overlap(s: AsyncSession, net: m.Network, cidr: str) -> None:
    existing = await s.scalars(select(m.Subnet.cidr).where(m.Subnet.network_id == net.id))
    for other in existing:
        if addressing.overlaps(other, cidr):
            raise faults.InvalidInput(
                f"Requested subnet with cidr: {cidr} for network: {net.id} overlaps with "
                "another subnet"
            )


async def create_subnet(svc: NetworkService, ctx: RequestContext, body: dict[str, Any]) -> m.Subnet:
    """A new subnet on a network the caller owns (or any network, for admins)."""
    project_id = body["project_id"]
    version = body["ip_version"]
    if body.get("cidr") is not None and body.get("prefixlen") is not None:
        raise faults.BadRequest("subnets", "cidr and prefixlen must not be supplied together")

    async def _create(s: AsyncSession) -> m.Subnet:
        # The network row lock serialises subnet changes on it (overlap checks).
        net = await scope.load(
            s, ctx, m.Network, body["network_id"], faults.NetworkNotFound, for_update=True
        )
        check_network_open_to(ctx, net, project_id)
        policy.enforce(ctx, "create_subnet", network_target(net, project_id))
        pool = await _pool_for(s, ctx, body)
        text = body.get("cidr")
        if pool is None and text is None:
            raise faults.BadRequest(
                "subnets", "A cidr must be specified in the absence of a subnet pool"
            )
        if pool is not None:
            if text is not None:
                checks.matches_version(version, text, "cidr")
            text = await subnetpools.allocate(
                s, pool, project_id, cidr=text, prefixlen=body.get("prefixlen")
            )
        assert text is not None
        net_prefix = checks.cidr(version, text, body.get("enable_dhcp", True))
        cidr = str(net_prefix)
        checks.ipv6_modes(version, body, net_prefix)
        gateway = checks.gateway(net_prefix, body, version)
        pools = checks.pools(net_prefix, body, gateway)
        servers = body.get("dns_nameservers") or []
        checks.nameservers(svc.conf, version, servers, "new subnet")
        routes = checks.host_routes(svc.conf, version, body.get("host_routes") or [], "new subnet")
        await _check_overlap(s, net, cidr)
        await quota.reserve(s, svc.conf, project_id, {"subnet": 1})
        subnet = m.Subnet(
            id=new_uuid(),
            project_id=project_id,
            network_id=net.id,
            name=body.get("name", ""),
            description=body.get("description", ""),
            ip_version=version,
            cidr=cidr,
            gateway_ip=str(gateway) if gateway is not None else None,
            enable_dhcp=body.get("enable_dhcp", True),
            ipv6_ra_mode=body.get("ipv6_ra_mode"),
            ipv6_address_mode=body.get("ipv6_address_mode"),
            subnetpool_id=pool.id if pool is not None else None,
        )
        s.add(subnet)
        await s.flush()
        _store_children(s, subnet.id, pools, servers, routes)
        revisions.bump(net)
        return await _reload(s, subnet.id)

    subnet = await svc.tx(_create)
    await svc.notify_data_plane("subnet", subnet.id, "created")
    return subnet


def _store_children(
    s: AsyncSession,
    subnet_id: str,
    pools: list[addressing.Pool] | None,
    servers: list[str] | None,
    routes: list[dict[str, str]] | None,
) -> None:
    if pools is not None:
        s.add_all(
            m.AllocationPool(subnet_id=subnet_id, first_ip=str(p.first), last_ip=str(p.last))
            for p in pools
        )
    if servers is not None:
        s.add_all(
            m.DnsNameserver(subnet_id=subnet_id, address=address, position=n)
            for n, address in enumerate(servers)
        )
    if routes is not None:
        s.add_all(
            m.HostRoute(subnet_id=subnet_id, destination=r["destination"], nexthop=r["nexthop"])
            for r in routes
        )


async def _gateway_holder(s: AsyncSession, subnet: m.Subnet) -> str | None:
    """The port holding the subnet's current gateway address, if any."""
    if subnet.gateway_ip is None:
        return None
    return await s.scalar(
        select(m.IPAllocation.port_id).where(
            m.IPAllocation.subnet_id == subnet.id,
            m.IPAllocation.ip_address == subnet.gateway_ip,
        )
    )


async def update_subnet(
    svc: NetworkService,
    ctx: RequestContext,
    subnet_id: str,
    body: dict[str, Any],
    revision: int | None = None,
) -> m.Subnet:
    """Change a subnet: name, gateway, pools, DNS servers, routes, DHCP."""

    async def _update(s: AsyncSession) -> m.Subnet:
        subnet = await scope.load(
            s, ctx, m.Subnet, subnet_id, faults.SubnetNotFound, options=OPTIONS, for_update=True
        )
        net = await s.get_one(m.Network, subnet.network_id)
        policy.enforce(ctx, "update_subnet", network_target(net, subnet.project_id))
        revisions.check(subnet, revision)
        version = subnet.ip_version
        net_prefix = addressing.network(subnet.cidr)
        if body.get("enable_dhcp") and not subnet.enable_dhcp:
            checks.cidr(version, subnet.cidr, True)
        changed = revisions.apply(subnet, body, _UPDATABLE)
        gateway = addressing.address(subnet.gateway_ip) if subnet.gateway_ip else None
        if "gateway_ip" in body and body["gateway_ip"] != subnet.gateway_ip:
            holder = await _gateway_holder(s, subnet)
            if holder is not None:
                raise faults.GatewayIpInUse(subnet.gateway_ip or "", holder)
            gateway = checks.gateway(net_prefix, body, version)
            subnet.gateway_ip = str(gateway) if gateway is not None else None
            changed = True
        pools = None
        if "allocation_pools" in body:
            pools = checks.pools(net_prefix, body, gateway)
        elif "gateway_ip" in body:
            current = [
                addressing.Pool(addressing.address(p.first_ip), addressing.address(p.last_ip))
                for p in subnet.allocation_pools
            ]
            addressing.check_gateway_outside(gateway, current)
        servers = body.get("dns_nameservers")
        if servers is not None:
            checks.nameservers(svc.conf, version, servers, subnet.id)
        routes = body.get("host_routes")
        if routes is not None:
            routes = checks.host_routes(svc.conf, version, routes, subnet.id)
        where = m.AllocationPool.subnet_id == subnet.id
        if pools is not None:
            await s.execute(delete(m.AllocationPool).where(where))
        if servers is not None:
            await s.execute(delete(m.DnsNameserver).where(m.DnsNameserver.subnet_id == subnet.id))
        if routes is not None:
            await s.execute(delete(m.HostRoute).where(m.HostRoute.subnet_id == subnet.id))
        _store_children(s, subnet.id, pools, servers, routes)
        if changed or pools is not None or servers is not None or routes is not None:
            revisions.bump(subnet)
        await s.flush()
        return await _reload(s, subnet.id)

    subnet = await svc.tx(_update)
    await svc.notify_data_plane("subnet", subnet.id, "updated")
    return subnet


async def delete_subnet(
    svc: NetworkService, ctx: RequestContext, subnet_id: str, revision: int | None = None
) -> None:
    """Delete a subnet; 409 while ports other than DHCP ports hold its addresses."""

    async def _delete(s: AsyncSession) -> str:
        subnet = await scope.load(s, ctx, m.Subnet, subnet_id, faults.SubnetNotFound)
        net = await s.get_one(m.Network, subnet.network_id, with_for_update=True)
        policy.enforce(ctx, "delete_subnet", network_target(net, subnet.project_id))
        revisions.check(subnet, revision)
        holders = (
            await s.execute(
                select(m.IPAllocation.port_id, m.Port.device_owner)
                .join(m.Port, m.Port.id == m.IPAllocation.port_id)
                .where(m.IPAllocation.subnet_id == subnet.id)
            )
        ).all()
        if any(owner not in AUTO_DELETE_OWNERS for _, owner in holders):
            raise faults.SubnetInUse(subnet.id)
        await s.execute(delete(m.IPAllocation).where(m.IPAllocation.subnet_id == subnet.id))
        await tags.forget(s, "subnets", [subnet.id])
        await s.execute(delete(m.Subnet).where(m.Subnet.id == subnet.id))
        revisions.bump(net)
        return net.id

    await svc.tx(_delete)
    await svc.notify_data_plane("subnet", subnet_id, "deleted")
