"""One host's network agent: bridges, VXLAN, DHCP and security groups made to follow the rows.

A bus message names a resource (`{"kind", "id"}`); the agent turns it into
keys for its serial queue: `network:<id>` (bridge, VXLAN device, DHCP server,
port status), `router:<id>` (a router's namespace, ports, routes and NAT: see
`routers`) and `filter` (the host-wide security group filter). Each run reads
the rows as they are now and converges; a network that is gone, or no longer
needs anything on this host, is torn down. On start-up the agent applies the
host guard, reconciles every network and router it should serve, and only then sweeps
whatever has our names but was not wanted (namespaces, links, nft tables,
dnsmasq processes), so a kill -9 at any moment converges on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.network import faults
from stackling.network import models as m
from stackling.network.agent import bridges, desired
from stackling.network.agent.l2pop import RemotePort, fdb_for
from stackling.network.agent.routers import ROUTER_PREFIX, RouterReconciler
from stackling.network.agent.zones import ZoneBook
from stackling.network.linux import (
    addresses,
    dnsmasq,
    guard,
    links,
    names,
    netns,
    secgroups,
    sweep,
    vxlan,
)
from stackling.network.linux.cmd import LinuxNetError, run
from stackling.network.metadata import process as metadata_proxy
from stackling.network.metadata.dataplane import METADATA_CIDR, ensure_metadata, stop_metadata
from stackling.network.metadata.service import socket_path
from stackling.network.service import ports
from stackling.network.service.core import AGENT_BINARY, AGENT_TYPE, NetworkService, agent_topic
from stackling.reconcile.queue import KeyedQueue

LOG = logging.getLogger(__name__)

FILTER_KEY = "filter"
NETWORK_PREFIX = "network:"
HEARTBEAT_S = 10.0
ACTIVE, DOWN = "ACTIVE", "DOWN"


def dhcp_device_id(host: str, network_id: str) -> str:
    """The device_id of this host's DHCP port on a network (Neutron's `dhcp<uuid5(host)>-<net>`)."""
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host)}-{network_id}"


class NetworkAgent:
    """The data plane of one host, reconciled per network and for the host's port filter."""

    def __init__(self, svc: NetworkService, host: str) -> None:
        self.svc = svc
        self.conf = svc.conf
        self.host = host
        self.topic = agent_topic(host)
        data = svc.settings.data_dir / "network"
        self.dhcp_root: Path = self.conf.dhcp_dir or data / "dhcp"
        self.zones = ZoneBook(data / "zones.json")
        self.netns = self.conf.host_netns
        self.tag = self.conf.tag
        self.queue = KeyedQueue(self.reconcile, concurrency=4, name=f"network:{host}")
        # Learnt from the rows each reconcile reads: a deleted port or subnet names
        # no network any more, so these say which network to look at again.
        self._network_of: dict[str, str] = {}
        # Networks with something on this host.
        self._served: set[str] = set()
        # Instance taps as the last runs saw them (tap → network, present): the tap
        # watch compares the host with these, so no appearance or loss goes unseen.
        self._taps: dict[str, tuple[str, bool]] = {}
        self._filter_taps: dict[str, bool] = {}
        self._ready = False
        self._pending: set[str] = set()
        self._poller: asyncio.Task[None] | None = None
        self.l3 = RouterReconciler(svc, host, self._submit)

    # -- life cycle -------------------------------------------------------------

    async def start(self) -> None:
        """Register, guard the host, converge every network, sweep strays, then watch taps."""
        await self.svc.tx(self._register)
        if not secgroups.bridge_netfilter_available():
            # The filter's connection tracking needs it; the kernel may just not have loaded it.
            with contextlib.suppress(LinuxNetError):
                await run(["modprobe", "br_netfilter"])
        await guard.apply_host_guard(desired.host_guard(self.conf), netns=self.netns)
        for bridge in bridges.provider_bridges(self.conf):
            try:
                await bridges.ensure_provider_bridge(bridge, self.conf)
            except LinuxNetError as exc:
                # Its networks' reconciles fail and say so; the rest of the host works.
                LOG.error("network agent %s: %s", self.host, exc)
        wanted = await self._wanted_networks()
        for network_id in wanted:
            self.queue.submit(NETWORK_PREFIX + network_id)
        for router_id in await self.l3.all_routers():
            self.queue.submit(ROUTER_PREFIX + router_id)
        self.queue.submit(FILTER_KEY)
        await self.queue.drain()
        await self.sweep()
        self._ready = True
        # What arrived while the sweep ran is reconciled now, against the rows as they are.
        for key in sorted(self._pending):
            self.queue.submit(key)
        self._pending.clear()
        self._poller = asyncio.create_task(self._poll(), name=f"network-agent:{self.host}")

    async def stop(self) -> None:
        """Stop working; the data plane stays as it is (guests keep their network)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await self.queue.close()

    async def drain(self) -> None:
        """Wait until nothing is being reconciled (for tests)."""
        await self.queue.drain()

    async def _register(self, s: AsyncSession) -> None:
        """This host's agent row: how the service finds its topic, and l2pop its VTEP."""
        row = await s.scalar(
            select(m.Agent).where(m.Agent.agent_type == AGENT_TYPE, m.Agent.host == self.host)
        )
        if row is None:
            row = m.Agent(id=new_uuid(), agent_type=AGENT_TYPE, host=self.host, created_at=m.now())
            s.add(row)
        row.binary = AGENT_BINARY
        row.topic = self.topic
        if row.admin_state_up is None:
            row.admin_state_up = True  # an operator's "disabled" outlives a restart
        row.configurations = {
            "tunnel_types": ["vxlan"],
            "tunneling_ip": self.conf.local_ip,
            "dhcp": True,
            "l3": True,
            "bridge_mappings": dict(self.conf.bridge_mappings),
        }
        row.started_at = row.heartbeat_timestamp = m.now()

    # -- messages ----------------------------------------------------------------

    async def on_message(self, message: dict[str, Any]) -> None:
        """A resource changed: queue the keys it affects."""
        kind, resource_id = str(message.get("kind", "")), str(message.get("id", ""))
        for key in await self._keys_for(kind, resource_id):
            self._submit(key)

    def _submit(self, key: str) -> None:
        if self._ready:
            self.queue.submit(key)
        else:
            self._pending.add(key)

    async def _keys_for(self, kind: str, resource_id: str) -> list[str]:
        routers = await self.l3.keys_for(kind, resource_id)
        return [*await self._l2_keys_for(kind, resource_id), *routers]

    async def _l2_keys_for(self, kind: str, resource_id: str) -> list[str]:
        if kind == "network":
            return [NETWORK_PREFIX + resource_id, FILTER_KEY]
        if kind in ("subnet", "port"):
            model = m.Subnet if kind == "subnet" else m.Port
            async with self.svc.db.session() as s:
                network_id = await s.scalar(select(model.network_id).where(model.id == resource_id))
            network_id = network_id or self._network_of.get(resource_id)
            if network_id is None:
                # Gone before we ever saw it: any network we serve may have held it.
                return [*(NETWORK_PREFIX + n for n in sorted(self._served)), FILTER_KEY]
            return [NETWORK_PREFIX + network_id, FILTER_KEY]
        if kind in ("security_group", "security_group_rule"):
            return [FILTER_KEY]
        if kind in ("router", "floatingip"):
            return []  # `RouterReconciler.keys_for`
        LOG.debug("network agent: nothing to do for %s %s", kind, resource_id)
        return []

    async def port_plugged(self, port_id: str) -> None:
        """Compute plugged (or unplugged) a port's tap: converge its network and the filter."""
        await self.on_message({"kind": "port", "id": port_id})

    # -- the reconciler ------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        """Converge one key toward the rows."""
        if key == FILTER_KEY:
            await self.reconcile_filter()
        elif key.startswith(NETWORK_PREFIX):
            await self.reconcile_network(key.removeprefix(NETWORK_PREFIX))
        elif key.startswith(ROUTER_PREFIX):
            await self.l3.reconcile(key.removeprefix(ROUTER_PREFIX))
        else:
            LOG.warning("network agent: unknown key %s", key)

    async def reconcile_network(self, network_id: str) -> None:
        """Bridge, VXLAN, DHCP and port status of one network, or nothing if it needs none here."""
        async with self.svc.db.session() as s:
            view = await desired.load_network(s, network_id)
        # Forget the network's old ports and subnets; a deleted one stays known until now,
        # so its delete message (which names nothing else) still found this network.
        for stale in [k for k, n in self._network_of.items() if n == network_id]:
            del self._network_of[stale]
        if view is not None:
            for port in view.ports:
                self._network_of[port.id] = network_id
            for subnet in view.subnets:
                self._network_of[subnet.id] = network_id
        mine = view.bound_here(self.host) if view is not None else []
        if view is None or not view.needed_here(self.host):
            await self._teardown(network_id, view)
            return
        self._served.add(network_id)
        bridge = desired.bridge_for(view, self.conf.bridge_mappings)
        mtu = view.network.mtu
        await bridges.ensure_network_bridge(bridge, mtu=mtu, conf=self.conf)
        await self._ensure_vxlan(view, bridge)
        statuses: dict[str, str] = {}
        present = {link.name: link for link in await links.list_links(netns=self.netns)}
        seen: dict[str, tuple[str, bool]] = {}
        for port in mine:
            tap = names.tap_name(port.id)
            link = present.get(tap)
            seen[tap] = (network_id, link is not None)
            if link is not None and link.master != bridge:
                await links.plug(tap, bridge, mtu=mtu, netns=self.netns)
            plugged = link is not None and view.network.admin_state_up and port.admin_state_up
            statuses[port.id] = ACTIVE if plugged else DOWN
        for port in view.router_ports_here(self.host):
            # The router's run makes these veths and says their status; a bridge made
            # again after a teardown gets them back here, a lost one its router again.
            tap = names.tap_name(port.id)
            link = present.get(tap)
            seen[tap] = (network_id, link is not None)
            if link is None:
                self._submit(ROUTER_PREFIX + port.device_id)
            elif link.master != bridge:
                await links.plug(tap, bridge, mtu=mtu, netns=self.netns)
        if view.dhcp_subnets:
            dhcp_port = await self._ensure_dhcp(view, bridge)
            if dhcp_port is not None:
                statuses[dhcp_port.id] = ACTIVE
        else:
            await self._stop_dhcp(view)
        await self._unplug_strangers(view, bridge, present.values())
        await self._set_statuses(view, statuses)
        # Recorded once converged: a failed run stays different, so the tap watch retries it.
        self._forget_taps(network_id)
        self._taps.update(seen)

    def _forget_taps(self, network_id: str) -> None:
        """Drop what the tap watch knows of a network's taps."""
        for tap in [t for t, (n, _) in self._taps.items() if n == network_id]:
            del self._taps[tap]

    async def _unplug_strangers(
        self, view: desired.NetworkView, bridge: str, present: Iterable[links.Link]
    ) -> None:
        """Taps left in the bridge by deleted ports leave it: nothing would filter them."""
        known = {names.tap_name(p.id) for p in view.ports}
        for link in present:
            owned = names.parse_link(link.name)
            if link.master != bridge or owned is None or owned.kind != names.Kind.TAP:
                continue
            if link.name not in known:
                LOG.info("unplugging %s from %s: its port is gone", link.name, bridge)
                await links.unplug(link.name, netns=self.netns)

    async def _ensure_vxlan(self, view: desired.NetworkView, bridge: str) -> None:
        if view.vxlan_vni is None:
            # Local networks live on this host's bridge only; flat networks would add
            # the physical interface here (no physical network mapping exists yet).
            return
        device = await vxlan.ensure_vxlan(
            view.vxlan_vni,
            local_ip=self.conf.local_ip,
            bridge=bridge,
            mtu=view.network.mtu,
            netns=self.netns,
        )
        vteps = await self._vteps()
        fdb = fdb_for(
            (RemotePort(p.mac_address, p.binding_host_id) for p in view.ports),
            vteps,
            self.host,
        )
        await vxlan.sync_fdb(device, flood=fdb.flood, unicast=fdb.unicast, netns=self.netns)

    async def _vteps(self) -> dict[str, str]:
        async with self.svc.db.session() as s:
            rows = await s.execute(
                select(m.Agent.host, m.Agent.configurations).where(m.Agent.agent_type == AGENT_TYPE)
            )
        found = {}
        for host, conf in rows.all():
            if isinstance(conf, dict) and conf.get("tunneling_ip"):
                found[host] = str(conf["tunneling_ip"])
        return found

    async def _ensure_dhcp(self, view: desired.NetworkView, bridge: str) -> m.Port | None:
        port = await self._dhcp_port(view)
        if port is None:
            return None
        namespace = names.dhcp_namespace(view.network.id, self.tag)
        inner = names.dhcp_port_name(port.id)
        await netns.ensure_namespace(namespace)
        await links.ensure_veth(
            names.tap_name(port.id),
            inner,
            peer_netns=namespace,
            netns=self.netns,
            mtu=view.network.mtu,
            bridge=bridge,
            peer_mac=port.mac_address,
        )
        # The metadata address stays beside the port's own, or each run would churn it.
        wanted = [*desired.dhcp_addresses(view, port), METADATA_CIDR]
        await addresses.ensure_addresses(inner, wanted, netns=namespace)
        spec = desired.dhcp_network(view, port, tag=self.tag)
        outcome = await dnsmasq.ensure(spec, self.dhcp_root)
        LOG.debug("dnsmasq of network %s: %s", view.network.id, outcome)
        await ensure_metadata(
            namespace,
            inner,
            view.network.id,
            dhcp_root=self.dhcp_root,
            upstream=socket_path(self.svc.settings),
        )
        return port

    async def _dhcp_port(self, view: desired.NetworkView) -> m.Port | None:
        """This host's DHCP port of the network, one address per DHCP subnet (made if absent)."""
        device_id = dhcp_device_id(self.host, view.network.id)
        wanted = [s.id for s in view.dhcp_subnets]
        mine = [p for p in view.dhcp_ports() if p.device_id == device_id]
        ctx = self._admin(view.network.project_id)
        if not mine:
            body: dict[str, Any] = {
                "project_id": view.network.project_id,
                "network_id": view.network.id,
                "name": "",
                "device_owner": desired.DHCP_OWNER,
                "device_id": device_id,
                "binding:host_id": self.host,
                "fixed_ips": [{"subnet_id": s} for s in wanted],
            }
            port = await ports.create_port(self.svc, ctx, body)
            self._network_of[port.id] = view.network.id
            view.ports.append(port)
            return port
        port = mine[0]
        have = [(a.subnet_id, a.ip_address) for a in port.fixed_ips]
        keep = [(s, ip) for s, ip in have if s in wanted]
        missing = [s for s in wanted if s not in {k[0] for k in keep}]
        if keep != have or missing:
            fixed = [{"subnet_id": s, "ip_address": ip} for s, ip in keep]
            fixed += [{"subnet_id": s} for s in missing]
            port = await ports.update_port(self.svc, ctx, port.id, {"fixed_ips": fixed})
            view.ports = [port if p.id == port.id else p for p in view.ports]
        return port

    async def _stop_dhcp(self, view: desired.NetworkView | None) -> None:
        """No DHCP subnet (left): stop the server, remove its namespace, release its port."""
        network_id = view.network.id if view is not None else None
        if view is None or network_id is None:
            return
        await stop_metadata(network_id, dhcp_root=self.dhcp_root)
        await dnsmasq.stop(network_id, self.dhcp_root)
        await netns.delete_namespace(names.dhcp_namespace(network_id, self.tag))
        device_id = dhcp_device_id(self.host, network_id)
        for port in view.dhcp_ports():
            if port.device_id == device_id:
                await links.delete_link(names.tap_name(port.id), netns=self.netns)
                await self._release(port)

    async def _release(self, port: m.Port) -> None:
        with contextlib.suppress(faults.PortNotFound):
            await ports.delete_port(self.svc, self._admin(port.project_id), port.id)

    async def _teardown(self, network_id: str, view: desired.NetworkView | None) -> None:
        """Nothing of the network on this host any more: DHCP, namespace, VXLAN and bridge go."""
        await self._stop_dhcp(view)
        await stop_metadata(network_id, dhcp_root=self.dhcp_root)
        await dnsmasq.stop(network_id, self.dhcp_root)
        await netns.delete_namespace(names.dhcp_namespace(network_id, self.tag))
        bridge = names.bridge_name(network_id)
        for link in await links.list_links(netns=self.netns):
            # The VXLAN device is named after a VNI the deleted row no longer tells.
            if link.master == bridge and link.kind == "vxlan":
                await links.delete_link(link.name, netns=self.netns)
        await links.delete_link(bridge, netns=self.netns)
        self._served.discard(network_id)
        self._forget_taps(network_id)

    async def _set_statuses(self, view: desired.NetworkView, statuses: dict[str, str]) -> None:
        changed = {
            p.id: statuses[p.id]
            for p in view.ports
            if p.id in statuses and p.status != statuses[p.id]
        }
        if not changed:
            return

        async def _write(s: AsyncSession) -> None:
            for port_id, status in changed.items():
                await s.execute(update(m.Port).where(m.Port.id == port_id).values(status=status))

        await self.svc.tx(_write)

    async def reconcile_filter(self) -> None:
        """The host's security group filter, from every instance port here with a device."""
        async with self.svc.db.session() as s:
            rows = await desired.load_filter(s, self.host)
        devices = {link.name for link in await links.list_links(netns=self.netns)}
        filtered = {p.network_id for p in rows.ports if names.tap_name(p.id) in devices}
        # Zones of networks still served stay as they were, so their connections survive.
        zones = await asyncio.to_thread(self.zones.assign, filtered | self._served)
        state = desired.host_filter(rows, devices, zones, self.conf.bridge_mappings)
        await secgroups.apply_host_filter(state, netns=self.netns)
        # Recorded once applied: a failed run stays different, so the tap watch retries it.
        self._filter_taps = {
            names.tap_name(p.id): names.tap_name(p.id) in devices for p in rows.ports
        }

    # -- start-up sweep and the tap watch ------------------------------------------

    async def _wanted_networks(self) -> list[str]:
        """Networks with a DHCP subnet, or with an instance or router port bound to this host."""
        async with self.svc.db.session() as s:
            dhcp = await s.scalars(
                select(m.Subnet.network_id).where(m.Subnet.enable_dhcp.is_(True)).distinct()
            )
            found = set(dhcp)
            bound = await s.scalars(
                select(m.Port.network_id).where(m.Port.binding_host_id == self.host).distinct()
            )
            found |= set(bound)
        return sorted(found)

    async def keep(self) -> sweep.Keep:
        """What the rows say must exist on this host now."""
        namespaces: set[str] = set()
        kept_links: set[str] = set()
        dhcp: set[str] = set()
        for network_id in await self._wanted_networks():
            async with self.svc.db.session() as s:
                view = await desired.load_network(s, network_id)
            if view is None:
                continue
            if not view.needed_here(self.host):
                continue
            kept_links.add(desired.bridge_for(view, self.conf.bridge_mappings))
            if view.vxlan_vni is not None:
                kept_links.add(names.vxlan_name(view.vxlan_vni))
            kept_links |= {names.tap_name(p.id) for p in view.bound_here(self.host)}
            if view.dhcp_subnets:
                namespaces.add(names.dhcp_namespace(network_id, self.tag))
                dhcp.add(network_id)
                device_id = dhcp_device_id(self.host, network_id)
                kept_links |= {
                    names.tap_name(p.id) for p in view.dhcp_ports() if p.device_id == device_id
                }
        router_namespaces, router_taps = await self.l3.keep()
        namespaces |= router_namespaces
        kept_links |= router_taps
        # Provider bridges are the operator's: never swept, even if named like ours.
        kept_links |= set(bridges.provider_bridges(self.conf))
        return sweep.Keep(
            namespaces=frozenset(namespaces),
            links=frozenset(kept_links),
            tables=frozenset(names.HOST_TABLES),
            dhcp_networks=frozenset(dhcp),
        )

    async def sweep(self) -> sweep.Swept:
        """Remove everything with our names that the rows do not ask for."""
        keep = await self.keep()
        # Deleting a namespace ends its proxy too; this catches one whose namespace stayed.
        await metadata_proxy.kill_strays(self.dhcp_root, keep.dhcp_networks)
        swept = await sweep.sweep(
            keep, host_netns=self.netns, tag=self.tag, dhcp_root=self.dhcp_root
        )
        if any((swept.dhcp_networks, swept.namespaces, swept.links, swept.tables)):
            LOG.info("network agent %s swept strays: %s", self.host, swept)
        return swept

    async def _poll(self) -> None:
        """Taps appearing or vanishing (compute plugging) reach their network; heartbeat."""
        beat = 0.0
        while True:
            await asyncio.sleep(self.conf.agent_poll_s)
            try:
                present = {link.name for link in await links.list_links(netns=self.netns)}
                for tap, (network_id, was) in list(self._taps.items()):
                    if (tap in present) != was:
                        self.queue.submit(NETWORK_PREFIX + network_id)
                if any((tap in present) != was for tap, was in self._filter_taps.items()):
                    self.queue.submit(FILTER_KEY)
                beat += self.conf.agent_poll_s
                if beat >= HEARTBEAT_S:
                    beat = 0.0
                    await self.svc.tx(self._touch)
                    await self.l3.watch_agents()
            except Exception:
                LOG.exception("network agent %s: polling failed", self.host)

    async def _touch(self, s: AsyncSession) -> None:
        await s.execute(
            update(m.Agent)
            .where(m.Agent.agent_type == AGENT_TYPE, m.Agent.host == self.host)
            .values(heartbeat_timestamp=m.now())
        )

    def _admin(self, project_id: str) -> RequestContext:
        """The agent acting as the cloud, on the network's project (DHCP ports are its own)."""
        return RequestContext(
            request_id=f"req-{new_uuid()}",
            user_id="network-agent",
            project_id=project_id,
            roles=frozenset({"admin", "member", "reader"}),
        )
