"""Security groups on bridge ports: one host-wide, stateful nftables filter.

Two tables, applied together in one transaction:

- `bridge stackling_sg` sees frames as they cross a bridge, with the ports they
  come from and go to (`iifname`/`oifname` are taps). Each filtered port has an
  egress chain (frames from the instance: MAC/ARP/IP anti-spoofing that honours
  allowed address pairs, no DHCP server or router advertisements, then the
  egress rules) and an ingress chain (frames to it: the ingress rules), reached
  through verdict maps keyed by device. Remote security groups and address
  groups are named sets of member addresses, so a membership change rewrites a
  set (`update_remote_group`), not every rule that names the group.

- `inet stackling_sg_ct` gives the bridge table its state. This kernel family
  cannot track connections itself (`ct` needs nf_conntrack_bridge, which many
  kernels, this one included, lack), so bridged IP packets go through
  br_netfilter (enabled per bridge by `links.ensure_bridge`), where the inet
  hooks see them with the bridge as device: there each network's bridge gets
  its own conntrack zone (tenants may reuse addresses), and the packet's state
  is copied into two bits of its mark, which the port chains read:
  established/related returns early, invalid is dropped. The host's own
  packets onto a bridge (a provider bridge carrying the host's address) get
  the same zone and marks on output, and pass the instance's ingress chain.

Port chains return (never accept) so that a frame between two filtered ports
passes the sender's egress chain and then the receiver's ingress chain.
Replacing both tables keeps conntrack entries and zone numbers, so established
connections survive any update.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stackling.network.linux import names, nft
from stackling.network.linux.cmd import LinuxNetError
from stackling.network.linux.links import check_ifname, check_mac

FILTER_FAMILY, FILTER_TABLE = names.FILTER_TABLE
CT_FAMILY, CT_TABLE = names.CONNTRACK_TABLE
# Two bits of the packet mark carry the conntrack state from the inet hooks to the
# bridge chains; the rest of the mark is left as it was.
ESTABLISHED_MARK = 0x01000000
INVALID_MARK = 0x02000000
STATE_MARKS = ESTABLISHED_MARK | INVALID_MARK
MAX_ZONE = 65535

# Neutron's protocol names (and their IANA numbers).
PROTOCOLS = {
    "icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "egp": 8, "udp": 17, "dccp": 33,
    "ipv6-encap": 41, "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46, "gre": 47,
    "esp": 50, "ah": 51, "icmpv6": 58, "ipv6-icmp": 58, "ipv6-nonxt": 59,
    "ipv6-opts": 60, "ospf": 89, "pgm": 113, "vrrp": 112, "sctp": 132, "udplite": 136,
}  # fmt: skip
_WITH_PORTS = {6: "tcp", 17: "udp", 33: "dccp", 132: "sctp", 136: "udplite"}
_ICMP = {1, 58}
# What Neutron lets through whatever the rules (neutron_lib.constants).
_ND_EGRESS = (
    "{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit,"
    " mld-listener-report, mld2-listener-report, mld-listener-done }"
)
_ND_INGRESS = "{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, mld-listener-query }"
_ND_UNSPECIFIED = "{ nd-neighbor-solicit, mld-listener-report, mld2-listener-report }"


@dataclass(frozen=True, slots=True)
class SecurityRule:
    """One security group rule, in Neutron's terms."""

    direction: str  # "ingress" (to the port) or "egress" (from it)
    ethertype: str = "IPv4"  # "IPv4" or "IPv6"
    protocol: str | None = None  # a name ("tcp", "icmp"...), a number as text, or None/"any"
    port_range_min: int | None = None  # for ICMP: the type
    port_range_max: int | None = None  # for ICMP: the code
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    remote_address_group_id: str | None = None
    id: str | None = None  # shown as a rule comment


@dataclass(frozen=True, slots=True)
class AddressPair:
    """An allowed address pair: the port may also send from this address (or prefix)."""

    ip_address: str
    mac_address: str | None = None  # None: the port's own MAC


