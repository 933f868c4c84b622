"""A network's DHCP and DNS service as data, and the dnsmasq files rendered from it (pure).

One dnsmasq serves one network from inside its qdhcp- namespace. Its main
configuration (which subnets, which interface, where its files are) only
changes by restarting it; the static hosts (MAC → address, hostname), the
per-subnet options and the DNS names are in three files it re-reads on SIGHUP.
As in Neutron, address ranges are `static`: only ports the cloud knows get an
address, always the one the cloud allocated.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from stackling.network.linux import names
from stackling.network.linux.links import check_ifname, check_mac

DEFAULT_DOMAIN = "openstacklocal"
DEFAULT_LEASE_S = 86400
METADATA_IP = "169.254.169.254"
MAX_LEASES = 1 << 24
RA_INTERVAL_S = 60
IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(_LABEL)
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
# dnsmasq reads values to the end of the line: no spaces, commas or comment marks.
_PATH = re.compile(r"/[A-Za-z0-9_./+-]*")


@dataclass(frozen=True, slots=True)
class HostRoute:
    """One of a subnet's extra routes (Neutron `host_routes`)."""

    destination: str
    nexthop: str


@dataclass(frozen=True, slots=True)
class DhcpSubnet:
    """A subnet as its DHCP server needs it."""

    subnet_id: str
    cidr: str
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[HostRoute, ...] = ()
    ipv6_address_mode: str | None = None  # slaac, dhcpv6-stateful, dhcpv6-stateless
    ipv6_ra_mode: str | None = None  # the same modes; set: this dnsmasq sends the RAs
    # Offer a route to the metadata service (169.254.169.254) through this address:
    # the DHCP port's own, on a network without a router to carry it.
    metadata_nexthop: str | None = None

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        """The subnet's prefix."""
        return ipaddress.ip_network(self.cidr)

    @property
    def tag(self) -> str:
        """The dnsmasq tag that ties options to this subnet."""
        return f"subnet-{names.canonical_id(self.subnet_id)}"


@dataclass(frozen=True, slots=True)
class DhcpHost:
    """A port's fixed address: the one address the MAC gets, and its DNS name."""

    mac: str
    ip: str
    hostname: str  # one DNS label; the name is hostname.<domain>


@dataclass(frozen=True, slots=True)
class DhcpNetwork:
    """Everything one network's dnsmasq serves."""

    network_id: str
    namespace: str  # qdhcp-<network id>
    interface: str  # the DHCP port's device inside it, ns-<11>
    subnets: tuple[DhcpSubnet, ...]
    hosts: tuple[DhcpHost, ...] = ()
    mtu: int | None = None
    domain: str = DEFAULT_DOMAIN
    lease_s: int = DEFAULT_LEASE_S


@dataclass(frozen=True, slots=True)
class DhcpFiles:
    """Where one network's dnsmasq keeps its files: <root>/<network id>/."""

    dir: Path

    @classmethod
    def under(cls, root: Path, network_id: str) -> DhcpFiles:
        """The files of a network under `root`."""
        return cls(root / names.canonical_id(network_id))

    @property
    def conf(self) -> Path:
        """The main configuration (changes need a restart)."""
        return self.dir / "dnsmasq.conf"

    @property
    def hosts(self) -> Path:
        """--dhcp-hostsfile: MAC, hostname, address per line (re-read on SIGHUP)."""
        return self.dir / "hosts"

    @property
    def opts(self) -> Path:
        """--dhcp-optsfile: per-subnet options (re-read on SIGHUP)."""
        return self.dir / "opts"

    @property
    def addn_hosts(self) -> Path:
        """--addn-hosts: the DNS names of the network's ports (re-read on SIGHUP)."""
        return self.dir / "addn_hosts"

    @property
    def leases(self) -> Path:
        """The lease database dnsmasq writes."""
        return self.dir / "leases"

    @property
    def pid(self) -> Path:
        """The pid file dnsmasq writes."""
        return self.dir / "pid"

    @property
    def log(self) -> Path:
        """dnsmasq's own log."""
        return self.dir / "log"

    @property
    def ifindex(self) -> Path:
        """The ifindex of the interface dnsmasq was started on (we write it, not dnsmasq)."""
        return self.dir / "ifindex"


