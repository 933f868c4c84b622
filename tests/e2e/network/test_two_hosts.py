"""Two hosts for real: one network spanning two agents, its traffic carried over VXLAN.

    vm-a ─ tap ─ brq ─ vxlan-<vni> ┐                  ┌ vxlan-<vni> ─ brq ─ tap ─ vm-b
       "hosta" (agent host-a)      └─ underlay veth ──┘      "hostb" (agent host-b)
                              192.0.2.1          192.0.2.2

Each "host" is a sandbox namespace with its own network agent (both on the
cloud's one database and bus): the cloud's agent serves host-a, a second agent
built the same way serves host-b. The only link between the two is the
underlay veth carrying the VTEP addresses, so whatever passes between the VMs
went through the VXLAN devices, steered by the static FDB entries
(l2-population) each agent writes from the other's registered VTEP.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from stackling.app import build_app
from stackling.network.agent.agent import NetworkAgent
from stackling.network.linux import addresses, links, names, vxlan
from stackling.network.linux.cmd import ip_argv, run_json
from stackling.network.linux.vxlan import FdbEntry
from stackling.network.service.core import NetworkService
from tests.conftest import issue_token, make_settings
from tests.e2e.network.conftest import Sandbox, plug_guest
from tests.e2e.network.test_agent import Cloud, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

HOST_A, HOST_B = "host-a", "host-b"
VTEP_A, VTEP_B = "192.0.2.1", "192.0.2.2"
UNDERLAY = "underlay"
PORT = "8000"


def network_settings(box: Sandbox, *, host: str, host_ns: str, local_ip: str, tag: str) -> dict:
    """One host's network settings: its agent, confined to its sandbox namespace."""
    return {
        "agent_enabled": True,
        "agent_host": host,
        "host_netns": host_ns,
        "local_ip": local_ip,
        "tag": tag,
        "dhcp_dir": str(box.dir / f"dhcp-{host}"),
        "agent_poll_s": 0.3,
        "tenant_network_type": "vxlan",
    }


@asynccontextmanager
async def two_hosts(box: Sandbox) -> AsyncIterator[tuple[Cloud, NetworkAgent, str]]:
    """The cloud with host-a's agent, and host-b's agent beside it: (cloud, agent b, hostb)."""
    host_a, host_b = await box.namespace("hosta"), await box.namespace("hostb")
    # The underlay: the two hosts' only link, carrying their VTEP addresses.
    await links.ensure_veth(UNDERLAY, UNDERLAY, peer_netns=host_b, netns=host_a)
    await addresses.ensure_addresses(UNDERLAY, [f"{VTEP_A}/24"], netns=host_a)
    await addresses.ensure_addresses(UNDERLAY, [f"{VTEP_B}/24"], netns=host_b)

    settings = make_settings(
        box.dir / "data",
        services=["identity", "network"],
        network=network_settings(box, host=HOST_A, host_ns=host_a, local_ip=VTEP_A, tag=box.tag),
    )
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            c.headers["X-Auth-Token"] = await issue_token(c)
            plugin = app.state.runtime.service("network")
            assert plugin.agent is not None and plugin.agent.host == HOST_A
            # Host-b: its own settings (agent, namespace, VTEP; its own local files, as
            # another machine would have), the same database and bus.
            # Its own tag prefix (still under the sandbox's): its start-up sweep and
            # namespaces never meet host-a's.
            conf_b = network_settings(
                box, host=HOST_B, host_ns=host_b, local_ip=VTEP_B, tag=f"{box.tag}b"
            )
            settings_b = make_settings(
                box.dir / "data-b", services=["identity", "network"], network=conf_b
            )
            svc_b = NetworkService(settings_b, plugin.svc.db)
            svc_b.runtime = plugin.svc.runtime
            agent_b = NetworkAgent(svc_b, HOST_B)
            # Served as the plugin serves its own agent: on the host's agent topic.
            svc_b.runtime.bus.serve(agent_b.topic, agent_b.on_message)
            await agent_b.start()
            try:
                yield Cloud(c, plugin, host_a, box), agent_b, host_b
            finally:
                await agent_b.stop()


async def port_on(c: Cloud, net_id: str, host: str) -> dict[str, Any]:
    """An instance's port on the network, bound to `host`."""
    return await c.create(
        "port",
        network_id=net_id,
        device_owner="compute:nova",
        device_id=str(uuid.uuid4()),
        **{"binding:host_id": host},
    )


async def exists(name: str, netns: str) -> bool:
    return await links.get_link(name, netns=netns) is not None


async def status_is(c: Cloud, port_id: str, status: str) -> bool:
    return bool((await c.get(f"ports/{port_id}"))["port"]["status"] == status)


async def vm_on(
    c: Cloud, agent: NetworkAgent, port: dict[str, Any], *, host_ns: str, bridge: str, role: str
) -> str:
    """A namespace standing for the port's instance, plugged as compute would: its namespace."""
    await eventually(lambda: exists(bridge, host_ns), f"the bridge in {host_ns}")
    guest, _ = await plug_guest(
        c.box,
        host=host_ns,
        bridge=bridge,
        role=role,
        cidr=port["fixed_ips"][0]["ip_address"] + "/24",
        mac=port["mac_address"],
        port_id=port["id"],
    )
    await agent.port_plugged(port["id"])
    return guest


