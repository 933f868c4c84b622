"""A router's NAT: SNAT to its external address, DNAT+SNAT for each floating IP.

One table (`names.NAT_TABLE`) in the router's own namespace holds it all. The
floating IPs are two maps (floating → fixed for DNAT, fixed → floating for
SNAT), so the rules stay the same however many there are and a lookup is one
hash. The router's gateway device (qg-) must also carry each floating IP as a
/32 address, so that it answers ARP for them (`addresses.ensure_addresses`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from stackling.network.linux import names, nft

NAT_FAMILY, NAT_TABLE = names.NAT_TABLE


@dataclass(frozen=True, slots=True)
class FloatingNat:
    """A floating IP and the fixed IP (of a port behind the router) it stands for."""

    floating_ip: str
    fixed_ip: str


@dataclass(frozen=True, slots=True)
class RouterNat:
    """A router's NAT, as Neutron's L3 agent makes it (IPv4 only: IPv6 is routed as is)."""

    gateway_device: str  # qg-<11>, on the external network
    # The router's own address on the external network; None when it has no gateway.
    gateway_ip: str | None = None
    snat: bool = True  # Neutron's external_gateway_info.enable_snat
    internal_cidrs: tuple[str, ...] = ()  # the subnets behind its qr- ports
    floating: tuple[FloatingNat, ...] = ()


def _v4(value: str) -> str:
    return str(ipaddress.IPv4Address(value))


def render_router_nat(nat: RouterNat) -> str:
    """The nft script that makes the router's NAT table exactly `nat`."""
    qg = nft.ifname(nat.gateway_device)
    gateway = _v4(nat.gateway_ip) if nat.gateway_ip else None
    pairs = sorted({(_v4(f.floating_ip), _v4(f.fixed_ip)) for f in nat.floating})
    floating = [p[0] for p in pairs]
    fixed = [p[1] for p in pairs]
    if len(set(floating)) != len(floating) or len(set(fixed)) != len(fixed):
        raise ValueError("a floating IP or a fixed IP appears in two floating IP mappings")
    dnat = [f"{fip} : {ip}" for fip, ip in pairs]
    snat = [f"{ip} : {fip}" for fip, ip in pairs]
    body = [
        "map floating_dnat {",
        "\ttype ipv4_addr : ipv4_addr",
        *([f"\telements = {nft.elements(dnat)}"] if dnat else []),
        "}",
        "map floating_snat {",
        "\ttype ipv4_addr : ipv4_addr",
        *([f"\telements = {nft.elements(snat)}"] if snat else []),
        "}",
        "chain prerouting {",
        "\ttype nat hook prerouting priority dstnat; policy accept;",
        "\tdnat to ip daddr map @floating_dnat",
        "}",
        # The router's own processes (and the metadata proxy later) reach floating IPs too.
        "chain output {",
        "\ttype nat hook output priority -100; policy accept;",
        "\tdnat to ip daddr map @floating_dnat",
        "}",
        "chain postrouting {",
        "\ttype nat hook postrouting priority srcnat; policy accept;",
        # A port with a floating IP leaves as its floating IP (before the router's SNAT).
        f"\toifname {qg} snat to ip saddr map @floating_snat",
    ]
    internal = nft.collapse(nat.internal_cidrs, 4)
    if gateway and nat.snat and internal:
        body.append(f"\toifname {qg} ip saddr {nft.elements(internal)} snat to {gateway}")
    if gateway:
        # Hairpin: an inside client reaching a floating IP of its own router is
        # DNATed to a neighbour, which would answer it directly from the fixed IP
        # the client never asked; SNAT to the router makes the answer come back
        # through it (Neutron does the same).
        body.append(f"\tiifname != {qg} oifname != {qg} ct status dnat snat to {gateway}")
    body.append("}")
    return nft.replace_table(NAT_FAMILY, NAT_TABLE, nft.indent(body))


async def apply_router_nat(nat: RouterNat, *, netns: str, force: bool = False) -> bool:
    """Make the router's NAT table exactly `nat`, atomically; False if it already was."""
    return await nft.apply_tables(render_router_nat(nat), netns=netns, force=force)


async def remove_router_nat(*, netns: str) -> None:
    """Remove the router's NAT table; an absent one (or namespace) is fine."""
    await nft.delete_table(NAT_FAMILY, NAT_TABLE, netns=netns)