@dataclass(frozen=True, slots=True)
class PortFilter:
    """Everything the filter needs about one port on this host."""

    port_id: str
    device: str  # its host-side device, tap<11>
    bridge: str  # the bridge it is plugged into (its network's)
    # Its network's conntrack zone (1..65535): the same for every port of a bridge,
    # different between bridges, and stable over time (kept by the caller).
    zone: int
    mac: str
    fixed_ips: tuple[str, ...] = ()
    allowed_address_pairs: tuple[AddressPair, ...] = ()
    rules: tuple[SecurityRule, ...] = ()  # the rules of all its security groups
    port_security: bool = True  # False: not filtered at all (Neutron's port_security_enabled)


@dataclass(frozen=True, slots=True)
class RemoteGroup:
    """The addresses of a security group's members (or of an address group)."""

    group_id: str
    addresses: tuple[str, ...] = ()  # addresses or prefixes, IPv4 and IPv6 mixed


@dataclass(frozen=True, slots=True)
class HostFilter:
    """The whole filter of one host: its ports and the groups their rules refer to."""

    ports: tuple[PortFilter, ...] = ()
    groups: tuple[RemoteGroup, ...] = ()


def set_name(group_id: str, version: int) -> str:
    """The named set holding a group's IPv4 or IPv6 members."""
    return f"rg{version}_{names.canonical_id(group_id).replace('-', '')}"


def chain_name(direction: str, device: str) -> str:
    """A port's chain: egress_tap1b2c3d4e_5f."""
    return nft.ident(f"{direction}_{check_ifname(device).replace('-', '_').replace('.', '_')}")


def link_local(mac: str) -> str:
    """The EUI-64 IPv6 link-local address an interface with this MAC gives itself."""
    octets = bytearray(bytes.fromhex(check_mac(mac).replace(":", "")))
    octets[0] ^= 0x02
    eui = bytes(octets[:3]) + b"\xff\xfe" + bytes(octets[3:])
    return str(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + eui))


def _protocol(rule: SecurityRule) -> int | None:
    proto = (rule.protocol or "").strip().lower()
    if proto in {"", "any"}:
        return None
    number = int(proto) if proto.isdigit() else PROTOCOLS.get(proto)
    if number is None or not 0 <= number <= 255:
        raise ValueError(f"unknown protocol {rule.protocol!r}")
    # Neutron reads "icmp" in an IPv6 rule as ICMPv6.
    if number == 1 and rule.ethertype == "IPv6":
        number = 58
    return number


def render_rule(rule: SecurityRule) -> str | None:
    """One rule as an nft statement ending in `return`; None when it can match nothing."""
    if rule.direction not in {"ingress", "egress"}:
        raise ValueError(f"bad direction {rule.direction!r}")
    if rule.ethertype not in {"IPv4", "IPv6"}:
        raise ValueError(f"bad ethertype {rule.ethertype!r}")
    version = 4 if rule.ethertype == "IPv4" else 6
    ip = "ip" if version == 4 else "ip6"
    parts = [f"ether type {ip}"]
    proto = _protocol(rule)
    if proto is not None:
        parts.append(f"meta l4proto {proto}")
        low, high = rule.port_range_min, rule.port_range_max
        if proto in _WITH_PORTS and (low is not None or high is not None):
            low = low if low is not None else high
            high = high if high is not None else low
            assert low is not None and high is not None
            if not 0 <= low <= high <= 65535:
                raise ValueError(f"bad port range {low}-{high}")
            ports = str(low) if low == high else f"{low}-{high}"
            parts.append(f"{_WITH_PORTS[proto]} dport {ports}")
        elif proto in _ICMP:
            icmp = "icmp" if proto == 1 else "icmpv6"
            for field_name, value in (("type", low), ("code", high)):
                if value is not None:
                    if not 0 <= value <= 255:
                        raise ValueError(f"bad ICMP {field_name} {value}")
                    parts.append(f"{icmp} {field_name} {value}")
    remote = "saddr" if rule.direction == "ingress" else "daddr"
    if rule.remote_ip_prefix:
        net = ipaddress.ip_network(rule.remote_ip_prefix, strict=False)
        if net.version != version:
            return None
        if net.prefixlen:
            parts.append(f"{ip} {remote} {nft.addr(str(net))}")
    for group in (rule.remote_group_id, rule.remote_address_group_id):
        if group:
            parts.append(f"{ip} {remote} @{set_name(group, version)}")
    parts.append("return")
    if rule.id:
        parts.append(nft.comment(f"rule {names.canonical_id(rule.id)}"))
    return " ".join(parts)


