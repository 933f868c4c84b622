"""The network agent for real: an in-process cloud whose data plane lives in a test host namespace.

The cloud's agent is given the sandbox's "host" namespace for its bridges,
taps and host tables, and the sandbox's tag for its qdhcp- namespaces, so
everything it makes is the test's and is removed afterwards (the sandbox
checks that the real host was left as it was).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from stackling.app import build_app
from stackling.network.agent.agent import NetworkAgent
from stackling.network.linux import (
    addresses,
    dnsmasq,
    links,
    names,
    netns,
    nft,
    secgroups,
    sweep,
)
from stackling.network.linux.cmd import in_netns, run
from stackling.network.linux.dhcp import DhcpFiles
from stackling.network.plugin import NetworkPlugin
from tests.conftest import issue_token, make_settings
from tests.e2e.network.conftest import Sandbox, new_id, plug_guest
from tests.e2e.network.test_dnsmasq import udhcpc
from tests.support.process import StacklingProcess, child_env, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

V20 = "/networking/v2.0"
HOST = "agent-test-host"
WAIT_S = 30.0


@dataclass
class Cloud:
    """The in-process cloud, its network plugin and the test's host namespace."""

    client: httpx.AsyncClient
    plugin: NetworkPlugin
    host_ns: str
    box: Sandbox

    @property
    def agent(self) -> NetworkAgent:
        assert self.plugin.agent is not None
        return self.plugin.agent  # type: ignore[no-any-return]

    async def create(self, member: str, **fields: Any) -> dict[str, Any]:
        r = await self.client.post(f"{V20}/{member.replace('_', '-')}s", json={member: fields})
        assert r.status_code == 201, r.text
        return dict(r.json()[member])

    async def get(self, path: str) -> Any:
        r = await self.client.get(f"{V20}/{path}")
        assert r.status_code == 200, r.text
        return r.json()

    async def delete(self, path: str) -> None:
        r = await self.client.delete(f"{V20}/{path}")
        assert r.status_code == 204, r.text

    async def dhcp_port(self, network_id: str) -> dict[str, Any]:
        found = await self.get(f"ports?network_id={network_id}&device_owner=network:dhcp")
        assert len(found["ports"]) == 1, found
        return dict(found["ports"][0])

    def files(self, network_id: str) -> DhcpFiles:
        return DhcpFiles.under(self.box.dhcp_root, network_id)

    async def link(self, name: str) -> links.Link | None:
        return await links.get_link(name, netns=self.host_ns)


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait (bounded) until `check` holds: the agent works behind the API's back."""
    deadline = time.monotonic() + WAIT_S
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not converged after {WAIT_S:g}s: {what}")
        await asyncio.sleep(0.1)


@asynccontextmanager
async def cloud(box: Sandbox) -> AsyncIterator[Cloud]:
    """A cloud serving identity and network, its agent confined to the sandbox."""
    host_ns = await box.namespace("host")
    settings = make_settings(
        box.dir / "data",
        services=["identity", "network"],
        network={
            "agent_enabled": True,
            "agent_host": HOST,
            "host_netns": host_ns,
            "tag": box.tag,
            "dhcp_dir": str(box.dhcp_root),
            "agent_poll_s": 0.3,
            "guard_prefixes": ["10.0.0.0/8"],
        },
    )
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            c.headers["X-Auth-Token"] = await issue_token(c)
            plugin = app.state.runtime.service("network")
            yield Cloud(c, plugin, host_ns, box)


async def network_with_subnet(c: Cloud, cidr: str = "10.0.0.0/24") -> tuple[dict, dict]:
    net = await c.create("network", name="net")
    sub = await c.create(
        "subnet",
        network_id=net["id"],
        ip_version=4,
        cidr=cidr,
        dns_nameservers=["10.0.0.53"],
        host_routes=[{"destination": "192.168.50.0/24", "nexthop": "10.0.0.1"}],
    )
    return net, sub


async def dhcp_ready(c: Cloud, network_id: str) -> bool:
    found = await c.get(f"ports?network_id={network_id}&device_owner=network:dhcp")
    if not found["ports"] or found["ports"][0]["status"] != "ACTIVE":
        return False
    return dnsmasq.running_pid(c.files(network_id)) is not None