def _path(path: Path) -> str:
    text = str(path)
    if not _PATH.fullmatch(text):
        raise ValueError(f"dnsmasq cannot use the path {text!r} (plain characters only)")
    return text


def _domain(domain: str) -> str:
    if not _DOMAIN.fullmatch(domain) or len(domain) > 253:
        raise ValueError(f"bad DNS domain {domain!r}")
    return domain


def _hostname(name: str) -> str:
    if not _HOSTNAME.fullmatch(name):
        raise ValueError(f"bad hostname {name!r} (one DNS label)")
    return name


def _dhcp_subnets(network: DhcpNetwork) -> list[DhcpSubnet]:
    for subnet in network.subnets:
        for mode in (subnet.ipv6_address_mode, subnet.ipv6_ra_mode):
            if mode is not None and (mode not in IPV6_MODES or subnet.network.version == 4):
                raise ValueError(f"subnet {subnet.subnet_id}: bad IPv6 mode {mode!r}")
    return [s for s in network.subnets if s.enable_dhcp]


def _range(subnet: DhcpSubnet, lease_s: int) -> str | None:
    net = subnet.network
    lease = f"{lease_s}s"
    if net.version == 4:
        return f"set:{subnet.tag},{net.network_address},static,{net.netmask},{lease}"
    address_mode, ra_mode = subnet.ipv6_address_mode, subnet.ipv6_ra_mode
    if address_mode == "slaac":
        # No DHCPv6 addresses; with our RAs, the prefix for autoconfiguration only.
        mode = "ra-only" if ra_mode else None
    elif address_mode == "dhcpv6-stateless" and ra_mode:
        mode = "ra-stateless"
    else:
        # Stateful, stateless without our RAs (information requests), or no mode at
        # all: Neutron's choice for all three.
        mode = "static"
    if mode is None:
        return None
    return f"set:{subnet.tag},{net.network_address},{mode},{net.prefixlen},{lease}"


def _lease_max(subnets: list[DhcpSubnet]) -> int:
    return max(1, min(MAX_LEASES, sum(s.network.num_addresses for s in subnets)))


def render_config(network: DhcpNetwork, files: DhcpFiles) -> str:
    """dnsmasq.conf: serve only this namespace's interface, only from our files."""
    subnets = _dhcp_subnets(network)
    interface = check_ifname(network.interface)
    domain = _domain(network.domain)
    lines = [
        f"# Stackling: DHCP and DNS of network {names.canonical_id(network.network_id)}.",
        "# Generated: a change to this file takes a restart; hosts, opts and addn_hosts a SIGHUP.",
        # Never the host's resolvers or /etc/hosts: tenants see only their network's names.
        "no-resolv",
        "no-hosts",
        # Only this interface, bound to its addresses, never loopback.
        "bind-interfaces",
        f"interface={interface}",
        "except-interface=lo",
        f"pid-file={_path(files.pid)}",
        f"dhcp-leasefile={_path(files.leases)}",
        f"dhcp-hostsfile={_path(files.hosts)}",
        f"dhcp-optsfile={_path(files.opts)}",
        f"addn-hosts={_path(files.addn_hosts)}",
        f"log-facility={_path(files.log)}",
        f"domain={domain}",
        # Names in our domain are answered here or not at all (there is no upstream).
        f"local=/{domain}/",
        "dhcp-authoritative",
        # The options are ours: a client's file/sname fields stay what they are.
        "dhcp-no-override",
        f"dhcp-lease-max={_lease_max(subnets)}",
    ]
    lines += [f"dhcp-range={r}" for r in (_range(s, network.lease_s) for s in subnets) if r]
    if any(s.ipv6_ra_mode for s in subnets):
        # Router lifetime 0: this namespace routes nothing, so it must not become
        # anyone's default router; the router's own advertisements do that.
        mtu = f"mtu:{network.mtu}," if network.mtu else ""
        lines += ["enable-ra", f"ra-param={interface},{mtu}{RA_INTERVAL_S},0"]
    return "\n".join(lines) + "\n"


