"""Security group rules: normalised and checked as Neutron does, with a fingerprint for duplicates.

Two rules that match the same traffic have the same fingerprint, and the
table's UNIQUE(security_group_id, fingerprint) refuses the second even when
both are created at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stackling.network import faults
from stackling.network.service import addressing

# Neutron's protocol names and their numbers (constants.IP_PROTOCOL_MAP).
PROTOCOLS: dict[str, int] = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
    "igmp": 2, "ip": 0, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
    "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89,
    "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}  # fmt: skip
_ANY = ("any", "", None)
_PORT_PROTOCOLS = {6, 17, 33, 132, 136}
_ICMP = {1, 58}
_IPV6_ONLY = {41, 43, 44, 58, 59, 60}
ETHERTYPES = ("IPv4", "IPv6")


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's matching attributes after normalisation."""

    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None

    @property
    def fingerprint(self) -> str:
        """What the rule matches, as one string (protocol names and numbers agree)."""
        proto = self.protocol
        number = PROTOCOLS.get(proto) if proto is not None else None
        prefix = self.remote_ip_prefix
        if prefix in ("0.0.0.0/0", "::/0"):
            prefix = None
        parts = (
            self.direction, self.ethertype, "" if proto is None else str(number or proto),
            self.port_range_min, self.port_range_max, prefix or "", self.remote_group_id or "",
        )  # fmt: skip
        return "|".join("" if p is None else str(p) for p in parts)


def protocol(value: Any) -> str | None:
    """A protocol by name (any case) or number 0-255; None for any."""
    if value in _ANY:
        return None
    names = ", ".join(["any", *PROTOCOLS])
    if isinstance(value, bool):
        raise faults.SecurityGroupRuleInvalidProtocol(value, f"[{names}]")
    try:
        number = int(value)
    except (TypeError, ValueError):
        if isinstance(value, str) and value.lower() in PROTOCOLS:
            return value.lower()
        raise faults.SecurityGroupRuleInvalidProtocol(value, f"[{names}]") from None
    if 0 <= number <= 255:
        return str(number)
    raise faults.SecurityGroupRuleInvalidProtocol(value, f"[{names}]")


def ethertype(value: Any) -> str:
    """IPv4 or IPv6, whatever the case."""
    if isinstance(value, str):
        for known in ETHERTYPES:
            if known.lower() == value.lower():
                return known
    raise faults.InvalidInput(
        f"Security group rule for ethertype '{value}' not supported. Allowed values are "
        f"{list(ETHERTYPES)}"
    )


def _number(proto: str | None) -> int | None:
    if proto is None:
        return None
    return PROTOCOLS[proto] if proto in PROTOCOLS else int(proto)


def _ports(number: int | None, proto: str | None, low: int | None, high: int | None) -> None:
    if low is None and high is None:
        return
    if number is None:
        raise faults.InvalidInput("Must also specify protocol if port range is given.")
    if number in _PORT_PROTOCOLS:
        for port in (low, high):
            if port is not None and not 1 <= port <= 65535:
                raise faults.InvalidInput(f"Invalid value for port {port}")
        if low is None or high is None or low > high:
            raise faults.InvalidInput(
                "For TCP/UDP protocols, port_range_min must be <= port_range_max"
            )
        return
    if number in _ICMP:
        for field, attr, value in (
            ("type", "port_range_min", low),
            ("code", "port_range_max", high),
        ):
            if value is not None and not 0 <= value <= 255:
                raise faults.InvalidInput(
                    f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255."
                )
        if low is None and high is not None:
            raise faults.InvalidInput(
                f"ICMP code (port-range-max) {high} is provided but ICMP type (port-range-min) "
                "is missing."
            )
        return
    raise faults.InvalidInput(
        f"Ports cannot be specified for protocol {proto}. Ports are only supported for "
        "['tcp', 'udp', 'dccp', 'sctp', 'udplite', 'icmp', 'ipv6-icmp']."
    )


def normalise(body: dict[str, Any]) -> Rule:
    """The rule a create asks for, checked: ports fit the protocol, one remote, one family."""
    kind = ethertype(body.get("ethertype", "IPv4"))
    proto = protocol(body.get("protocol"))
    number = _number(proto)
    low, high = body.get("port_range_min"), body.get("port_range_max")
    _ports(number, proto, low, high)
    if number in _IPV6_ONLY and kind == "IPv4":
        raise faults.InvalidInput(f"Invalid ethertype {kind} for protocol {proto}.")
    prefix = body.get("remote_ip_prefix")
    remote_group = body.get("remote_group_id")
    if prefix is not None and remote_group is not None:
        raise faults.InvalidInput(
            "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may "
            "be provided."
        )
    if prefix is not None:
        try:
            net = addressing.network(prefix)
        except ValueError:
            raise faults.InvalidCIDR(prefix) from None
        if (net.version == 4) != (kind == "IPv4"):
            raise faults.InvalidInput(f"Conflicting value ethertype {kind} for CIDR {prefix}")
        prefix = str(net)
    return Rule(body["direction"], kind, proto, low, high, prefix, remote_group)


def default_rules(group_id: str, *, with_ingress: bool) -> list[Rule]:
    """Neutron's rules for a new group: egress anywhere; for `default`, ingress from itself."""
    rules = [Rule("egress", kind, None, None, None, None, None) for kind in ETHERTYPES]
    if with_ingress:
        rules += [Rule("ingress", kind, None, None, None, None, group_id) for kind in ETHERTYPES]
    return rules