async def filter_ruleset(c: Cloud) -> str:
    return await run(in_netns(c.host_ns, ["nft", "list", "table", "bridge", "stackling_sg"]))


@pytest.fixture
def busybox() -> None:
    """busybox (udhcpc) is the DHCP client (Debian package: busybox)."""
    if shutil.which("busybox") is None:
        pytest.fail("busybox is not installed (apt-get install busybox)", pytrace=False)


@pytest.mark.usefixtures("busybox")
async def test_dhcp_ports_security_groups_and_teardown(box: Sandbox) -> None:
    async with cloud(box) as c:
        net, _ = await network_with_subnet(c)
        net_id = net["id"]
        await eventually(lambda: dhcp_ready(c, net_id), "DHCP port ACTIVE and dnsmasq running")

        # The network's bridge, with its VXLAN device, in the host's namespace.
        bridge = names.bridge_name(net_id)
        assert (await c.link(bridge)) is not None
        vni = net["provider:segmentation_id"]
        device = await c.link(names.vxlan_name(vni))
        assert device is not None and device.master == bridge
        assert device.data.get("local") == "127.0.0.1"
        # The DHCP server: its namespace, its port (one address), plugged into the bridge.
        namespace = names.dhcp_namespace(net_id, box.tag)
        assert await netns.namespace_exists(namespace)
        dhcp = await c.dhcp_port(net_id)
        assert dhcp["binding:host_id"] == HOST and len(dhcp["fixed_ips"]) == 1
        dhcp_ip = dhcp["fixed_ips"][0]["ip_address"]
        tap = await c.link(names.tap_name(dhcp["id"]))
        assert tap is not None and tap.master == bridge
        inner = names.dhcp_port_name(dhcp["id"])
        # Its own address, and the metadata address its proxy listens on.
        assert {str(a) for a in await addresses.list_addresses(inner, netns=namespace)} == {
            f"{dhcp_ip}/24",
            "169.254.169.254/32",
        }
        pid = dnsmasq.running_pid(c.files(net_id))
        assert pid is not None

        # An instance's port bound to this host: a host entry (SIGHUP, same dnsmasq), DOWN
        # until its tap exists.
        port = await c.create("port", network_id=net_id, **{"binding:host_id": HOST})
        ip = port["fixed_ips"][0]["ip_address"]
        entry = f"{port['mac_address']},host-{ip.replace('.', '-')},{ip}"
        await eventually(
            lambda: asyncio.to_thread(lambda: entry in c.files(net_id).hosts.read_text()),
            "the port's host entry",
        )
        assert dnsmasq.running_pid(c.files(net_id)) == pid
        assert (await c.get(f"ports/{port['id']}"))["port"]["status"] == "DOWN"

        # Its tap appears (as compute will plug it): ACTIVE, filtered, and it gets its address.
        guest, _ = await plug_guest(
            box,
            host=c.host_ns,
            bridge=bridge,
            role="vm1",
            cidr="10.0.0.99/32",
            mac=port["mac_address"],
            port_id=port["id"],
        )
        await addresses.ensure_addresses("eth0", [], netns=guest)
        await c.agent.port_plugged(port["id"])

        async def active() -> bool:
            return (await c.get(f"ports/{port['id']}"))["port"]["status"] == "ACTIVE"

        await eventually(active, "the port ACTIVE once its tap exists")
        chain = f"egress_{names.tap_name(port['id']).replace('-', '_')}"
        await eventually(lambda: _has(c, chain), "the port's filter chains")
        lease = await udhcpc(box, guest)
        assert lease["ip"] == ip and lease["router"] == "10.0.0.1" and lease["mtu"] == "1450"
        assert lease["dns"] == "10.0.0.53"
        assert lease["hostname"] == f"host-{ip.replace('.', '-')}"
        words = lease["staticroutes"].split()
        routes = list(zip(words[::2], words[1::2], strict=True))
        assert ("169.254.169.254/32", dhcp_ip) in routes
        assert ("192.168.50.0/24", "10.0.0.1") in routes

        # A security group rule appears in (and disappears from) the ruleset.
        groups = await c.get(f"security-groups?project_id={port['project_id']}&name=default")
        group = groups["security_groups"][0]["id"]
        rule = await c.create(
            "security_group_rule",
            security_group_id=group,
            direction="ingress",
            protocol="tcp",
            port_range_min=2222,
            port_range_max=2222,
        )
        await eventually(lambda: _has(c, "tcp dport 2222"), "the new rule in the ruleset")
        # The default group's rules name the group itself: a set of its members' addresses.
        members = await nft.list_set(
            "bridge", "stackling_sg", secgroups.set_name(group, 4), netns=c.host_ns
        )
        assert members == [ip]
        await c.delete(f"security-group-rules/{rule['id']}")
        await eventually(lambda: _lacks(c, "tcp dport 2222"), "the deleted rule gone")

        # The port is deleted: its host entry goes, its chains too.
        await c.delete(f"ports/{port['id']}")
        await eventually(
            lambda: asyncio.to_thread(lambda: entry not in c.files(net_id).hosts.read_text()),
            "the host entry removed",
        )
        await eventually(lambda: _lacks(c, chain), "the deleted port's chains gone")
        # Its tap (compute's to delete) is out of the bridge: nothing filters it any more.
        await eventually(
            lambda: _master_is(c, names.tap_name(port["id"]), None), "the orphan tap unplugged"
        )

        # A tap that appears unannounced is found by the agent's watch, and so is its loss.
        other = await c.create("port", network_id=net_id, **{"binding:host_id": HOST})
        await plug_guest(
            box, host=c.host_ns, bridge=bridge, role="vm2", cidr="10.0.0.98/32",
            mac=other["mac_address"], port_id=other["id"],
        )  # fmt: skip

        async def status(port_id: str) -> str:
            return str((await c.get(f"ports/{port_id}"))["port"]["status"])

        await eventually(lambda: _eq(status(other["id"]), "ACTIVE"), "ACTIVE by the tap watch")
        await links.delete_link(names.tap_name(other["id"]), netns=c.host_ns)
        await eventually(lambda: _eq(status(other["id"]), "DOWN"), "DOWN once the tap is gone")
        await c.delete(f"ports/{other['id']}")

        # The network is deleted: DHCP server, namespace, VXLAN device and bridge go.
        await c.delete(f"networks/{net_id}")

        async def gone() -> bool:
            return (
                not await netns.namespace_exists(namespace)
                and await c.link(bridge) is None
                and await c.link(names.vxlan_name(vni)) is None
                and net_id not in dnsmasq.find_processes(box.dhcp_root)
            )

        await eventually(gone, "the network's data plane removed")
        assert not c.files(net_id).dir.exists()


