"""Networks: created with their segment, updated, deleted with their DHCP ports and subnets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.network import faults, policy
from stackling.network import models as m
from stackling.network.service import listing, quota, revisions, scope, segments, tags
from stackling.network.service.core import NetworkService

# Ports the network removes by itself when it goes (Neutron's AUTO_DELETE_PORT_OWNERS).
AUTO_DELETE_OWNERS = ("network:dhcp", "network:distributed")
FLOATINGIP_OWNER = "network:floatingip"

OPTIONS = (
    selectinload(m.Network.segments),
    selectinload(m.Network.subnets),
    selectinload(m.Network.tags),
)

# API attribute -> column, for the attributes an update may change.
_UPDATABLE = {
    "name": "name",
    "description": "description",
    "admin_state_up": "admin_state_up",
    "shared": "shared",
    "router:external": "external",
    "mtu": "mtu",
    "port_security_enabled": "port_security_enabled",
}


class DefaultExternalNetworkExists(faults.NeutronFault, errors.Conflict):
    """is_default set on a second external network (auto-allocated-topology)."""

    def __init__(self, net_id: str) -> None:
        super().__init__(f"A default external network already exists: {net_id}.")


def _segment_clause(column: str) -> listing.Clause:
    def clause(wanted: list[Any]) -> ColumnElement[bool]:
        return exists().where(
            m.Segment.network_id == m.Network.id, getattr(m.Segment, column).in_(wanted)
        )

    return clause


LISTING = listing.Listing(
    model=m.Network,
    columns={
        "id": m.Network.id,
        "name": m.Network.name,
        "admin_state_up": m.Network.admin_state_up,
        "status": m.Network.status,
        **listing.owned_columns(m.Network),
        "shared": m.Network.shared,
        "router:external": m.Network.external,
        "is_default": m.Network.is_default,
        "mtu": m.Network.mtu,
        "port_security_enabled": m.Network.port_security_enabled,
    },
    clauses={
        "provider:network_type": _segment_clause("network_type"),
        "provider:physical_network": _segment_clause("physical_network"),
        "provider:segmentation_id": _segment_clause("segmentation_id"),
    },
    options=OPTIONS,
    not_found=faults.NetworkNotFound,
)


async def _check_single_default(s: AsyncSession, net_id: str) -> None:
    """409 when another network is the default external network already."""
    other = await s.scalar(
        select(m.Network.id)
        .where(m.Network.is_default.is_(True), m.Network.id != net_id)
        .order_by(m.Network.created_at, m.Network.id)
        .limit(1)
    )
    if other is not None:
        raise DefaultExternalNetworkExists(other)


async def _apply_is_default(s: AsyncSession, net: m.Network, body: dict[str, Any]) -> bool:
    """Set is_default as asked, as Neutron does; whether it changed.

    Only an external network can be the default one: on another network the
    attribute is ignored, and a network that stops being external stops being
    the default (Neutron keeps the flag on the external-network row it drops).
    """
    if not net.external:
        changed = bool(net.is_default)
        net.is_default = False
        return changed
    wanted = body.get("is_default")
    if wanted is None or wanted == net.is_default:
        return False
    if wanted:
        await _check_single_default(s, net.id)
    net.is_default = bool(wanted)
    return True


async def _reload(s: AsyncSession, net_id: str) -> m.Network:
    query = select(m.Network).where(m.Network.id == net_id).options(*OPTIONS)
    return (await s.execute(query.execution_options(populate_existing=True))).scalar_one()


async def list_networks(
    svc: NetworkService, ctx: RequestContext, query: listing.ListQuery
) -> list[m.Network]:
    """The networks the caller may see that match `query`."""
    async with svc.db.session() as s:
        return await listing.fetch(s, ctx, LISTING, query)


async def show_network(svc: NetworkService, ctx: RequestContext, net_id: str) -> m.Network:
    """One network the caller may see."""
    async with svc.db.session() as s:
        return await scope.load(s, ctx, m.Network, net_id, faults.NetworkNotFound, options=OPTIONS)


def _check_zones(svc: NetworkService, hints: list[str]) -> None:
    for zone in hints:
        if zone not in svc.conf.availability_zones:
            raise faults.AvailabilityZoneNotFound(zone)


def _mtu(svc: NetworkService, network_type: str, asked: int | None) -> int:
    limit = segments.max_mtu(svc.conf, network_type)
    if asked is None:
        return limit
    if asked > limit:
        raise faults.InvalidInput(f"Requested MTU is too big, maximum is {limit}")
    return asked


async def create_network(
    svc: NetworkService, ctx: RequestContext, body: dict[str, Any]
) -> m.Network:
    """A new network with its segment (a fresh VNI unless an admin chose the provider)."""
    project_id = body["project_id"]
    policy.enforce(ctx, "create_network", {"project_id": project_id})
    want = segments.requested(svc.conf, body)
    hints = body.get("availability_zone_hints") or []
    _check_zones(svc, hints)
    mtu = _mtu(svc, want.network_type, body.get("mtu"))

    async def _create(s: AsyncSession) -> m.Network:
        await quota.reserve(s, svc.conf, project_id, {"network": 1})
        net = m.Network(
            id=new_uuid(),
            project_id=project_id,
            name=body.get("name", ""),
            description=body.get("description", ""),
            admin_state_up=body.get("admin_state_up", True),
            shared=body.get("shared", False),
            external=body.get("router:external", False),
            mtu=mtu,
            port_security_enabled=body.get("port_security_enabled", True),
            availability_zone_hints=hints,
        )
        await _apply_is_default(s, net, body)
        s.add(net)
        await s.flush()
        await segments.create(s, svc.conf, net.id, want)
        return await _reload(s, net.id)

    net = await svc.tx(_create)
    await svc.notify_data_plane("network", net.id, "created")
    return net


async def _others_use(s: AsyncSession, net: m.Network) -> bool:
    """Whether ports of other projects are on the network (it cannot stop being shared)."""
    found = await s.scalar(
        select(m.Port.id)
        .where(m.Port.network_id == net.id, m.Port.project_id != net.project_id)
        .limit(1)
    )
    return found is not None


async def _has_gateways(s: AsyncSession, net: m.Network) -> bool:
    """Whether a router has its gateway on the network."""
    found = await s.scalar(select(m.Router.id).where(m.Router.gw_network_id == net.id).limit(1))
    return found is not None


async def update_network(
    svc: NetworkService,
    ctx: RequestContext,
    net_id: str,
    body: dict[str, Any],
    revision: int | None = None,
) -> m.Network:
    """Change a network's attributes."""

    async def _update(s: AsyncSession) -> m.Network:
        net = await scope.load(
            s, ctx, m.Network, net_id, faults.NetworkNotFound, options=OPTIONS, for_update=True
        )
        policy.enforce(ctx, "update_network", {"project_id": net.project_id})
        revisions.check(net, revision)
        if "mtu" in body:
            body["mtu"] = _mtu(svc, net.segments[0].network_type, body["mtu"])
        if body.get("shared") is False and net.shared and await _others_use(s, net):
            raise faults.InvalidSharedSetting(net.id)
        # L3: a network routers have their gateway on stays external (as Neutron).
        if body.get("router:external") is False and net.external and await _has_gateways(s, net):
            raise faults.ExternalNetworkInUse(net.id)
        changed = revisions.apply(net, body, _UPDATABLE)
        if await _apply_is_default(s, net, body) or changed:
            revisions.bump(net)
        await s.flush()
        return await _reload(s, net.id)

    net = await svc.tx(_update)
    await svc.notify_data_plane("network", net.id, "updated")
    return net


