"""Every name the data plane gives to kernel objects, derived from resource ids.

A name encodes the resource it serves, as Neutron's Linux bridge agent names
them, so an agent that restarts can list what exists and match it to rows
without a side table (and spot strays):

    brq<11>      bridge of a network             tap<11>   host end of a port
    qr-<11>      router port (in qrouter-)       qg-<11>   router gateway port (in qrouter-)
    ns-<11>      DHCP port (in qdhcp-)           vxlan-<vni>  VXLAN device of a segment
    qdhcp-<network uuid>, qrouter-<router uuid>  network namespaces

where <11> is the first 11 characters of the canonical UUID ("1b2c3d4e-5f"),
exactly what Nova and Neutron cut a tap name from. Interface names must fit
IFNAMSIZ (15 characters and a NUL); all of these take at most 14. A flat
network on a mapped physical network uses the operator's bridge instead of
its brq (`network_bridge`); that name is not ours and is never swept.

Named namespaces are global to the machine, so they may carry a `tag` prefix:
empty for a cloud, a random one for a test, so that a sweep in one never sees
the other's namespaces.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

MAX_IFNAME_LEN = 15  # IFNAMSIZ (16) less the terminating NUL
ID_CHARS = 11
MAX_VNI = (1 << 24) - 1

BRIDGE_PREFIX = "brq"
TAP_PREFIX = "tap"
ROUTER_PORT_PREFIX = "qr-"
GATEWAY_PORT_PREFIX = "qg-"
DHCP_PORT_PREFIX = "ns-"
VXLAN_PREFIX = "vxlan-"
DHCP_NS_PREFIX = "qdhcp-"
ROUTER_NS_PREFIX = "qrouter-"

# nftables tables, as (family, name). Host tables live in the host namespace; the
# NAT table lives in each router's own namespace, so one name serves every router.
TABLE_PREFIX = "stackling_"
NAT_TABLE = ("ip", "stackling_nat")
FILTER_TABLE = ("bridge", "stackling_sg")
CONNTRACK_TABLE = ("inet", "stackling_sg_ct")
GUARD_TABLE = ("inet", "stackling_guard")
HOST_TABLES = (FILTER_TABLE, CONNTRACK_TABLE, GUARD_TABLE)

_TAG = re.compile(r"[A-Za-z0-9_.-]{0,40}")
_KEY = r"[0-9a-f]{8}-[0-9a-f]{2}"


class Kind(enum.StrEnum):
    """What a named kernel object is for."""

    BRIDGE = "bridge"
    TAP = "tap"
    ROUTER_PORT = "router_port"
    GATEWAY_PORT = "gateway_port"
    DHCP_PORT = "dhcp_port"
    VXLAN = "vxlan"
    DHCP_NAMESPACE = "dhcp_namespace"
    ROUTER_NAMESPACE = "router_namespace"


_LINK_KINDS = {
    BRIDGE_PREFIX: Kind.BRIDGE,
    TAP_PREFIX: Kind.TAP,
    ROUTER_PORT_PREFIX: Kind.ROUTER_PORT,
    GATEWAY_PORT_PREFIX: Kind.GATEWAY_PORT,
    DHCP_PORT_PREFIX: Kind.DHCP_PORT,
}
_LINK = re.compile(rf"(brq|tap|qr-|qg-|ns-)({_KEY})")
_VXLAN = re.compile(r"vxlan-([1-9][0-9]{0,7})")
_NAMESPACE = re.compile(r"(qdhcp-|qrouter-)([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})")


@dataclass(frozen=True, slots=True)
class Owned:
    """A kernel object whose name says which resource it serves."""

    kind: Kind
    name: str
    # The first 11 characters of the resource's UUID for links, the whole UUID for
    # namespaces, the VNI (as text) for VXLAN devices.
    key: str


def canonical_id(resource_id: str) -> str:
    """The canonical lowercase form of a resource UUID; ValueError if it is not one."""
    try:
        return str(uuid.UUID(resource_id))
    except (ValueError, AttributeError, TypeError):
        raise ValueError(f"not a UUID: {resource_id!r}") from None


def key_of(resource_id: str) -> str:
    """The part of a resource id that interface names carry (its first 11 characters)."""
    return canonical_id(resource_id)[:ID_CHARS]


def _link(prefix: str, resource_id: str) -> str:
    name = prefix + key_of(resource_id)
    assert len(name) <= MAX_IFNAME_LEN, name
    return name


def bridge_name(network_id: str) -> str:
    """The bridge of a network on a host: brq<11>."""
    return _link(BRIDGE_PREFIX, network_id)


def network_bridge(
    network_id: str,
    network_type: str,
    physical_network: str | None,
    mappings: Mapping[str, str],
) -> str:
    """A network's bridge on a host: its flat physical network's mapped bridge, else brq<11>.

    As the linuxbridge agent's `bridge_mappings`: a flat network on a mapped
    physical network shares the operator's bridge; any other has its own.
    """
    if network_type == "flat" and physical_network in mappings:
        return mappings[physical_network]
    return bridge_name(network_id)


def tap_name(port_id: str) -> str:
    """The host-side device of a port (an instance's tap, or a veth's bridge end): tap<11>."""
    return _link(TAP_PREFIX, port_id)


def router_port_name(port_id: str) -> str:
    """A router's interface on an internal subnet, inside qrouter-: qr-<11>."""
    return _link(ROUTER_PORT_PREFIX, port_id)


