"""What the database asks of a router's data plane, read in one session and described as data.

`load_router` reads a router with its interface and gateway ports, their
subnets and networks, its extra routes and the floating IPs that name it; the
pure builders turn that into what `linux` applies in the router's namespace:
addresses per device, static routes, the NAT (`linux.nat.RouterNat`), the IPv6
router advertisements (`linux.radvd.RouterAdverts`), and the statuses the rows
should show. `serving_host` says which host runs a router.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.network import models as m
from stackling.network.agent.desired import Wiring, wiring_of
from stackling.network.linux import names
from stackling.network.linux.addresses import Route
from stackling.network.linux.nat import FloatingNat, RouterNat
from stackling.network.linux.radvd import RaInterface, RaPrefix, RouterAdverts
from stackling.network.service.l3_ports import ROUTER_INTERFACE

ACTIVE, DOWN = "ACTIVE", "DOWN"
# An agent whose heartbeat is older than this no longer serves routers (Neutron's
# agent_down_time); agents beat every 10 s.
AGENT_DOWN_AFTER = dt.timedelta(seconds=75)


@dataclass
class RouterView:
    """A router's rows as one reconcile sees them."""

    router: m.Router
    interfaces: list[m.Port]
    gateway: m.Port | None
    subnets: dict[str, m.Subnet]  # of the interface and gateway ports
    networks: dict[str, m.Network]  # of the interface and gateway ports
    routes: list[tuple[str, str]]  # (destination, nexthop)
    # Floating IPs mapped through this router, and those it last carried (to mark DOWN).
    floating: list[m.FloatingIP] = field(default_factory=list)
    released: list[m.FloatingIP] = field(default_factory=list)

    @property
    def ports(self) -> list[m.Port]:
        """The router's ports with a device on its host: interfaces, then the gateway."""
        return [*self.interfaces, *([self.gateway] if self.gateway is not None else [])]

    @property
    def active(self) -> bool:
        """Whether the router forwards and translates (admin state up)."""
        return self.router.admin_state_up

    def wiring(self, port: m.Port) -> Wiring:
        """How the port's network reaches the host."""
        return wiring_of(self.networks[port.network_id])


async def load_router(s: AsyncSession, router_id: str) -> RouterView | None:
    """The router with its ports, subnets, networks, routes and floating IPs; None when gone."""
    router = await s.scalar(
        select(m.Router).where(m.Router.id == router_id).options(selectinload(m.Router.routes))
    )
    if router is None:
        return None
    ports = list(
        await s.scalars(
            select(m.Port)
            .join(m.RouterPort, m.RouterPort.port_id == m.Port.id)
            .where(m.RouterPort.router_id == router_id)
            .options(selectinload(m.Port.fixed_ips))
            .order_by(m.Port.created_at, m.Port.id)
        )
    )
    interfaces = [p for p in ports if p.device_owner == ROUTER_INTERFACE]
    gateway = next((p for p in ports if p.id == router.gw_port_id), None)
    used = [*interfaces, *([gateway] if gateway is not None else [])]
    subnet_ids = {a.subnet_id for p in used for a in p.fixed_ips}
    subnets = {
        sub.id: sub
        for sub in await s.scalars(
            select(m.Subnet)
            .where(m.Subnet.id.in_(subnet_ids))
            .options(selectinload(m.Subnet.dns_nameservers))
        )
    }
    networks = {
        net.id: net
        for net in await s.scalars(
            select(m.Network)
            .where(m.Network.id.in_({p.network_id for p in used}))
            .options(selectinload(m.Network.segments))
        )
    }
    fips = list(
        await s.scalars(
            select(m.FloatingIP)
            .where(
                or_(
                    m.FloatingIP.router_id == router_id,
                    m.FloatingIP.last_known_router_id == router_id,
                )
            )
            .order_by(m.FloatingIP.floating_ip_address)
        )
    )
    return RouterView(
        router=router,
        interfaces=interfaces,
        gateway=gateway,
        subnets=subnets,
        networks=networks,
        routes=[(r.destination, r.nexthop) for r in router.routes],
        floating=[f for f in fips if f.router_id == router_id and f.fixed_ip_address],
        released=[f for f in fips if f.router_id is None],
    )


def serving_host(
    bound: str | None, agents: Iterable[tuple[str, dt.datetime]], now: dt.datetime
) -> str | None:
    """The host that runs a router: its L3 binding's, else the first alive L3 agent by name.

    `agents` are (host, last heartbeat) of the agents able to run routers. Every
    agent computes the same answer from the same rows, so one host builds the
    router; when that host's agent stops beating, the next one by name takes
    over (agents look at every router again when the live set changes).
    """
    if bound:
        return bound
    alive = alive_hosts(agents, now)
    return alive[0] if alive else None