def render_hosts(network: DhcpNetwork) -> str:
    """The --dhcp-hostsfile: one "MAC,hostname,address" line per fixed address."""
    lines = []
    for host in sorted(network.hosts, key=lambda h: (check_mac(h.mac), h.ip)):
        ip = ipaddress.ip_address(host.ip)
        shown = f"[{ip}]" if ip.version == 6 else str(ip)
        lines.append(f"{check_mac(host.mac)},{_hostname(host.hostname)},{shown}")
    return "".join(f"{line}\n" for line in lines)


def render_addn_hosts(network: DhcpNetwork) -> str:
    """The --addn-hosts file: each port's address and its names, as /etc/hosts has them."""
    domain = _domain(network.domain)
    lines = []
    for host in sorted(network.hosts, key=lambda h: (h.hostname, h.ip)):
        name = _hostname(host.hostname)
        lines.append(f"{ipaddress.ip_address(host.ip)}\t{name}.{domain} {name}")
    return "".join(f"{line}\n" for line in lines)


def _routes_v4(subnet: DhcpSubnet, others: list[DhcpSubnet]) -> list[tuple[str, str]]:
    routes: list[tuple[str, str]] = []
    # Other subnets of the same network are on this link: no gateway needed.
    routes += [(str(o.network), "0.0.0.0") for o in others if o.network.version == 4]
    if subnet.metadata_nexthop:
        routes.append((f"{METADATA_IP}/32", str(ipaddress.IPv4Address(subnet.metadata_nexthop))))
    for route in subnet.host_routes:
        dest = ipaddress.ip_network(route.destination)
        if dest.version == 4:
            routes.append((str(dest), str(ipaddress.IPv4Address(route.nexthop))))
    if routes and subnet.gateway_ip and not any(d == "0.0.0.0/0" for d, _ in routes):
        # A client given classless routes ignores the router option (RFC 3442):
        # the default route must be among them.
        routes.append(("0.0.0.0/0", str(ipaddress.IPv4Address(subnet.gateway_ip))))
    return routes


def render_opts(network: DhcpNetwork) -> str:
    """The --dhcp-optsfile: router, DNS servers, MTU and routes of each subnet."""
    subnets = _dhcp_subnets(network)
    lines: list[str] = []
    for subnet in subnets:
        tag = f"tag:{subnet.tag}"
        servers = [ipaddress.ip_address(s) for s in subnet.dns_nameservers]
        if subnet.network.version == 4:
            gateway = str(ipaddress.IPv4Address(subnet.gateway_ip)) if subnet.gateway_ip else ""
            # An empty router option tells dnsmasq to send none (no gateway, no default route).
            lines.append(f"{tag},option:router{',' + gateway if gateway else ''}")
            if v4 := [str(s) for s in servers if s.version == 4]:
                lines.append(f"{tag},option:dns-server,{','.join(v4)}")
            if network.mtu:
                lines.append(f"{tag},option:mtu,{network.mtu}")
            others = [o for o in subnets if o is not subnet]
            if routes := _routes_v4(subnet, others):
                flat = ",".join(f"{dest},{hop}" for dest, hop in routes)
                lines.append(f"{tag},option:classless-static-route,{flat}")
                # The same list under Microsoft's older option number, for old Windows.
                lines.append(f"{tag},249,{flat}")
        else:
            if v6 := [f"[{s}]" for s in servers if s.version == 6]:
                lines.append(f"{tag},option6:dns-server,{','.join(v6)}")
            lines.append(f"{tag},option6:domain-search,{_domain(network.domain)}")
    return "".join(f"{line}\n" for line in lines)


def stale_leases(leases_text: str, hosts: tuple[DhcpHost, ...]) -> list[tuple[str, str]]:
    """(ip, mac) of IPv4 leases no port holds any more (dnsmasq would keep the address)."""
    held = {(h.ip, h.mac.lower()) for h in hosts}
    stale = []
    for line in leases_text.splitlines():
        fields = line.split()
        # "<expiry> <mac> <ip> <hostname> <client-id>"; IPv6 lines have no MAC there.
        if len(fields) < 3 or fields[0] == "duid" or ":" in fields[2]:
            continue
        mac, ip = fields[1].lower(), fields[2]
        if (ip, mac) not in held:
            stale.append((ip, mac))
    return stale