async def fdb(device: str, netns: str) -> set[FdbEntry]:
    return await vxlan.list_fdb(device, netns=netns)


async def vxlan_packets(device: str, netns: str) -> tuple[int, int]:
    """(received, sent) packets of a VXLAN device."""
    (entry,) = await run_json(ip_argv(netns, "-j", "-s", "link", "show", "dev", device))
    stats = entry["stats64"]
    return int(stats["rx"]["packets"]), int(stats["tx"]["packets"])


async def test_a_network_spans_two_hosts_over_vxlan(box: Sandbox) -> None:
    async with two_hosts(box) as (c, agent_b, host_b):
        host_a = c.host_ns
        agents = await c.get("agents")
        vteps = {
            a["host"]: a["configurations"]["tunneling_ip"]
            for a in agents["agents"]
            if a["agent_type"] == "Linux bridge agent"
        }
        assert vteps == {HOST_A: VTEP_A, HOST_B: VTEP_B}

        net = await c.create("network", name="spanning")
        assert net["provider:network_type"] == "vxlan"
        vni = net["provider:segmentation_id"]
        await c.create(
            "subnet", network_id=net["id"], ip_version=4, cidr="10.60.0.0/24", enable_dhcp=False
        )
        port_a = await port_on(c, net["id"], HOST_A)
        port_b = await port_on(c, net["id"], HOST_B)
        ip_a, ip_b = (p["fixed_ips"][0]["ip_address"] for p in (port_a, port_b))
        mac_a, mac_b = (p["mac_address"].lower() for p in (port_a, port_b))
        bridge = names.bridge_name(net["id"])
        vm_a = await vm_on(c, c.agent, port_a, host_ns=host_a, bridge=bridge, role="vma")
        vm_b = await vm_on(c, agent_b, port_b, host_ns=host_b, bridge=bridge, role="vmb")
        for port in (port_a, port_b):
            await eventually(lambda p=port: status_is(c, p["id"], "ACTIVE"), "both ports ACTIVE")

        # Each host has the network's VXLAN device in its bridge, sending from its own VTEP
        # to the IANA port, learning nothing.
        device = names.vxlan_name(vni)
        for host_ns, local in ((host_a, VTEP_A), (host_b, VTEP_B)):
            link = await links.get_link(device, netns=host_ns)
            assert link is not None and link.kind == "vxlan", (host_ns, link)
            assert link.master == bridge and link.mtu == 1450
            assert link.data["id"] == vni and link.data["local"] == local
            assert link.data["port"] == vxlan.VXLAN_PORT and link.data["learning"] is False

        # l2-population: each host floods to the other's VTEP and sends the other VM's MAC
        # straight there (and has no entry for its own VM, which its bridge learns).
        want_a = {FdbEntry(vxlan.FLOOD_MAC, VTEP_B), FdbEntry(mac_b, VTEP_B)}
        want_b = {FdbEntry(vxlan.FLOOD_MAC, VTEP_A), FdbEntry(mac_a, VTEP_A)}
        await eventually(lambda: _eq(fdb(device, host_a), want_a), "host-a's FDB entries")
        await eventually(lambda: _eq(fdb(device, host_b), want_b), "host-b's FDB entries")

        # Traffic between the VMs: the hosts' only link is the underlay, so it went over VXLAN.
        before_a = await vxlan_packets(device, host_a)
        before_b = await vxlan_packets(device, host_b)
        ping = await box.probe(vm_a, "ping", ip_b)
        assert ping.rc == 0, ping.err
        await box.spawn(vm_b, "serve", PORT)
        seen = await box.probe(vm_a, "connect", ip_b, PORT)
        assert seen.rc == 0 and seen.out == ip_a, seen
        assert (await box.probe(vm_b, "ping", ip_a)).rc == 0
        after_a = await vxlan_packets(device, host_a)
        after_b = await vxlan_packets(device, host_b)
        # Both directions crossed both VXLAN devices (rx and tx each side).
        assert after_a[0] > before_a[0] and after_a[1] > before_a[1], (before_a, after_a)
        assert after_b[0] > before_b[0] and after_b[1] > before_b[1], (before_b, after_b)

        # Host-b's port is deleted: host-a forgets its MAC and stops flooding to host-b
        # (nothing of the network is there any more), and host-b tears the network down.
        await c.delete(f"ports/{port_b['id']}")
        await eventually(lambda: _eq(fdb(device, host_a), set()), "host-a's entries for b gone")
        await eventually(lambda: _negate(exists(device, host_b)), "host-b's VXLAN device removed")
        assert await exists(device, host_a) and await exists(bridge, host_a)
        assert (await box.probe(vm_a, "ping", ip_b, "--timeout", "1.5")).rc != 0


async def _eq(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def _negate(value: Any) -> bool:
    return not await value