def _sources(port: PortFilter) -> dict[str, list[str]]:
    """The addresses each MAC may send from: fixed IPs, allowed pairs, its link-local address."""
    mac = check_mac(port.mac)
    by_mac: dict[str, list[str]] = {mac: list(port.fixed_ips)}
    for pair in port.allowed_address_pairs:
        pair_mac = check_mac(pair.mac_address) if pair.mac_address else mac
        by_mac.setdefault(pair_mac, []).append(pair.ip_address)
    for each, addresses in by_mac.items():
        addresses.append(link_local(each))
    return dict(sorted(by_mac.items()))


def _egress(port: PortFilter) -> list[str]:
    by_mac = _sources(port)
    macs = list(by_mac)
    # Merged per MAC: an interval set refuses overlapping elements (a pair's prefix
    # that holds a fixed IP, say).
    v4 = [f"{m} . {a}" for m, addresses in by_mac.items() for a in nft.collapse(addresses, 4)]
    v6 = [f"{m} . {a}" for m, addresses in by_mac.items() for a in nft.collapse(addresses, 6)]
    arp = [*v4, *(f"{m} . 0.0.0.0" for m in macs)]
    lines = [
        f"ether saddr != {nft.elements(macs)} counter drop",
        f"ether type arp arp saddr ether . arp saddr ip != {nft.elements(arp)} counter drop",
        "ether type arp return",
        # A DHCP client may ask from 0.0.0.0, and renews from an address it may lose.
        "ether type ip udp sport 68 udp dport 67 return",
        "ether type ip6 udp sport 546 udp dport 547 return",
        # An instance is never a DHCP server or a router to its neighbours.
        "ether type ip udp sport 67 udp dport 68 counter drop",
        "ether type ip6 udp sport 547 udp dport 546 counter drop",
        "ether type ip6 icmpv6 type { nd-router-advert, nd-redirect } counter drop",
        # Duplicate address detection and MLD come from :: before an address is usable.
        f"ether type ip6 ip6 saddr :: icmpv6 type {_ND_UNSPECIFIED} return",
        (
            f"ether type ip ether saddr . ip saddr != {nft.elements(v4)} counter drop"
            if v4
            else "ether type ip counter drop"
        ),
        f"ether type ip6 ether saddr . ip6 saddr != {nft.elements(v6)} counter drop",
        "ether type != { ip, ip6 } counter drop",
        f"ether type ip6 icmpv6 type {_ND_EGRESS} return",
        *_state_lines(),
    ]
    return lines + _rules(port, "egress")


def _ingress(port: PortFilter) -> list[str]:
    lines = [
        "ether type arp return",
        "ether type ip udp sport 67 udp dport 68 return",
        "ether type ip6 udp sport 547 udp dport 546 return",
        f"ether type ip6 icmpv6 type {_ND_INGRESS} return",
        *_state_lines(),
    ]
    return lines + _rules(port, "ingress")


def _state_lines() -> list[str]:
    return [
        f"meta mark & {INVALID_MARK:#010x} == {INVALID_MARK:#010x} counter drop",
        f"meta mark & {ESTABLISHED_MARK:#010x} == {ESTABLISHED_MARK:#010x} return",
    ]


