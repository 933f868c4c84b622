"""What the database asks of one host's data plane, read in one session and described as data.

The readers load a network (or the host's filtered ports) with everything the
data plane needs; the builders turn those rows into `linux.dhcp.DhcpNetwork`
and `linux.secgroups.HostFilter`, without touching the kernel. `bridge_for`
is the one place that says which bridge a network uses on a host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.network import models as m
from stackling.network.linux import guard, names
from stackling.network.linux.dhcp import DhcpHost, DhcpNetwork, DhcpSubnet, HostRoute
from stackling.network.linux.secgroups import (
    AddressPair,
    HostFilter,
    PortFilter,
    RemoteGroup,
    SecurityRule,
)
from stackling.network.service.l3_ports import ROUTER_GATEWAY, ROUTER_INTERFACE
from stackling.settings import NetworkSettings

DHCP_OWNER = "network:dhcp"
# Ports the cloud itself owns (DHCP, routers) are trusted: never filtered, as in Neutron.
TRUSTED_PREFIX = "network:"
# A router's ports with a device on the host serving it (floating IP ports have none).
ROUTER_OWNERS = (ROUTER_INTERFACE, ROUTER_GATEWAY)

_PORT_OPTIONS = (
    selectinload(m.Port.fixed_ips),
    selectinload(m.Port.security_group_bindings),
    selectinload(m.Port.allowed_address_pairs),
)


@dataclass(frozen=True, slots=True)
class Wiring:
    """How a network reaches a host: its id and its (first) segment's type and physical network."""

    network_id: str
    network_type: str = "local"
    physical_network: str | None = None


def wiring_of(net: m.Network) -> Wiring:
    """A network's wiring, from its segments (loaded with it)."""
    if not net.segments:
        return Wiring(net.id)
    segment = net.segments[0]
    return Wiring(net.id, segment.network_type, segment.physical_network)


def bridge_for(view: NetworkView | Wiring, mappings: Mapping[str, str]) -> str:
    """The bridge a network uses on this host: the mapped bridge of its physical network, else brq.

    As the linuxbridge agent: a flat network whose physical network has a bridge
    mapping lives on that (operator-named) bridge; every other network has its own.
    """
    wiring = view.wiring if isinstance(view, NetworkView) else view
    return names.network_bridge(
        wiring.network_id, wiring.network_type, wiring.physical_network, mappings
    )


def host_guard(conf: NetworkSettings) -> guard.HostGuard:
    """The host guard: provider bridges count as the cloud's, their host ranges are guarded."""
    mapped = tuple(sorted({*conf.bridge_mappings.values(), *conf.provider_host_cidrs}))
    provider = [
        str(ipaddress.ip_interface(cidr).network) for cidr in conf.provider_host_cidrs.values()
    ]
    return guard.HostGuard(
        cloud_bridges=(f"{names.BRIDGE_PREFIX}*", *mapped),
        guarded_prefixes=tuple(dict.fromkeys([*conf.guard_prefixes, *provider])),
        cloud_interfaces=(*guard.CLOUD_INTERFACES, *mapped),
    )


@dataclass
class NetworkView:
    """A network's rows as one reconcile sees them."""

    network: m.Network
    subnets: list[m.Subnet]
    ports: list[m.Port]
    vxlan_vni: int | None = None
    network_type: str = "local"
    physical_network: str | None = None

    @property
    def wiring(self) -> Wiring:
        """How the network reaches this host."""
        return Wiring(self.network.id, self.network_type, self.physical_network)

    @property
    def dhcp_subnets(self) -> list[m.Subnet]:
        """The subnets a DHCP server serves."""
        return [s for s in self.subnets if s.enable_dhcp]

    def dhcp_ports(self) -> list[m.Port]:
        """The network's DHCP ports (any host)."""
        return [p for p in self.ports if p.device_owner == DHCP_OWNER]

    def bound_here(self, host: str) -> list[m.Port]:
        """Ports bound to `host` that are not the cloud's own (instances' ports)."""
        return [
            p
            for p in self.ports
            if p.binding_host_id == host and not p.device_owner.startswith(TRUSTED_PREFIX)
        ]

    def router_ports_here(self, host: str) -> list[m.Port]:
        """Router interface and gateway ports of routers this host serves (bound here)."""
        return [
            p for p in self.ports if p.binding_host_id == host and p.device_owner in ROUTER_OWNERS
        ]

    def needed_here(self, host: str) -> bool:
        """Whether the network needs its bridge on `host`: DHCP, instance or router ports."""
        return bool(self.dhcp_subnets or self.bound_here(host) or self.router_ports_here(host))


