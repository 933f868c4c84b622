"""Address arithmetic for subnets: default pools, pool and gateway checks, EUI-64 addresses.

Pure functions over the standard library's ipaddress, so they are easy to
reason about and to test; the database never sees anything but their text.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from stackling.network import faults

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Pool:
    """An inclusive range of addresses."""

    first: IPAddress
    last: IPAddress

    def __contains__(self, address: object) -> bool:
        return (
            isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
            and address.version == self.first.version
            and self.first <= address <= self.last
        )

    def overlaps(self, other: Pool) -> bool:
        """Whether the two ranges share an address."""
        return self.first <= other.last and other.first <= self.last

    def as_dict(self) -> dict[str, str]:
        """The API's {"start", "end"}."""
        return {"start": str(self.first), "end": str(self.last)}

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


def network(cidr: str) -> IPNetwork:
    """The prefix of a CIDR (host bits cleared)."""
    return ipaddress.ip_network(cidr, strict=False)


def address(text: str) -> IPAddress:
    """An address from its text."""
    return ipaddress.ip_address(text)


def usable(net: IPNetwork) -> Pool | None:
    """The addresses ports may get: not the network's own address, nor IPv4's broadcast."""
    if net.num_addresses == 1:
        return Pool(net.network_address, net.network_address)
    first = net.network_address + 1
    last = net.broadcast_address - (1 if net.version == 4 else 0)
    if first > last:
        return None  # an IPv4 /31 has nothing left once both ends are removed
    return Pool(first, last)


def default_gateway(net: IPNetwork) -> IPAddress | None:
    """The first usable address, where the subnet has one to spare."""
    room = usable(net)
    if room is None or room.first == room.last:
        return None
    return room.first


def default_pools(net: IPNetwork, gateway: IPAddress | None) -> list[Pool]:
    """Every usable address, split around the gateway."""
    room = usable(net)
    if room is None:
        return []
    if gateway is None or gateway not in room:
        return [room]
    pools = []
    if gateway > room.first:
        pools.append(Pool(room.first, gateway - 1))
    if gateway < room.last:
        pools.append(Pool(gateway + 1, room.last))
    return pools


def check_gateway(net: IPNetwork, gateway: IPAddress) -> None:
    """InvalidInput unless the gateway is a usable address of the subnet."""
    room = usable(net)
    if gateway.version != net.version or room is None or gateway not in room:
        raise faults.InvalidInput(f"Gateway is not valid on subnet {net}")


def parse_pools(net: IPNetwork, given: list[dict[str, Any]]) -> list[Pool]:
    """Pools a request names, checked: well-formed, inside the subnet, not overlapping."""
    pools = []
    for entry in given:
        text = f"{entry.get('start')}-{entry.get('end')}"
        try:
            first, last = address(entry["start"]), address(entry["end"])
        except (KeyError, TypeError, ValueError):
            raise faults.InvalidAllocationPool(text) from None
        if first.version != net.version or last.version != net.version or first > last:
            raise faults.InvalidAllocationPool(text)
        room = usable(net)
        if room is None or first not in room or last not in room:
            raise faults.OutOfBoundsAllocationPool(text, str(net))
        pools.append(Pool(first, last))
    ordered = sorted(pools, key=lambda pool: pool.first)
    for one, two in itertools.pairwise(ordered):
        if one.overlaps(two):
            raise faults.OverlappingAllocationPools(str(one), str(two), str(net))
    return pools


def check_gateway_outside(gateway: IPAddress | None, pools: list[Pool]) -> None:
    """409 when the gateway lies in one of the pools."""
    if gateway is None:
        return
    for pool in pools:
        if gateway in pool:
            raise faults.GatewayConflictWithAllocationPools(str(gateway), str(pool))


def addresses(pools: list[Pool]) -> Iterator[IPAddress]:
    """Every address of the pools, lowest first within each pool, pools in order."""
    for pool in sorted(pools, key=lambda p: p.first):
        current = pool.first
        while current <= pool.last:
            yield current
            current += 1


def eui64(net: IPNetwork, mac: str) -> IPAddress:
    """The SLAAC address of a MAC in a /64 (RFC 4291: flip the U/L bit, insert ff:fe)."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    interface = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    suffix = int.from_bytes(bytes(interface), "big")
    return ipaddress.IPv6Address(int(net.network_address) | suffix)


def overlaps(one: str, two: str) -> bool:
    """Whether two CIDRs share addresses."""
    a, b = network(one), network(two)
    return a.version == b.version and a.overlaps(b)  # type: ignore[arg-type]