def _rules(port: PortFilter, direction: str) -> list[str]:
    rendered = (render_rule(r) for r in port.rules if r.direction == direction)
    return [*dict.fromkeys(r for r in rendered if r is not None), "counter drop"]


def _zones(ports: Iterable[PortFilter]) -> dict[str, int]:
    zones: dict[str, int] = {}
    for port in ports:
        if not 1 <= port.zone <= MAX_ZONE:
            raise ValueError(f"port {port.port_id}: zone {port.zone} is outside 1..{MAX_ZONE}")
        if zones.setdefault(check_ifname(port.bridge), port.zone) != port.zone:
            raise ValueError(
                f"bridge {port.bridge} has ports in zones {zones[port.bridge]} and {port.zone}"
            )
    by_zone: dict[int, str] = {}
    for bridge, zone in sorted(zones.items()):
        if by_zone.setdefault(zone, bridge) != bridge:
            raise ValueError(f"bridges {by_zone[zone]} and {bridge} share conntrack zone {zone}")
    return zones


def _group_sets(state: HostFilter) -> dict[str, tuple[str, ...]]:
    members = {names.canonical_id(g.group_id): g.addresses for g in state.groups}
    for port in state.ports:
        for rule in port.rules:
            for group in (rule.remote_group_id, rule.remote_address_group_id):
                if group:
                    members.setdefault(names.canonical_id(group), ())
    return dict(sorted(members.items()))


def _set_block(group_id: str, addresses: Iterable[str], version: int) -> list[str]:
    kind = "ipv4_addr" if version == 4 else "ipv6_addr"
    listed = nft.collapse(addresses, version)
    return [
        f"set {set_name(group_id, version)} {{",
        f"\ttype {kind}",
        "\tflags interval",
        *([f"\telements = {nft.elements(listed)}"] if listed else []),
        "}",
    ]


def _verdict_map(name: str, entries: list[str]) -> list[str]:
    return [
        f"map {name} {{",
        "\ttype ifname : verdict",
        *([f"\telements = {nft.elements(entries)}"] if entries else []),
        "}",
    ]


def render_host_filter(state: HostFilter) -> str:
    """The nft script that makes both filter tables exactly `state`, in one transaction."""
    zones = _zones(state.ports)
    filtered = sorted((p for p in state.ports if p.port_security), key=lambda p: p.device)
    devices = [check_ifname(p.device) for p in state.ports]
    if len(set(devices)) != len(devices):
        raise ValueError("two ports share a device")
    body: list[str] = []
    for group_id, addresses in _group_sets(state).items():
        body += _set_block(group_id, addresses, 4) + _set_block(group_id, addresses, 6)
    egress = [f"{nft.ifname(p.device)} : jump {chain_name('egress', p.device)}" for p in filtered]
    ingress = [f"{nft.ifname(p.device)} : jump {chain_name('ingress', p.device)}" for p in filtered]
    body += _verdict_map("egress_ports", egress) + _verdict_map("ingress_ports", ingress)
    body += [
        "chain forward {",
        "\ttype filter hook forward priority filter; policy accept;",
        "\tiifname vmap @egress_ports",
        "\toifname vmap @ingress_ports",
        "}",
        # Frames from an instance to the host itself obey its egress rules too...
        "chain input {",
        "\ttype filter hook input priority filter; policy accept;",
        "\tiifname vmap @egress_ports",
        "}",
        # ...and frames from the host (which has an address on a provider bridge) to
        # an instance its ingress rules.
        "chain output {",
        "\ttype filter hook output priority filter; policy accept;",
        "\toifname vmap @ingress_ports",
        "}",
    ]
    for port in filtered:
        for direction, lines in (("egress", _egress(port)), ("ingress", _ingress(port))):
            body += [
                f"chain {chain_name(direction, port.device)} {{",
                *(f"\t{x}" for x in lines),
                "}",
            ]
    script = nft.replace_table(FILTER_FAMILY, FILTER_TABLE, nft.indent(body))
    return script + nft.replace_table(CT_FAMILY, CT_TABLE, nft.indent(_conntrack_body(zones)))