def gateway_port_name(port_id: str) -> str:
    """A router's interface on its external network, inside qrouter-: qg-<11>."""
    return _link(GATEWAY_PORT_PREFIX, port_id)


def dhcp_port_name(port_id: str) -> str:
    """The DHCP server's interface, inside qdhcp-: ns-<11>."""
    return _link(DHCP_PORT_PREFIX, port_id)


def vxlan_name(vni: int) -> str:
    """The VXLAN device of a segment: vxlan-<vni>."""
    if not 1 <= vni <= MAX_VNI:
        raise ValueError(f"VNI {vni} is outside 1..{MAX_VNI}")
    return f"{VXLAN_PREFIX}{vni}"


def _check_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag):
        raise ValueError(f"bad namespace tag {tag!r}")
    return tag


def dhcp_namespace(network_id: str, tag: str = "") -> str:
    """The namespace of a network's DHCP server: qdhcp-<network uuid>."""
    return f"{_check_tag(tag)}{DHCP_NS_PREFIX}{canonical_id(network_id)}"


def router_namespace(router_id: str, tag: str = "") -> str:
    """The namespace of a router: qrouter-<router uuid>."""
    return f"{_check_tag(tag)}{ROUTER_NS_PREFIX}{canonical_id(router_id)}"


def parse_link(name: str) -> Owned | None:
    """What an interface name says it serves; None for a name that is not ours."""
    if match := _LINK.fullmatch(name):
        return Owned(_LINK_KINDS[match.group(1)], name, match.group(2))
    if (match := _VXLAN.fullmatch(name)) and int(match.group(1)) <= MAX_VNI:
        return Owned(Kind.VXLAN, name, match.group(1))
    return None


def parse_namespace(name: str, tag: str = "") -> Owned | None:
    """What a namespace name says it serves (under `tag`); None when it is not ours."""
    if not name.startswith(_check_tag(tag)):
        return None
    match = _NAMESPACE.fullmatch(name[len(tag) :])
    if match is None:
        return None
    kind = Kind.DHCP_NAMESPACE if match.group(1) == DHCP_NS_PREFIX else Kind.ROUTER_NAMESPACE
    return Owned(kind, name, match.group(2))


def is_our_table(family: str, name: str) -> bool:
    """Whether an nftables table is one of ours (by its name's prefix)."""
    return name.startswith(TABLE_PREFIX) and family in {"ip", "ip6", "inet", "bridge", "netdev"}