async def _eq(value: Awaitable[str], expected: str) -> bool:
    return await value == expected


async def _master_is(c: Cloud, name: str, master: str | None) -> bool:
    link = await c.link(name)
    return link is not None and link.master == master


async def _has(c: Cloud, text: str) -> bool:
    return text in await filter_ruleset(c)


async def _lacks(c: Cloud, text: str) -> bool:
    return text not in await filter_ruleset(c)


async def test_restart_after_a_kill_mid_change_leaves_no_strays(box: Sandbox) -> None:
    async with cloud(box) as c:
        kept, _ = await network_with_subnet(c)
        doomed, _ = await network_with_subnet(c, "10.0.1.0/24")
        for net in (kept, doomed):
            await eventually(lambda n=net: dhcp_ready(c, n["id"]), "DHCP of both networks")

        # Killed in the middle of building a third network (a cancellation stands for
        # kill -9: nothing is cleaned up), then changes it never hears about.
        late, _ = await network_with_subnet(c, "10.0.2.0/24")
        await asyncio.sleep(0.05)
        await c.plugin.stop_agent()
        await c.delete(f"networks/{doomed['id']}")
        # ...and what a half-made change of a deleted network could have left.
        stray_net = new_id()
        stray_ns = names.dhcp_namespace(stray_net, box.tag)
        await netns.ensure_namespace(stray_ns)
        stray_bridge = names.bridge_name(stray_net)
        await links.ensure_bridge(stray_bridge, netns=c.host_ns)
        stray_tap = names.tap_name(new_id())
        await links.ensure_tap(stray_tap, bridge=stray_bridge, netns=c.host_ns)
        await nft.apply("table inet stackling_leftover {}\n", netns=c.host_ns)

        await c.plugin.start_agent()
        await c.agent.drain()
        for net in (kept, late):
            await eventually(lambda n=net: dhcp_ready(c, n["id"]), "DHCP after the restart")

        # What exists is exactly what the rows ask for: no strays of any kind.
        found = await sweep.inventory(host_netns=c.host_ns, tag=box.tag, dhcp_root=box.dhcp_root)
        keep = await c.agent.keep()
        strays = {
            "namespaces": sorted(o.name for o in found.namespaces if o.name not in keep.namespaces),
            "links": sorted(o.name for o in found.links if o.name not in keep.links),
            "tables": sorted(t for t in found.tables if t not in keep.tables),
            "dhcp": sorted(n for n in found.dhcp_networks if n not in keep.dhcp_networks),
        }
        assert strays == {"namespaces": [], "links": [], "tables": [], "dhcp": []}, strays
        assert set(found.dhcp_networks) == {kept["id"], late["id"]}
        assert stray_ns not in await netns.list_namespaces()
        assert await c.link(stray_bridge) is None and await c.link(stray_tap) is None
        assert await c.link(names.bridge_name(doomed["id"])) is None
        assert set(names.HOST_TABLES) <= set(found.tables)
        # Each network's dnsmasq runs once, in its own namespace.
        running = dnsmasq.find_processes(box.dhcp_root)
        assert sorted(running) == sorted([kept["id"], late["id"]])
        assert all(len(pids) == 1 for pids in running.values()), running


