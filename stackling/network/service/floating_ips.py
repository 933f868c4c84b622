"""Floating IPs: an address of an external network, mapped to a port's fixed address.

The address is held by a `network:floatingip` port on the external network,
allocated through IPAM like any other, so the address's unique key decides
races and an exhausted network answers IpAddressGenerationFailure (409).
Association needs a router joining the port's subnet to the external network;
whether the mapping is live (status ACTIVE) is the data plane's to report.
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

OPTIONS = (selectinload(m.FloatingIP.tags),)

_UPDATABLE = {"description": "description"}

LISTING = listing.Listing(
    model=m.FloatingIP,
    columns={
        "id": m.FloatingIP.id,
        "floating_ip_address": m.FloatingIP.floating_ip_address,
        "floating_network_id": m.FloatingIP.floating_network_id,
        "router_id": m.FloatingIP.router_id,
        "port_id": m.FloatingIP.fixed_port_id,
        "fixed_ip_address": m.FloatingIP.fixed_ip_address,
        "status": m.FloatingIP.status,
        **listing.owned_columns(m.FloatingIP),
    },
    options=OPTIONS,
    not_found=faults.FloatingIPNotFound,
)


@dataclass(frozen=True, slots=True)
class FloatingIPRecord:
    """A floating IP with the port it maps to, if any (fip-port-details)."""

    row: m.FloatingIP
    port: m.Port | None

    @property
    def id(self) -> str:
        """The floating IP's id."""
        return self.row.id


async def _records(s: AsyncSession, rows: list[m.FloatingIP]) -> list[FloatingIPRecord]:
    wanted = {r.fixed_port_id for r in rows if r.fixed_port_id}
    ports: dict[str, m.Port] = {}
    if wanted:
        ports = {p.id: p for p in await s.scalars(select(m.Port).where(m.Port.id.in_(wanted)))}
    return [
        FloatingIPRecord(r, ports.get(r.fixed_port_id) if r.fixed_port_id else None) for r in rows
    ]


async def _reload(s: AsyncSession, fip_id: str) -> FloatingIPRecord:
    query = select(m.FloatingIP).where(m.FloatingIP.id == fip_id).options(*OPTIONS)
    row = (await s.execute(query.execution_options(populate_existing=True))).scalar_one()
    return (await _records(s, [row]))[0]


async def list_floatingips(
    svc: NetworkService, ctx: RequestContext, query: listing.ListQuery
) -> list[FloatingIPRecord]:
    """The floating IPs the caller may see that match `query`."""
    async with svc.db.session() as s:
        return await _records(s, await listing.fetch(s, ctx, LISTING, query))


async def show_floatingip(
    svc: NetworkService, ctx: RequestContext, fip_id: str
) -> FloatingIPRecord:
    """One floating IP the caller may see."""
    async with svc.db.session() as s:
        row = await scope.load(
            s, ctx, m.FloatingIP, fip_id, faults.FloatingIPNotFound, options=OPTIONS
        )
        return (await _records(s, [row]))[0]


# -- association -------------------------------------------------------------------


def _fixed_address(port: m.Port, asked: str | None) -> tuple[str, str]:
    """(subnet_id, address) of the port the floating IP maps to (an IPv4 one)."""
    if asked is not None:
        if addressing.address(asked).version != 4:
            raise faults.BadRequest(
                "floatingip",
                f"Cannot process floating IP association with {asked}, since that is not an "
                "IPv4 address",
            )
        wanted = str(addressing.address(asked))
        for alloc in port.fixed_ips:
            if alloc.ip_address == wanted:
                return alloc.subnet_id, alloc.ip_address
        raise faults.BadRequest("floatingip", f"Port {port.id} does not have fixed ip {asked}")
    v4 = [a for a in port.fixed_ips if addressing.address(a.ip_address).version == 4]
    if not v4:
        raise faults.BadRequest(
            "floatingip",
            f"Cannot add floating IP to port {port.id} that has no fixed IPv4 addresses",
        )
    if len(v4) > 1:
        raise faults.BadRequest(
            "floatingip",
            f"Port {port.id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 "
            "address when assigning a floating IP",
        )
    return v4[0].subnet_id, v4[0].ip_address