def _conntrack_body(zones: dict[str, int]) -> list[str]:
    if not zones:
        return []
    bridges = nft.elements(nft.ifname(b) for b in sorted(zones))
    zone_map = nft.elements(f"{nft.ifname(b)} : {z}" for b, z in sorted(zones.items()))
    keep = 0xFFFFFFFF & ~STATE_MARKS
    marks = [
        f"\tmeta mark set meta mark & {keep:#010x}",
        f"\tct state established,related meta mark set meta mark | {ESTABLISHED_MARK:#010x}",
        f"\tct state invalid meta mark set meta mark | {INVALID_MARK:#010x}",
    ]
    return [
        # Before conntrack (priority raw): each network's packets in its own zone.
        "chain zone {",
        "\ttype filter hook prerouting priority raw; policy accept;",
        f"\tct zone set iifname map {zone_map}",
        "}",
        # After conntrack (priority mangle): its verdict into the mark's two bits.
        "chain state {",
        "\ttype filter hook prerouting priority mangle; policy accept;",
        f"\tiifname != {bridges} return",
        *marks,
        "}",
        # The host's own packets onto a bridge (a provider bridge carrying the host's
        # address) in the same zone, so that they and the instances' answer each other
        # within one connection; in zone 0, the instance's next packet would be invalid.
        "chain zone_out {",
        "\ttype filter hook output priority raw; policy accept;",
        f"\tct zone set oifname map {zone_map}",
        "}",
        "chain state_out {",
        "\ttype filter hook output priority mangle; policy accept;",
        f"\toifname != {bridges} return",
        *marks,
        "}",
    ]


def render_group_update(group: RemoteGroup) -> str:
    """The nft script that replaces one group's member sets (and nothing else)."""
    # The table now differs from the state it was rendered from: the next full
    # apply must rewrite it even if that state is the same as before.
    lines = [nft.mark_stale(FILTER_FAMILY, FILTER_TABLE).rstrip("\n")]
    table = f"{FILTER_FAMILY} {FILTER_TABLE}"
    for version, kind in ((4, "ipv4_addr"), (6, "ipv6_addr")):
        name = set_name(group.group_id, version)
        lines.append(f"add set {table} {name} {{ type {kind}; flags interval; }}")
        lines.append(f"flush set {table} {name}")
        listed = nft.collapse(group.addresses, version)
        if listed:
            lines.append(f"add element {table} {name} {nft.elements(listed)}")
    return "\n".join(lines) + "\n"


def bridge_netfilter_available() -> bool:
    """Whether br_netfilter is in the kernel (the filter's state depends on it)."""
    return Path("/proc/sys/net/bridge").is_dir()


async def apply_host_filter(
    state: HostFilter, *, netns: str | None = None, force: bool = False
) -> bool:
    """Make the host's port filter exactly `state`, atomically; False if it already was."""
    script = render_host_filter(state)
    if any(p.port_security for p in state.ports) and not bridge_netfilter_available():
        raise LinuxNetError(
            "br_netfilter is not loaded (modprobe br_netfilter): security groups cannot be stateful"
        )
    return await nft.apply_tables(script, netns=netns, force=force)


async def update_remote_group(group: RemoteGroup, *, netns: str | None = None) -> None:
    """Replace one group's members in the applied filter, in one transaction."""
    await nft.apply(render_group_update(group), netns=netns)


async def remove_host_filter(*, netns: str | None = None) -> None:
    """Remove both filter tables; absent ones are fine."""
    await nft.delete_table(FILTER_FAMILY, FILTER_TABLE, netns=netns)
    await nft.delete_table(CT_FAMILY, CT_TABLE, netns=netns)