async def test_dhcp_follows_its_subnets(box: Sandbox) -> None:
    async with cloud(box) as c:
        net, sub = await network_with_subnet(c)
        net_id = net["id"]
        namespace = names.dhcp_namespace(net_id, box.tag)
        await eventually(lambda: dhcp_ready(c, net_id), "DHCP running")
        pid = dnsmasq.running_pid(c.files(net_id))

        # New DNS servers: the options file changes, the same dnsmasq re-reads it.
        r = await c.client.put(
            f"{V20}/subnets/{sub['id']}", json={"subnet": {"dns_nameservers": ["10.0.0.54"]}}
        )
        assert r.status_code == 200, r.text
        await eventually(
            lambda: asyncio.to_thread(lambda: "10.0.0.54" in c.files(net_id).opts.read_text()),
            "the new DNS server in the options",
        )
        assert dnsmasq.running_pid(c.files(net_id)) == pid

        # A second DHCP subnet: the DHCP port gets an address on it too.
        second = await c.create("subnet", network_id=net_id, ip_version=4, cidr="10.0.7.0/24")

        async def two_addresses() -> bool:
            ips = (await c.dhcp_port(net_id))["fixed_ips"]
            return {ip["subnet_id"] for ip in ips} == {sub["id"], second["id"]}

        await eventually(two_addresses, "one DHCP address per subnet")
        dhcp = await c.dhcp_port(net_id)
        inner = names.dhcp_port_name(dhcp["id"])

        async def addressed() -> bool:
            found = await addresses.list_addresses(inner, netns=namespace)
            # One per subnet, beside the metadata address.
            return len(found) == 3

        await eventually(addressed, "both addresses on the DHCP interface")

        # DHCP off everywhere: the server, its namespace, its port and the bridge go.
        for subnet in (sub, second):
            r = await c.client.put(
                f"{V20}/subnets/{subnet['id']}", json={"subnet": {"enable_dhcp": False}}
            )
            assert r.status_code == 200, r.text

        async def off() -> bool:
            ports = await c.get(f"ports?network_id={net_id}&device_owner=network:dhcp")
            return (
                not ports["ports"]
                and not await netns.namespace_exists(namespace)
                and await c.link(names.bridge_name(net_id)) is None
                and net_id not in dnsmasq.find_processes(box.dhcp_root)
            )

        await eventually(off, "DHCP removed")

        # ...and on again: everything comes back.
        r = await c.client.put(f"{V20}/subnets/{sub['id']}", json={"subnet": {"enable_dhcp": True}})
        assert r.status_code == 200, r.text
        await eventually(lambda: dhcp_ready(c, net_id), "DHCP running again")
        assert await netns.namespace_exists(namespace)


ADMIN_PASSWORD = "agent-kill-admin-pw"


