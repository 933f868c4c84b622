"""Routers on this host: a qrouter- namespace per router, its qr-/qg- ports, routes and NAT.

The agent reconciles the key `router:<id>` here. One host serves a router
(`desired_l3.serving_host`: its L3 binding's host, else the first live agent
by name; every router is looked at again when the live agents change, so a
router moves off a dead host); there the run reads the router's rows and
converges its namespace: forwarding on, one veth per interface (qr-<port>
inside, tap<port> in the network's bridge) with the port's MAC and addresses,
the gateway (qg-<port> into the external network's bridge) with its addresses
and each floating IP as a /32, default and extra routes, the NAT table
(`linux.nat`) and, for IPv6 subnets with an RA mode, a radvd advertising them
(`linux.radvd`: the guests' default route). It then binds the router's ports
to this host (so their networks' bridges and VXLAN exist here and other hosts'
forwarding entries point here) and writes port and floating IP statuses. A
router that is down keeps its namespace and devices but stops forwarding,
translating and advertising. Anywhere else, or once the router is gone, the
namespace, its devices and its radvd are removed. Every step converges from
any starting point, so a run cut short anywhere is completed by the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.network import models as m
from stackling.network.agent import bridges, desired, desired_l3
from stackling.network.agent.desired_l3 import RouterView
from stackling.network.linux import addresses, links, names, nat, netns, radvd
from stackling.network.service.core import AGENT_TYPE, NetworkService

LOG = logging.getLogger(__name__)

ROUTER_PREFIX = "router:"
NETWORK_PREFIX = "network:"
_ROUTER_DEVICES = (names.Kind.ROUTER_PORT, names.Kind.GATEWAY_PORT)


class RouterReconciler:
    """The routers this host serves, converged one `router:<id>` key at a time."""

    def __init__(self, svc: NetworkService, host: str, submit: Callable[[str], None]) -> None:
        self.svc = svc
        self.conf = svc.conf
        self.host = host
        self.netns = self.conf.host_netns
        self.tag = self.conf.tag
        self._submit = submit
        # Beside the DHCP servers' files, where the agent's sweep finds strays of both.
        dhcp_root = self.conf.dhcp_dir or svc.settings.data_dir / "network" / "dhcp"
        self.radvd_root = radvd.root_beside(dhcp_root)
        # What each router's last run read (its ports, floating IPs and their fixed
        # ports, subnets, networks): a message naming a deleted one still finds it.
        self._learnt: dict[str, set[str]] = {}
        self._ports: dict[str, set[str]] = {}
        self._networks: dict[str, set[str]] = {}
        # The live L3 agents as last seen: a change moves routers between hosts.
        self._alive: frozenset[str] | None = None

    # -- which routers a message concerns ---------------------------------------------

    async def keys_for(self, kind: str, resource_id: str) -> list[str]:
        """The router keys a changed resource affects."""
        found: set[str] = set()
        if kind == "router":
            found.add(resource_id)
        async with self.svc.db.session() as s:
            if kind == "floatingip":
                row = await s.get(m.FloatingIP, resource_id)
                if row is not None:
                    found |= {r for r in (row.router_id, row.last_known_router_id) if r}
            elif kind == "port":
                found |= set(
                    await s.scalars(
                        select(m.RouterPort.router_id).where(m.RouterPort.port_id == resource_id)
                    )
                )
                rows = await s.execute(
                    select(m.FloatingIP.router_id, m.FloatingIP.last_known_router_id).where(
                        m.FloatingIP.fixed_port_id == resource_id
                    )
                )
                found |= {r for pair in rows.all() for r in pair if r}
            elif kind == "subnet":
                network_id = await s.scalar(
                    select(m.Subnet.network_id).where(m.Subnet.id == resource_id)
                )
                if network_id is not None:
                    found |= await self._routers_on(s, network_id)
            elif kind == "network":
                found |= await self._routers_on(s, resource_id)
        found |= {r for r, ids in self._learnt.items() if resource_id in ids}
        return [ROUTER_PREFIX + r for r in sorted(found)]

    @staticmethod
    async def _routers_on(s: AsyncSession, network_id: str) -> set[str]:
        rows = await s.scalars(
            select(m.RouterPort.router_id)
            .join(m.Port, m.Port.id == m.RouterPort.port_id)
            .where(m.Port.network_id == network_id)
        )
        return set(rows)

    async def all_routers(self) -> list[str]:
        """Every router in the database (each run decides whether it is this host's)."""
        async with self.svc.db.session() as s:
            return sorted(await s.scalars(select(m.Router.id)))

    # -- which host serves a router ------------------------------------------------

    @staticmethod
    async def _l3_agents(s: AsyncSession) -> list[tuple[str, dt.datetime]]:
        """(host, last heartbeat) of every enabled agent that runs routers."""
        rows = await s.execute(
            select(m.Agent.host, m.Agent.heartbeat_timestamp, m.Agent.configurations).where(
                m.Agent.agent_type == AGENT_TYPE, m.Agent.admin_state_up.is_(True)
            )
        )
        return [
            (host, beat)
            for host, beat, conf in rows.all()
            if isinstance(conf, dict) and conf.get("l3")
        ]

    async def _serving_host(self, s: AsyncSession, router_id: str) -> str | None:
        bound = await s.scalar(
            select(m.Agent.host)
            .join(m.RouterL3Agent, m.RouterL3Agent.agent_id == m.Agent.id)
            .where(m.RouterL3Agent.router_id == router_id)
            .order_by(m.Agent.host)
            .limit(1)
        )
        return desired_l3.serving_host(bound, await self._l3_agents(s), m.now())

    async def watch_agents(self) -> None:
        """When L3 agents come or go, every router is looked at again (it may move here or away)."""
        async with self.svc.db.session() as s:
            alive = frozenset(desired_l3.alive_hosts(await self._l3_agents(s), m.now()))
        if self._alive is not None and alive != self._alive:
            LOG.info("L3 agents now %s: reconsidering every router", sorted(alive))
            for router_id in await self.all_routers():
                self._submit(ROUTER_PREFIX + router_id)
        self._alive = alive

    async def load(self, router_id: str) -> RouterView | None:
        """The router's rows if this host should run it now (exists, up, served here)."""
        async with self.svc.db.session() as s:
            view = await desired_l3.load_router(s, router_id)
            if view is None:
                return None
            if await self._serving_host(s, router_id) != self.host:
                return None
        return view

    # -- the reconcile ---------------------------------------------------------------

    async def reconcile(self, router_id: str) -> None:
        """Converge one router's namespace (or its absence) on this host."""
        async with self.svc.db.session() as s:
            view = await desired_l3.load_router(s, router_id)
            host = await self._serving_host(s, router_id) if view is not None else None
        if view is None or host != self.host:
            await self.teardown(router_id)
            return
        namespace = names.router_namespace(router_id, self.tag)
        await netns.ensure_namespace(namespace)
        # A router that is administratively down stays wired (its ports ACTIVE, as
        # Neutron with OVN shows them) but neither routes nor translates anything.
        await netns.enable_forwarding(namespace, on=view.active)
        plugged = []
        for port in view.interfaces:
            inner = names.router_port_name(port.id)
            addrs = desired_l3.interface_addresses(view, port)
            await self._plug(view, port, inner, addrs, namespace)
            plugged.append(port.id)
        if view.gateway is not None:
            inner = names.gateway_port_name(view.gateway.id)
            addrs = desired_l3.gateway_addresses(view)
            await self._plug(view, view.gateway, inner, addrs, namespace)
            plugged.append(view.gateway.id)
        await self._remove_stale_devices(router_id, view, namespace)
        await addresses.ensure_routes(desired_l3.router_routes(view), netns=namespace)
        wanted_nat = desired_l3.router_nat(view) if view.active else None
        if wanted_nat is None:
            await nat.remove_router_nat(netns=namespace)
        else:
            await nat.apply_router_nat(wanted_nat, netns=namespace)
        # Down, it must not be anyone's default router: radvd's last word says so.
        adverts = desired_l3.router_adverts(view, namespace) if view.active else None
        if adverts is None:
            await radvd.stop(router_id, self.radvd_root)
        else:
            await radvd.ensure(adverts, self.radvd_root)
        # A network the router left (a removed interface, a cleared gateway) may need
        # nothing more on this host.
        for network_id in sorted(self._networks.get(router_id, set()) - set(view.networks)):
            self._submit(NETWORK_PREFIX + network_id)
        self._learn(view)
        await self._write(view, desired_l3.port_statuses(view, plugged), applied=view.active)

    async def _plug(
        self, view: RouterView, port: m.Port, inner: str, addrs: list[str], namespace: str
    ) -> None:
        """One router port: a veth from the network's bridge into the namespace, addressed."""
        net = view.networks[port.network_id]
        bridge = desired.bridge_for(view.wiring(port), self.conf.bridge_mappings)
        await bridges.ensure_network_bridge(bridge, mtu=net.mtu, conf=self.conf)
        await links.ensure_veth(
            names.tap_name(port.id),
            inner,
            peer_netns=namespace,
            netns=self.netns,
            mtu=net.mtu,
            bridge=bridge,
            peer_mac=port.mac_address,
        )
        if desired_l3.has_ipv6(addrs):
            # Before the addresses: a device without IPv6 refuses them.
            await netns.enable_ipv6(inner, netns=namespace)
        await addresses.ensure_addresses(inner, addrs, netns=namespace)

    async def _remove_stale_devices(self, router_id: str, view: RouterView, namespace: str) -> None:
        """Devices of ports the router no longer has (removed interfaces, a changed gateway)."""
        taps, inside = desired_l3.wanted_links(view)
        for link in await links.list_links(netns=namespace):
            owned = names.parse_link(link.name)
            if owned is not None and owned.kind in _ROUTER_DEVICES and link.name not in inside:
                LOG.info("router %s: removing %s, its port left the router", router_id, link.name)
                await links.delete_link(link.name, netns=namespace)
        # A veth takes its peer along; a tap left alone by a crash goes here.
        gone = self._ports.get(router_id, set()) - {p.id for p in view.ports}
        await self._delete_taps({names.tap_name(p) for p in gone} - taps)

    async def _delete_taps(self, taps: set[str]) -> None:
        if not taps:
            return
        present = {link.name for link in await links.list_links(netns=self.netns)}
        for tap in sorted(taps & present):
            await links.delete_link(tap, netns=self.netns)

    async def teardown(self, router_id: str) -> None:
        """Nothing of the router on this host: its devices, namespace (and NAT with it) go."""
        namespace = names.router_namespace(router_id, self.tag)
        # Stopped, not just killed with its namespace: its last advertisement ends the
        # guests' default route through it, and its files go.
        await radvd.stop(router_id, self.radvd_root)
        if await netns.namespace_exists(namespace):
            # Deleted before the namespace, so that their host ends go now, not when the
            # kernel gets round to destroying the namespace.
            for link in await links.list_links(netns=namespace):
                owned = names.parse_link(link.name)
                if owned is not None and owned.kind in _ROUTER_DEVICES:
                    await links.delete_link(link.name, netns=namespace)
            await netns.delete_namespace(namespace)
            LOG.info("router %s removed from %s", router_id, self.host)
        await self._delete_taps({names.tap_name(p) for p in self._ports.pop(router_id, set())})
        # Bridges that were only there for this router may go now.
        for network_id in sorted(self._networks.pop(router_id, set())):
            self._submit(NETWORK_PREFIX + network_id)
        self._learnt.pop(router_id, None)

    def _learn(self, view: RouterView) -> None:
        ids = {p.id for p in view.ports}
        for fip in [*view.floating, *view.released]:
            ids.add(fip.id)
            if fip.fixed_port_id:
                ids.add(fip.fixed_port_id)
        ids |= set(view.subnets) | set(view.networks)
        self._learnt[view.router.id] = ids
        self._ports[view.router.id] = {p.id for p in view.ports}
        self._networks[view.router.id] = set(view.networks)

    async def _write(self, view: RouterView, ports: dict[str, str], *, applied: bool) -> None:
        """Port statuses and bindings to this host, floating IP statuses; then tell the networks."""
        rebound = [p for p in view.ports if p.binding_host_id != self.host]
        port_changes = {
            p.id: ports[p.id]
            for p in view.ports
            if p.id in ports and (p.status != ports[p.id] or p.binding_host_id != self.host)
        }
        fips = desired_l3.floating_statuses(view, applied)
        fip_changes = {
            f.id: fips[f.id] for f in [*view.floating, *view.released] if f.status != fips[f.id]
        }
        if port_changes or fip_changes:

            async def _update(s: AsyncSession) -> None:
                for port_id, status in port_changes.items():
                    await s.execute(
                        update(m.Port)
                        .where(m.Port.id == port_id)
                        .values(status=status, binding_host_id=self.host)
                    )
                for fip_id, status in fip_changes.items():
                    await s.execute(
                        update(m.FloatingIP)
                        .where(
                            m.FloatingIP.id == fip_id,
                            # A floating IP moved meanwhile is its new router's to report.
                            or_(
                                m.FloatingIP.router_id == view.router.id,
                                m.FloatingIP.router_id.is_(None),
                            ),
                        )
                        .values(status=status)
                    )

            await self.svc.tx(_update)
        for network_id in sorted({p.network_id for p in rebound}):
            self._submit(NETWORK_PREFIX + network_id)
        for port in rebound:
            # Every host's agent: the network's bridge here, forwarding entries elsewhere.
            await self.svc.notify_data_plane("port", port.id, "updated")

    # -- what the sweep keeps ------------------------------------------------------------

    async def keep(self) -> tuple[set[str], set[str]]:
        """The namespaces and host-side taps of the routers this host runs now."""
        kept_namespaces: set[str] = set()
        kept_taps: set[str] = set()
        for router_id in await self.all_routers():
            view = await self.load(router_id)
            if view is None:
                continue
            kept_namespaces.add(names.router_namespace(router_id, self.tag))
            kept_taps |= desired_l3.wanted_links(view)[0]
        return kept_namespaces, kept_taps
