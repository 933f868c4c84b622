"""Ports the L3 service owns: router interfaces, router gateways, floating IP addresses.

These ports are created and deleted by the router and floating IP services,
never through the port API (deleting one there is ServicePortInUse, 409, as
in Neutron), and they are not counted against the port quota when created.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.common.ids import new_uuid
from stackling.network import faults
from stackling.network import models as m
from stackling.network.service import ipam, macs
from stackling.network.service.core import NetworkService

ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
FLOATINGIP = "network:floatingip"
OWNERS = (ROUTER_INTERFACE, ROUTER_GATEWAY, FLOATINGIP)
_MAC_ATTEMPTS = 16


async def create(
    s: AsyncSession,
    svc: NetworkService,
    net: m.Network,
    *,
    project_id: str,
    owner: str,
    device_id: str,
    subnets: list[m.Subnet],
    asked: list[ipam.Want] | None,
) -> m.Port:
    """A new port of the L3 service on `net`, holding the asked (or default) addresses."""
    port = m.Port(
        id=new_uuid(),
        project_id=project_id,
        network_id=net.id,
        name="",
        description="",
        admin_state_up=True,
        device_id=device_id,
        device_owner=owner,
        port_security_enabled=net.port_security_enabled,
    )
    for _ in range(_MAC_ATTEMPTS):
        port.mac_address = macs.random_mac(svc.conf.base_mac)
        try:
            async with s.begin_nested():
                s.add(port)
                await s.flush()
            break
        except IntegrityError:
            continue
    else:
        raise faults.NetworkMacAddressGenerationFailure(net.id)
    await ipam.allocate(s, port, subnets, asked)
    await s.flush()
    query = select(m.Port).where(m.Port.id == port.id).options(selectinload(m.Port.fixed_ips))
    return (await s.execute(query.execution_options(populate_existing=True))).scalar_one()


async def addresses(s: AsyncSession, port_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The (subnet_id, ip_address) pairs each port holds, in allocation order."""
    out: dict[str, list[tuple[str, str]]] = {port_id: [] for port_id in port_ids}
    if not port_ids:
        return out
    rows = await s.execute(
        select(m.IPAllocation.port_id, m.IPAllocation.subnet_id, m.IPAllocation.ip_address)
        .where(m.IPAllocation.port_id.in_(port_ids))
        .order_by(m.IPAllocation.id)
    )
    for port_id, subnet_id, address in rows:
        out[port_id].append((subnet_id, address))
    return out


async def deletion_refused(s: AsyncSession, port: m.Port) -> None:
    """ServicePortInUse (409) for a port that a router or floating IP still owns.

    As Neutron, a port whose owning router or floating IP is gone may be deleted.
    """
    if port.device_owner not in OWNERS:
        return
    if port.device_owner == FLOATINGIP:
        owned = await s.scalar(
            select(m.FloatingIP.id).where(m.FloatingIP.floating_port_id == port.id)
        )
    else:
        owned = await s.scalar(
            select(m.RouterPort.router_id).where(m.RouterPort.port_id == port.id)
        )
    if owned is not None:
        raise faults.ServicePortInUse(port.id, f"has device owner {port.device_owner}")