def _server(box: Sandbox, host_ns: str) -> StacklingProcess:
    """`stackling up` with identity and network, its agent confined to the sandbox."""
    env = child_env(
        STACKLING_ADMIN_PASSWORD=ADMIN_PASSWORD,
        STACKLING_SERVICES='["identity", "network"]',
        STACKLING_NETWORK__AGENT_HOST=HOST,
        STACKLING_NETWORK__HOST_NETNS=host_ns,
        STACKLING_NETWORK__TAG=box.tag,
        STACKLING_NETWORK__DHCP_DIR=str(box.dhcp_root),
        STACKLING_NETWORK__AGENT_ENABLED="true",
        STACKLING_NETWORK__PUBLIC_NETWORK_CIDR="",
    )
    return StacklingProcess(box.dir / "data", free_port(), env)


async def test_kill_9_mid_change_then_restart_converges(box: Sandbox) -> None:
    host_ns = await box.namespace("host")
    server = _server(box, host_ns)
    try:
        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as client:
            client.headers["X-Auth-Token"] = await issue_token(client, password=ADMIN_PASSWORD)
            c = Cloud(client, None, host_ns, box)  # type: ignore[arg-type]
            kept, _ = await network_with_subnet(c)
            doomed, _ = await network_with_subnet(c, "10.0.1.0/24")
            for net in (kept, doomed):
                await eventually(lambda n=net: dhcp_ready(c, n["id"]), "DHCP of both networks")
            # A change in flight and a delete, then SIGKILL while the agent works on them.
            late, _ = await network_with_subnet(c, "10.0.2.0/24")
            await c.delete(f"networks/{doomed['id']}")
        await asyncio.to_thread(server.kill)

        server = _server(box, host_ns)
        await asyncio.to_thread(server.start)
        async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as client:
            client.headers["X-Auth-Token"] = await issue_token(client, password=ADMIN_PASSWORD)
            c = Cloud(client, None, host_ns, box)  # type: ignore[arg-type]
            for net in (kept, late):
                await eventually(lambda n=net: dhcp_ready(c, n["id"]), "DHCP after the restart")
            wanted_links = set()
            for net in (kept, late):
                dhcp = await c.dhcp_port(net["id"])
                wanted_links |= {
                    names.bridge_name(net["id"]),
                    names.vxlan_name(net["provider:segmentation_id"]),
                    names.tap_name(dhcp["id"]),
                }
        found = await sweep.inventory(host_netns=host_ns, tag=box.tag, dhcp_root=box.dhcp_root)
        assert {o.name for o in found.namespaces} == {
            names.dhcp_namespace(kept["id"], box.tag),
            names.dhcp_namespace(late["id"], box.tag),
        }
        assert {o.name for o in found.links} == wanted_links
        assert set(found.tables) == set(names.HOST_TABLES)
        running = dnsmasq.find_processes(box.dhcp_root)
        assert sorted(running) == sorted([kept["id"], late["id"]])
        assert all(len(pids) == 1 for pids in running.values()), running
        assert sorted(found.dhcp_networks) == sorted([kept["id"], late["id"]])
    finally:
        await asyncio.to_thread(server.kill)


async def test_dual_stack_network(box: Sandbox) -> None:
    async with cloud(box) as c:
        net, v4 = await network_with_subnet(c)
        v6 = await c.create(
            "subnet",
            network_id=net["id"],
            ip_version=6,
            cidr="fd00:1::/64",
            ipv6_address_mode="dhcpv6-stateful",
            ipv6_ra_mode="dhcpv6-stateful",
        )
        port = await c.create("port", network_id=net["id"])

        async def both() -> bool:
            if not await dhcp_ready(c, net["id"]):
                return False
            ips = (await c.dhcp_port(net["id"]))["fixed_ips"]
            hosts = await asyncio.to_thread(c.files(net["id"]).hosts.read_text)
            v6_ip = next(i["ip_address"] for i in port["fixed_ips"] if ":" in i["ip_address"])
            return {i["subnet_id"] for i in ips} == {v4["id"], v6["id"]} and f"[{v6_ip}]" in hosts

        await eventually(both, "DHCP on both subnets")
        conf = c.files(net["id"]).conf.read_text()
        assert "enable-ra" in conf and "fd00:1::," in conf
        dhcp = await c.dhcp_port(net["id"])
        namespace = names.dhcp_namespace(net["id"], box.tag)
        found = await addresses.list_addresses(names.dhcp_port_name(dhcp["id"]), netns=namespace)
        assert {a.version for a in found} == {4, 6}