def alive_hosts(agents: Iterable[tuple[str, dt.datetime]], now: dt.datetime) -> list[str]:
    """The hosts whose agent beat recently, by name."""
    return sorted(host for host, beat in agents if now - _aware(beat) <= AGENT_DOWN_AFTER)


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; the models store UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _prefixed(port: m.Port, subnets: dict[str, m.Subnet]) -> list[str]:
    return [
        f"{a.ip_address}/{ipaddress.ip_network(subnets[a.subnet_id].cidr).prefixlen}"
        for a in port.fixed_ips
        if a.subnet_id in subnets
    ]


def interface_addresses(view: RouterView, port: m.Port) -> list[str]:
    """An interface port's addresses with their subnets' prefix lengths."""
    return _prefixed(port, view.subnets)


def gateway_addresses(view: RouterView) -> list[str]:
    """The gateway's addresses, plus each floating IP as a /32 so the router answers ARP for it."""
    if view.gateway is None:
        return []
    own = _prefixed(view.gateway, view.subnets)
    return own + [f"{f.floating_ip_address}/32" for f in view.floating]


def router_routes(view: RouterView) -> list[Route]:
    """Default routes through the external subnets' gateways, then the extra routes."""
    routes: list[Route] = []
    if view.gateway is not None:
        device = names.gateway_port_name(view.gateway.id)
        families: set[int] = set()
        for address in view.gateway.fixed_ips:
            subnet = view.subnets.get(address.subnet_id)
            if subnet is None or not subnet.gateway_ip or subnet.ip_version in families:
                continue
            families.add(subnet.ip_version)
            routes.append(Route("default", via=subnet.gateway_ip, dev=device))
    routes += [Route(destination, via=nexthop) for destination, nexthop in view.routes]
    return routes


def router_nat(view: RouterView) -> RouterNat | None:
    """The router's NAT: SNAT per enable_snat, DNAT/SNAT per floating IP; None: no gateway."""
    if view.gateway is None:
        return None
    v4 = [
        a.ip_address
        for a in view.gateway.fixed_ips
        if ipaddress.ip_address(a.ip_address).version == 4
    ]
    internal = [
        view.subnets[a.subnet_id].cidr
        for port in view.interfaces
        for a in port.fixed_ips
        if a.subnet_id in view.subnets and view.subnets[a.subnet_id].ip_version == 4
    ]
    floating = [
        FloatingNat(f.floating_ip_address, f.fixed_ip_address)
        for f in view.floating
        if f.fixed_ip_address and ipaddress.ip_address(f.fixed_ip_address).version == 4
    ]
    return RouterNat(
        gateway_device=names.gateway_port_name(view.gateway.id),
        gateway_ip=v4[0] if v4 else None,
        snat=view.router.enable_snat,
        internal_cidrs=tuple(dict.fromkeys(internal)),
        floating=tuple(floating),
    )


def has_ipv6(addrs: Iterable[str]) -> bool:
    """Whether any of a device's addresses ("2001:db8::1/64") is IPv6."""
    return any(ipaddress.ip_interface(a).version == 6 for a in addrs)


def router_adverts(view: RouterView, namespace: str) -> RouterAdverts | None:
    """What the router advertises: its interfaces' subnets with an ipv6_ra_mode; None: nothing.

    A subnet without an RA mode is advertised by some other router, or by no one
    (addresses by DHCPv6 alone), as Neutron has it.
    """
    interfaces = []
    for port in view.interfaces:
        prefixes: dict[str, RaPrefix] = {}
        for address in port.fixed_ips:
            subnet = view.subnets.get(address.subnet_id)
            if subnet is None or subnet.ip_version != 6 or not subnet.ipv6_ra_mode:
                continue
            servers = tuple(d.address for d in subnet.dns_nameservers)
            prefixes[subnet.id] = RaPrefix(subnet.cidr, subnet.ipv6_ra_mode, servers)
        if prefixes:
            mtu = view.networks[port.network_id].mtu
            name = names.router_port_name(port.id)
            interfaces.append(RaInterface(name, tuple(prefixes.values()), mtu))
    if not interfaces:
        return None
    return RouterAdverts(view.router.id, namespace, tuple(interfaces))


def port_statuses(view: RouterView, plugged: Iterable[str]) -> dict[str, str]:
    """Each router port ACTIVE when its device is plugged and it is up, else DOWN.

    The router's own admin state does not count: its ports stay wired while it is
    down (it just does not forward), as Neutron with OVN reports them.
    """
    done = set(plugged)
    return {p.id: ACTIVE if p.id in done and p.admin_state_up else DOWN for p in view.ports}


def floating_statuses(view: RouterView, applied: bool) -> dict[str, str]:
    """Floating IPs ACTIVE when mapped and applied here, DOWN when released or not applied."""
    statuses = {f.id: ACTIVE if applied and view.active else DOWN for f in view.floating}
    statuses.update({f.id: DOWN for f in view.released})
    return statuses


def wanted_links(view: RouterView) -> tuple[set[str], set[str]]:
    """The router's devices: (host-side taps, devices inside its namespace)."""
    return (
        {names.tap_name(p.id) for p in view.ports},
        {
            *(names.router_port_name(p.id) for p in view.interfaces),
            *([names.gateway_port_name(view.gateway.id)] if view.gateway is not None else []),
        },
    )