async def load_network(s: AsyncSession, network_id: str) -> NetworkView | None:
    """The network with its segments, subnets and ports; None when it is gone."""
    net = await s.scalar(
        select(m.Network)
        .where(m.Network.id == network_id)
        .options(selectinload(m.Network.segments))
    )
    if net is None:
        return None
    subnets = list(
        await s.scalars(
            select(m.Subnet)
            .where(m.Subnet.network_id == network_id)
            .options(
                selectinload(m.Subnet.dns_nameservers),
                selectinload(m.Subnet.host_routes),
            )
            .order_by(m.Subnet.created_at, m.Subnet.id)
        )
    )
    ports = list(
        await s.scalars(
            select(m.Port)
            .where(m.Port.network_id == network_id)
            .options(*_PORT_OPTIONS)
            .order_by(m.Port.created_at, m.Port.id)
        )
    )
    view = NetworkView(net, subnets, ports)
    if net.segments:
        segment = net.segments[0]
        view.network_type = segment.network_type
        view.physical_network = segment.physical_network
        if segment.network_type == "vxlan":
            view.vxlan_vni = segment.segmentation_id
    return view


def hostname(port: m.Port, ip: str) -> str:
    """The port's DNS label: its dns_name, else host-<address with dashes> as Neutron names it."""
    if port.dns_name:
        return port.dns_name.split(".")[0]
    return "host-" + str(ipaddress.ip_address(ip)).replace(".", "-").replace(":", "-")


def dhcp_network(view: NetworkView, dhcp_port: m.Port, *, tag: str) -> DhcpNetwork:
    """The network's dnsmasq: its DHCP subnets, every port's address, MTU and the metadata route."""
    own = {a.subnet_id: a.ip_address for a in dhcp_port.fixed_ips}
    subnets = []
    for subnet in view.subnets:
        served = subnet.enable_dhcp
        nexthop = own.get(subnet.id) if subnet.ip_version == 4 and served else None
        subnets.append(
            DhcpSubnet(
                subnet_id=subnet.id,
                cidr=subnet.cidr,
                gateway_ip=subnet.gateway_ip,
                enable_dhcp=served,
                dns_nameservers=tuple(d.address for d in subnet.dns_nameservers),
                host_routes=tuple(HostRoute(r.destination, r.nexthop) for r in subnet.host_routes),
                ipv6_address_mode=subnet.ipv6_address_mode,
                ipv6_ra_mode=subnet.ipv6_ra_mode,
                metadata_nexthop=nexthop,
            )
        )
    served_ids = {s.id for s in view.dhcp_subnets}
    hosts = [
        DhcpHost(p.mac_address, a.ip_address, hostname(p, a.ip_address))
        for p in view.ports
        for a in p.fixed_ips
        if a.subnet_id in served_ids
    ]
    return DhcpNetwork(
        network_id=view.network.id,
        namespace=names.dhcp_namespace(view.network.id, tag),
        interface=names.dhcp_port_name(dhcp_port.id),
        subnets=tuple(subnets),
        hosts=tuple(hosts),
        mtu=view.network.mtu,
        domain=view.network.dns_domain.strip(".") or "openstacklocal",
    )


def dhcp_addresses(view: NetworkView, dhcp_port: m.Port) -> list[str]:
    """The DHCP port's addresses with their subnets' prefix lengths."""
    prefix = {s.id: ipaddress.ip_network(s.cidr).prefixlen for s in view.subnets}
    return [
        f"{a.ip_address}/{prefix[a.subnet_id]}"
        for a in dhcp_port.fixed_ips
        if a.subnet_id in prefix
    ]