async def _router_for(s: AsyncSession, fip: m.FloatingIP, subnet_id: str, port: m.Port) -> str:
    """The router joining the port's subnet to the floating IP's network.

    As Neutron: among routers with a gateway there and an interface on the
    subnet, the one holding the subnet's gateway address, else the first.
    Looked up across projects, since an admin's router may serve a project.
    """
    gateway_ip = await s.scalar(select(m.Subnet.gateway_ip).where(m.Subnet.id == subnet_id))
    rows = await s.execute(
        select(m.Router.id, m.IPAllocation.ip_address)
        .join(m.RouterPort, m.RouterPort.router_id == m.Router.id)
        .join(m.IPAllocation, m.IPAllocation.port_id == m.RouterPort.port_id)
        .where(
            m.Router.gw_network_id == fip.floating_network_id,
            m.RouterPort.port_type == l3_ports.ROUTER_INTERFACE,
            m.IPAllocation.subnet_id == subnet_id,
        )
        .order_by(m.Router.created_at, m.Router.id)
        # Share-locked: the router's gateway or interface cannot go while this maps to it.
        .with_for_update(read=True, of=m.Router)
    )
    found = rows.all()
    for router_id, address in found:
        if address == gateway_ip:
            return router_id
    if found:
        return found[0][0]
    raise faults.ExternalGatewayForFloatingIPNotFound(fip.floating_network_id, subnet_id, port.id)


async def _associate(
    s: AsyncSession, ctx: RequestContext, fip: m.FloatingIP, port_id: str, fixed: str | None
) -> None:
    """Map the floating IP to a port's fixed address (409 when it already has one)."""
    # Locked, so that two floating IPs racing for one fixed address are decided in turn.
    port = await scope.load(
        s, ctx, m.Port, port_id, faults.PortNotFound,
        options=(selectinload(m.Port.fixed_ips),), for_update=True,
    )  # fmt: skip
    if not ctx.is_admin and port.project_id != fip.project_id:
        raise faults.BadRequest(
            "floatingip",
            f"Cannot process floating IP association with Port {port.id}, since that port is "
            "owned by a different tenant",
        )
    # Ports of network services (DHCP, routers, floating IPs) get no floating IP.
    if port.device_owner.startswith("network:"):
        raise faults.BadRequest(
            "floatingip", f"Port {port.id} is unable to be assigned a floating IP"
        )
    subnet_id, address = _fixed_address(port, fixed)
    if port.id != fip.fixed_port_id:
        other = await s.scalar(
            select(m.FloatingIP.id).where(
                m.FloatingIP.fixed_port_id == port.id,
                m.FloatingIP.fixed_ip_address == address,
                m.FloatingIP.floating_network_id == fip.floating_network_id,
                m.FloatingIP.id != fip.id,
            )
        )
        if other is not None:
            raise faults.FloatingIPPortAlreadyAssociated(
                fip.floating_ip_address, fip.id, port.id, address, fip.floating_network_id
            )
    router_id = await _router_for(s, fip, subnet_id, port)
    fip.last_known_router_id = fip.router_id
    fip.fixed_port_id = port.id
    fip.fixed_ip_address = address
    fip.router_id = router_id


def _disassociate(fip: m.FloatingIP) -> bool:
    if fip.fixed_port_id is None and fip.router_id is None:
        return False
    fip.last_known_router_id = fip.router_id
    fip.fixed_port_id = None
    fip.fixed_ip_address = None
    fip.router_id = None
    return True


# -- create, update, delete --------------------------------------------------------


async def _address_port(
    s: AsyncSession, svc: NetworkService, net: m.Network, fip_id: str, body: dict[str, Any]
) -> m.Port:
    """The floating IP's port on the external network, holding one IPv4 address."""
    subnets = await ipam.subnets_of(s, net.id)
    subnet_id, address = body.get("subnet_id"), body.get("floating_ip_address")
    if subnet_id is not None and all(sub.id != subnet_id for sub in subnets):
        raise faults.BadRequest(
            "floatingip", f"Subnet {subnet_id} does not belong to network {net.id}"
        )
    if all(sub.ip_version != 4 for sub in subnets):
        raise faults.BadRequest("floatingip", f"Network {net.id} does not contain any IPv4 subnet")
    asked: list[ipam.Want] | None = None
    if subnet_id is not None or address is not None:
        asked = ipam.wants([{"subnet_id": subnet_id, "ip_address": address}])
    else:
        # Only IPv4 subnets give floating addresses.
        subnets = [sub for sub in subnets if sub.ip_version == 4]
    return await l3_ports.create(
        s, svc, net, project_id="", owner=l3_ports.FLOATINGIP, device_id=fip_id,
        subnets=subnets, asked=asked,
    )  # fmt: skip


