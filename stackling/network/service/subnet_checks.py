"""What a subnet's attributes must satisfy, as Neutron checks them on create and update."""

from __future__ import annotations

from typing import Any

from stackling.network import faults
from stackling.network.service import addressing
from stackling.settings import NetworkSettings

SLAAC_MODES = ("slaac", "dhcpv6-stateless")


def matches_version(version: int, value: str, name: str) -> None:
    """InvalidInput unless an address or prefix is of the subnet's IP version."""
    try:
        found = addressing.network(value).version
    except ValueError:
        raise faults.InvalidInput(f"Invalid {name} {value}") from None
    if found != version:
        raise faults.InvalidInput(f"{name} '{value}' does not match the ip_version '{version}'")


def cidr(version: int, text: str, enable_dhcp: bool) -> addressing.IPNetwork:
    """The subnet's prefix (host bits dropped), refused where Neutron refuses it."""
    matches_version(version, text, "cidr")
    net = addressing.network(text)
    if net.prefixlen == 0:
        raise faults.InvalidInput(f"{net} is not allowed as a subnet cidr")
    if version == 6 and int(net.network_address) == 0:
        raise faults.InvalidInput("IPv6 subnet '::' is not supported")
    if enable_dhcp:
        if (version == 4 and net.prefixlen > 30) or (version == 6 and net.prefixlen > 126):
            raise faults.InvalidInput(
                "Subnet has a prefix length that is incompatible with DHCP service enabled"
            )
        if net.is_multicast:
            raise faults.InvalidInput("Multicast IP subnet is not supported if enable_dhcp is True")
        if net.is_loopback:
            raise faults.InvalidInput("Loopback IP subnet is not supported if enable_dhcp is True")
        if version == 4 and int(net.network_address) == 0:
            raise faults.InvalidInput(
                "First IP '0.0.0.0' of network is not supported if enable_dhcp is True."
            )
    return net


def ipv6_modes(version: int, body: dict[str, Any], net: addressing.IPNetwork | None) -> None:
    """The IPv6 RA and address modes: for IPv6 only, equal when both given, /64 for SLAAC."""
    ra_mode = body.get("ipv6_ra_mode")
    address_mode = body.get("ipv6_address_mode")
    if version == 4:
        if ra_mode is not None:
            raise faults.InvalidInput("ipv6_ra_mode is not valid when ip_version is 4")
        if address_mode is not None:
            raise faults.InvalidInput("ipv6_address_mode is not valid when ip_version is 4")
        return
    if ra_mode is not None and address_mode is not None and ra_mode != address_mode:
        raise faults.InvalidInput(
            f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to '{address_mode}' "
            "is not valid. If both attributes are set, they must be the same value"
        )
    if (ra_mode or address_mode) and not body.get("enable_dhcp", True):
        raise faults.InvalidInput(
            "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False"
        )
    if address_mode in SLAAC_MODES and net is not None and net.prefixlen != 64:
        raise faults.InvalidInput(
            f"Invalid CIDR {net} for IPv6 address mode. OpenStack uses the EUI-64 address "
            "format, which requires the prefix to be /64"
        )


def nameservers(conf: NetworkSettings, version: int, servers: list[str], subnet_id: str) -> None:
    """No more than the configured number of DNS servers, each of the subnet's version."""
    if len(servers) > conf.max_dns_nameservers:
        raise faults.DNSNameServersExhausted(subnet_id, conf.max_dns_nameservers)
    for server in servers:
        matches_version(version, server, "dns_nameserver")


def host_routes(
    conf: NetworkSettings, version: int, routes: list[dict[str, str]], subnet_id: str
) -> list[dict[str, str]]:
    """Routes checked and normalised (destinations as prefixes)."""
    if len(routes) > conf.max_subnet_host_routes:
        raise faults.HostRoutesExhausted(subnet_id, conf.max_subnet_host_routes)
    out = []
    for route in routes:
        try:
            destination = addressing.network(route["destination"])
            addressing.address(route["nexthop"])
        except (KeyError, ValueError):
            raise faults.InvalidInput(f"Invalid route: {route}") from None
        matches_version(version, route["nexthop"], "nexthop")
        matches_version(version, route["destination"], "destination")
        out.append({"destination": str(destination), "nexthop": route["nexthop"]})
    return out


def gateway(
    net: addressing.IPNetwork, body: dict[str, Any], version: int
) -> addressing.IPAddress | None:
    """The gateway of a new subnet: the asked one (checked), none, or the first address."""
    if "gateway_ip" not in body:
        return addressing.default_gateway(net)
    given = body["gateway_ip"]
    if given is None:
        return None
    matches_version(version, given, "gateway_ip")
    address = addressing.address(given)
    addressing.check_gateway(net, address)
    return address


def pools(
    net: addressing.IPNetwork,
    body: dict[str, Any],
    gateway_ip: addressing.IPAddress | None,
) -> list[addressing.Pool]:
    """The allocation pools: the asked ones (checked against the gateway) or all but it."""
    given = body.get("allocation_pools")
    if given is None:
        return addressing.default_pools(net, gateway_ip)
    found = addressing.parse_pools(net, given)
    addressing.check_gateway_outside(gateway_ip, found)
    return found