@dataclass
class FilterRows:
    """The host's filtered ports and what their rules refer to."""

    ports: list[m.Port]
    rules: dict[str, list[m.SecurityGroupRule]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    # The ports' networks, for their bridges (a network missing here uses its brq).
    wirings: dict[str, Wiring] = field(default_factory=dict)


async def load_filter(s: AsyncSession, host: str) -> FilterRows:
    """Every instance port bound to `host`, the rules of its groups and remote groups' members."""
    ports = [
        p
        for p in await s.scalars(
            select(m.Port)
            .where(m.Port.binding_host_id == host)
            .options(*_PORT_OPTIONS)
            .order_by(m.Port.id)
        )
        if not p.device_owner.startswith(TRUSTED_PREFIX)
    ]
    groups = {b.security_group_id for p in ports for b in p.security_group_bindings}
    rows = FilterRows(ports)
    if ports:
        nets = await s.scalars(
            select(m.Network)
            .where(m.Network.id.in_({p.network_id for p in ports}))
            .options(selectinload(m.Network.segments))
        )
        rows.wirings = {net.id: wiring_of(net) for net in nets}
    if not groups:
        return rows
    for rule in await s.scalars(
        select(m.SecurityGroupRule)
        .where(m.SecurityGroupRule.security_group_id.in_(groups))
        .order_by(m.SecurityGroupRule.created_at, m.SecurityGroupRule.id)
    ):
        rows.rules.setdefault(rule.security_group_id, []).append(rule)
    remote = {
        r.remote_group_id for rules in rows.rules.values() for r in rules if r.remote_group_id
    }
    for group_id in remote:
        rows.members[group_id] = []
    if remote:
        # Members on every host: a remote group names addresses wherever they are.
        members = await s.scalars(
            select(m.Port)
            .join(m.PortSecurityGroup, m.PortSecurityGroup.port_id == m.Port.id)
            .where(m.PortSecurityGroup.security_group_id.in_(remote))
            .options(*_PORT_OPTIONS)
        )
        for port in members.unique():
            addresses = [a.ip_address for a in port.fixed_ips]
            addresses += [pair.ip_address for pair in port.allowed_address_pairs]
            for binding in port.security_group_bindings:
                if binding.security_group_id in rows.members:
                    rows.members[binding.security_group_id] += addresses
    return rows


def _rule(row: m.SecurityGroupRule) -> SecurityRule:
    return SecurityRule(
        direction=row.direction,
        ethertype=row.ethertype,
        protocol=row.protocol,
        port_range_min=row.port_range_min,
        port_range_max=row.port_range_max,
        remote_ip_prefix=row.remote_ip_prefix,
        remote_group_id=row.remote_group_id,
        remote_address_group_id=row.remote_address_group_id,
        id=row.id,
    )


def host_filter(
    rows: FilterRows,
    devices: set[str],
    zones: dict[str, int],
    mappings: Mapping[str, str] | None = None,
) -> HostFilter:
    """The filter of the ports whose device exists on this host (`devices`), zones per network."""
    ports = []
    for port in rows.ports:
        device = names.tap_name(port.id)
        if device not in devices or port.network_id not in zones:
            continue
        rules = tuple(
            _rule(r)
            for b in port.security_group_bindings
            for r in rows.rules.get(b.security_group_id, ())
        )
        ports.append(
            PortFilter(
                port_id=port.id,
                device=device,
                bridge=bridge_for(
                    rows.wirings.get(port.network_id) or Wiring(port.network_id), mappings or {}
                ),
                zone=zones[port.network_id],
                mac=port.mac_address,
                fixed_ips=tuple(a.ip_address for a in port.fixed_ips),
                allowed_address_pairs=tuple(
                    AddressPair(p.ip_address, p.mac_address) for p in port.allowed_address_pairs
                ),
                rules=rules,
                port_security=port.port_security_enabled,
            )
        )
    groups = tuple(
        RemoteGroup(group_id, tuple(dict.fromkeys(addresses)))
        for group_id, addresses in sorted(rows.members.items())
    )
    return HostFilter(tuple(ports), groups)