async def delete_network(
    svc: NetworkService, ctx: RequestContext, net_id: str, revision: int | None = None
) -> None:
    """Delete a network and its subnets; 409 while ports other than DHCP ports remain."""

    async def _delete(s: AsyncSession) -> list[tuple[str, str | None]]:
        net = await scope.load(s, ctx, m.Network, net_id, faults.NetworkNotFound, for_update=True)
        policy.enforce(ctx, "delete_network", {"project_id": net.project_id})
        revisions.check(net, revision)
        ports = (
            await s.execute(
                select(m.Port.id, m.Port.device_owner).where(m.Port.network_id == net.id)
            )
        ).all()
        # Floating IPs of an external network go with it, as Neutron deletes them.
        owners = (*AUTO_DELETE_OWNERS, FLOATINGIP_OWNER)
        if any(owner not in owners for _, owner in ports):
            raise faults.NetworkInUse(net.id)
        fips = (
            await s.execute(
                select(m.FloatingIP.id, m.FloatingIP.fixed_port_id).where(
                    m.FloatingIP.floating_network_id == net.id
                )
            )
        ).all()
        if fips:
            await tags.forget(s, "floatingips", [f for f, _ in fips])
            await s.execute(delete(m.FloatingIP).where(m.FloatingIP.floating_network_id == net.id))
        port_ids = [port_id for port_id, _ in ports]
        subnet_ids = list(await s.scalars(select(m.Subnet.id).where(m.Subnet.network_id == net.id)))
        await s.execute(delete(m.Port).where(m.Port.network_id == net.id))
        await s.execute(delete(m.Subnet).where(m.Subnet.network_id == net.id))
        await tags.forget(s, "ports", port_ids)
        await tags.forget(s, "subnets", subnet_ids)
        await tags.forget(s, "networks", [net.id])
        await s.execute(delete(m.Network).where(m.Network.id == net.id))
        return [(f, port) for f, port in fips]

    fips = await svc.tx(_delete)
    await svc.notify_data_plane("network", net_id, "deleted")
    for fip_id, _ in fips:
        await svc.notify_data_plane("floatingip", fip_id, "deleted")
    await svc.notify_servers([port for _, port in fips])
