"""IP address management: which addresses a port gets, without ever giving one out twice.

An address is allocated by inserting its row; UNIQUE(network_id, ip_address)
is what guarantees no two ports share it, whatever else runs concurrently.
The lowest free address of the subnet's pools is tried first; an insert that
loses a race (the constraint refuses it inside a savepoint) is retried with
the addresses free at that moment, and a subnet whose pools are used up is
IpAddressGenerationFailure (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.network import faults
from stackling.network import models as m
from stackling.network.service import addressing
from stackling.network.service.subnet_checks import SLAAC_MODES

# Tries per address before giving up on a subnet that others keep filling.
_ATTEMPTS = 16


@dataclass(frozen=True, slots=True)
class Want:
    """One fixed IP a port asks for: a subnet, an address, or both."""

    subnet_id: str | None = None
    ip_address: str | None = None


def is_auto_address(subnet: m.Subnet) -> bool:
    """Whether addresses on the subnet come from SLAAC (derived from the MAC)."""
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in SLAAC_MODES


def wants(fixed_ips: list[dict[str, Any]]) -> list[Want]:
    """The request's fixed_ips as wants, addresses normalised."""
    out = []
    for entry in fixed_ips:
        address = entry.get("ip_address")
        if address is not None:
            address = str(addressing.address(address))
        out.append(Want(entry.get("subnet_id"), address))
    return out


async def subnets_of(s: AsyncSession, network_id: str) -> list[m.Subnet]:
    """The network's subnets with their pools, oldest first."""
    rows = await s.scalars(
        select(m.Subnet)
        .where(m.Subnet.network_id == network_id)
        .options(selectinload(m.Subnet.allocation_pools))
        .order_by(m.Subnet.created_at, m.Subnet.id)
    )
    return list(rows)


def _pools(subnet: m.Subnet) -> list[addressing.Pool]:
    return [
        addressing.Pool(addressing.address(p.first_ip), addressing.address(p.last_ip))
        for p in subnet.allocation_pools
    ]


async def _insert(s: AsyncSession, port: m.Port, subnet: m.Subnet, address: str) -> bool:
    """Hold `address` for the port; False when another port holds it already."""
    try:
        async with s.begin_nested():
            s.add(
                m.IPAllocation(
                    port_id=port.id,
                    ip_address=address,
                    subnet_id=subnet.id,
                    network_id=subnet.network_id,
                )
            )
            await s.flush()
    except IntegrityError:
        return False
    return True


async def _taken(s: AsyncSession, subnet: m.Subnet) -> set[str]:
    rows = await s.scalars(
        select(m.IPAllocation.ip_address).where(m.IPAllocation.subnet_id == subnet.id)
    )
    return set(rows)


async def _lowest_free(s: AsyncSession, port: m.Port, subnet: m.Subnet) -> str | None:
    """Allocate the lowest free pool address of the subnet; None when there is none."""
    pools = _pools(subnet)
    for _ in range(_ATTEMPTS):
        taken = await _taken(s, subnet)
        candidate = next((str(a) for a in addressing.addresses(pools) if str(a) not in taken), None)
        if candidate is None:
            return None
        if await _insert(s, port, subnet, candidate):
            return candidate
    return None


async def _specific(s: AsyncSession, port: m.Port, subnet: m.Subnet, address: str) -> None:
    net = addressing.network(subnet.cidr)
    ip = addressing.address(address)
    room = addressing.usable(net)
    if ip.version != net.version or room is None or ip not in room:
        raise faults.InvalidIpForSubnet(address)
    if is_auto_address(subnet) and not port.device_owner.startswith("network:"):
        raise faults.InvalidInput(
            f"IPv6 address {address} cannot be directly assigned to a port on subnet "
            f"{subnet.id} as the subnet is configured for automatic addresses"
        )
    if not await _insert(s, port, subnet, address):
        raise faults.IpAddressInUse(subnet.network_id, address)


def _subnet_for(subnets: list[m.Subnet], want: Want, network_id: str) -> m.Subnet:
    if want.subnet_id is not None:
        for subnet in subnets:
            if subnet.id == want.subnet_id:
                return subnet
        raise faults.InvalidInput(
            f"Failed to create port on network {network_id}, because fixed_ips included "
            f"invalid subnet {want.subnet_id}"
        )
    if want.ip_address is None:
        raise faults.InvalidInput("IP allocation requires subnet_id or ip_address")
    ip = addressing.address(want.ip_address)
    for subnet in subnets:
        if ip in addressing.network(subnet.cidr):
            return subnet
    raise faults.InvalidIpForNetwork(want.ip_address)


async def allocate(
    s: AsyncSession, port: m.Port, subnets: list[m.Subnet], asked: list[Want] | None
) -> None:
    """Give the port its addresses: those asked for, or by default one per IP family.

    By default a port gets one IPv4 address (from the first subnet with room),
    one stateful IPv6 address likewise, and its SLAAC address on every SLAAC
    subnet; a family whose subnets are all full is a 409.
    """
    if asked is not None:
        for want in asked:
            subnet = _subnet_for(subnets, want, port.network_id)
            if want.ip_address is not None:
                await _specific(s, port, subnet, want.ip_address)
            elif is_auto_address(subnet):
                await _eui64(s, port, subnet)
            elif await _lowest_free(s, port, subnet) is None:
                raise faults.IpAddressGenerationFailure(port.network_id)
        return
    for version in (4, 6):
        family = [x for x in subnets if x.ip_version == version and not is_auto_address(x)]
        if not family:
            continue
        for subnet in family:
            if await _lowest_free(s, port, subnet) is not None:
                break
        else:
            raise faults.IpAddressGenerationFailure(port.network_id)
    for subnet in subnets:
        if is_auto_address(subnet):
            await _eui64(s, port, subnet)


async def _eui64(s: AsyncSession, port: m.Port, subnet: m.Subnet) -> None:
    address = str(addressing.eui64(addressing.network(subnet.cidr), port.mac_address))
    if not await _insert(s, port, subnet, address):
        raise faults.IpAddressInUse(subnet.network_id, address)


async def release(s: AsyncSession, port: m.Port, keep: set[tuple[str, str]]) -> None:
    """Drop the port's addresses except those in `keep` ((subnet_id, address) pairs)."""
    for alloc in list(port.fixed_ips):
        if (alloc.subnet_id, alloc.ip_address) not in keep:
            await s.execute(delete(m.IPAllocation).where(m.IPAllocation.id == alloc.id))