async def create_floatingip(
    svc: NetworkService, ctx: RequestContext, body: dict[str, Any]
) -> FloatingIPRecord:
    """A new floating IP on an external network, associated when a port is named."""
    project_id = body["project_id"]
    policy.enforce(ctx, "create_floatingip", {"project_id": project_id})
    if body.get("fixed_ip_address") and not body.get("port_id"):
        raise faults.BadRequest(
            "floatingip", "fixed_ip_address cannot be specified without a port_id"
        )

    async def _create(s: AsyncSession) -> FloatingIPRecord:
        net = await scope.load(
            s, ctx, m.Network, body["floating_network_id"], faults.NetworkNotFound,
            for_share=True,
        )  # fmt: skip
        if not net.external:
            raise faults.BadRequest(
                "floatingip", f"Network {net.id} is not a valid external network"
            )
        await quota.reserve(s, svc.conf, project_id, {"floatingip": 1})
        fip_id = new_uuid()
        port = await _address_port(s, svc, net, fip_id, body)
        v4 = [a.ip_address for a in port.fixed_ips if addressing.address(a.ip_address).version == 4]
        if not v4:
            raise faults.ExternalIpAddressExhausted(net.id)
        fip = m.FloatingIP(
            id=fip_id,
            project_id=project_id,
            description=body.get("description", ""),
            floating_network_id=net.id,
            floating_port_id=port.id,
            floating_ip_address=v4[0],
            status="DOWN",
        )
        s.add(fip)
        await s.flush()
        if body.get("port_id"):
            await _associate(s, ctx, fip, body["port_id"], body.get("fixed_ip_address"))
            await s.flush()
        return await _reload(s, fip.id)

    fip = await svc.tx(_create)
    await svc.notify_data_plane("floatingip", fip.id, "created")
    await svc.notify_servers([fip.row.fixed_port_id])
    return fip


async def update_floatingip(
    svc: NetworkService,
    ctx: RequestContext,
    fip_id: str,
    body: dict[str, Any],
    revision: int | None = None,
) -> FloatingIPRecord:
    """Associate (port_id), disassociate (port_id null) or describe a floating IP."""

    async def _update(s: AsyncSession) -> FloatingIPRecord:
        fip = await scope.load(
            s, ctx, m.FloatingIP, fip_id, faults.FloatingIPNotFound, options=OPTIONS,
            for_update=True,
        )  # fmt: skip
        policy.enforce(ctx, "update_floatingip", {"project_id": fip.project_id})
        revisions.check(fip, revision)
        changed = revisions.apply(fip, body, _UPDATABLE)
        if "port_id" in body:
            before = (fip.fixed_port_id, fip.fixed_ip_address, fip.router_id)
            touched.append(fip.fixed_port_id)
            if body["port_id"]:
                await _associate(s, ctx, fip, body["port_id"], body.get("fixed_ip_address"))
            else:
                _disassociate(fip)
            changed |= before != (fip.fixed_port_id, fip.fixed_ip_address, fip.router_id)
        elif body.get("fixed_ip_address"):
            raise faults.BadRequest(
                "floatingip", "fixed_ip_address cannot be specified without a port_id"
            )
        if changed:
            revisions.bump(fip)
        await s.flush()
        return await _reload(s, fip.id)

    touched: list[str | None] = []
    fip = await svc.tx(_update)
    await svc.notify_data_plane("floatingip", fip.id, "updated")
    await svc.notify_servers([*touched, fip.row.fixed_port_id])
    return fip


async def delete_floatingip(
    svc: NetworkService, ctx: RequestContext, fip_id: str, revision: int | None = None
) -> None:
    """Delete a floating IP; its address goes back to the external network."""

    async def _delete(s: AsyncSession) -> str | None:
        fip = await scope.load(
            s, ctx, m.FloatingIP, fip_id, faults.FloatingIPNotFound, for_update=True
        )
        policy.enforce(ctx, "delete_floatingip", {"project_id": fip.project_id})
        revisions.check(fip, revision)
        port_id = fip.floating_port_id
        await tags.forget(s, "floatingips", [fip.id])
        await s.execute(delete(m.FloatingIP).where(m.FloatingIP.id == fip.id))
        await s.execute(delete(m.Port).where(m.Port.id == port_id))
        return fip.fixed_port_id

    mapped_to = await svc.tx(_delete)
    await svc.notify_data_plane("floatingip", fip_id, "deleted")
    await svc.notify_servers([mapped_to])


async def disassociate_port(s: AsyncSession, port_id: str) -> list[str]:
    """Unmap every floating IP from a port that is going away; their ids."""
    fips = list(
        await s.scalars(
            select(m.FloatingIP).where(m.FloatingIP.fixed_port_id == port_id).with_for_update()
        )
    )
    for fip in fips:
        if _disassociate(fip):
            revisions.bump(fip)
    await s.flush()
    return [fip.id for fip in fips]


async def check_fixed_ips_change(s: AsyncSession, port_id: str, fixed_ips: list[Any]) -> None:
    """400 when a port's new fixed_ips drop the address a floating IP maps to (as Neutron)."""
    mapped = await s.scalar(
        select(m.FloatingIP.fixed_ip_address).where(
            m.FloatingIP.fixed_port_id == port_id, m.FloatingIP.fixed_ip_address.is_not(None)
        )
    )
    if mapped is None:
        return
    for entry in fixed_ips:
        address = entry.get("ip_address")
        if address is not None and str(addressing.address(address)) == mapped:
            return
    raise faults.BadRequest(
        "port",
        f"Cannot update the fixed_ips of the port {port_id}, because its original fixed_ip has "
        "been associated to a floating ip",
    )
