"""Namespaces, bridges, veth pairs, taps, addresses, routes and sysctls, for real.

Each test builds inside its own namespaces (see conftest) and checks both the
kernel's state and that a second `ensure` changes nothing, and that drift is
repaired.
"""

from __future__ import annotations

import logging
import re

import pytest

from stackling.network.linux import addresses, guard, links, names, nat, netns, vxlan
from stackling.network.linux.addresses import Route
from stackling.network.linux.cmd import ip_argv, run
from tests.e2e.network.conftest import Sandbox, new_id, plug_guest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_namespace_lifecycle_is_idempotent(box: Sandbox) -> None:
    name = names.router_namespace(new_id(), tag=box.tag)
    await netns.ensure_namespace(name)
    await netns.ensure_namespace(name)
    assert name in await netns.list_namespaces()
    lo = await links.get_link("lo", netns=name)
    assert lo is not None and lo.up
    await netns.enable_forwarding(name)
    assert await netns.get_sysctl("net.ipv4.ip_forward", netns=name) == "1"
    assert await netns.get_sysctl("net.ipv6.conf.all.forwarding", netns=name) == "1"
    await netns.delete_namespace(name)
    await netns.delete_namespace(name)
    assert name not in await netns.list_namespaces()


async def test_bridge_is_created_once_and_repaired(box: Sandbox) -> None:
    host = await box.namespace("host")
    bridge = names.bridge_name(new_id())
    await links.ensure_bridge(bridge, mtu=1450, netns=host)
    first = await links.get_link(bridge, netns=host)
    assert first is not None and first.kind == "bridge" and first.up and first.mtu == 1450
    assert first.data["stp_state"] == 0 and first.data.get("vlan_filtering", 0) == 0
    assert first.data["nf_call_iptables"] == 1
    assert await netns.get_sysctl(f"net.ipv6.conf.{bridge}.disable_ipv6", netns=host) == "1"
    await links.ensure_bridge(bridge, mtu=1450, netns=host)
    again = await links.get_link(bridge, netns=host)
    assert again is not None and (again.ifindex, again.mtu, again.up) == (first.ifindex, 1450, True)

    # Drift: someone turns STP on, changes the MTU and takes it down.
    await _ip(
        host, "link", "set", bridge, "down", "mtu", "1400", "type", "bridge", "stp_state", "1"
    )
    await links.ensure_bridge(bridge, mtu=1450, netns=host)
    fixed = await links.get_link(bridge, netns=host)
    assert fixed is not None and fixed.ifindex == first.ifindex
    assert fixed.up and fixed.mtu == 1450 and fixed.data["stp_state"] == 0

    # A device of the wrong kind under the bridge's name is replaced.
    await links.delete_link(bridge, netns=host)
    await links.delete_link(bridge, netns=host)
    await links.ensure_tap(bridge, netns=host)
    await links.ensure_bridge(bridge, netns=host)
    replaced = await links.get_link(bridge, netns=host)
    assert replaced is not None and replaced.kind == "bridge"


async def test_veth_pair_is_moved_addressed_and_repaired(box: Sandbox) -> None:
    host = await box.namespace("host")
    dhcp = names.dhcp_namespace(new_id(), tag=box.tag)
    await netns.ensure_namespace(dhcp)
    bridge = names.bridge_name(new_id())
    port = new_id()
    tap, inner = names.tap_name(port), names.dhcp_port_name(port)
    mac = "fa:16:3e:12:34:56"
    await links.ensure_bridge(bridge, netns=host)
    for _ in range(2):
        await links.ensure_veth(
            tap, inner, peer_netns=dhcp, netns=host, bridge=bridge, mtu=1450, peer_mac=mac
        )
        await addresses.ensure_addresses(inner, ["10.0.0.2/24", "2001:db8::2/64"], netns=dhcp)
    outer = await links.get_link(tap, netns=host)
    peer = await links.get_link(inner, netns=dhcp)
    assert outer is not None and peer is not None
    # The second ensure kept the pair it found.
    await links.ensure_veth(tap, inner, peer_netns=dhcp, netns=host, bridge=bridge, mtu=1450)
    kept = await links.get_link(tap, netns=host)
    assert kept is not None and kept.ifindex == outer.ifindex
    assert outer.master == bridge and outer.up and outer.mtu == 1450
    assert peer.up and peer.mac == mac and peer.mtu == 1450
    assert {str(a) for a in await addresses.list_addresses(inner, netns=dhcp)} == {
        "10.0.0.2/24",
        "2001:db8::2/64",
    }

    # Addresses converge both ways.
    added, removed = await addresses.ensure_addresses(inner, ["10.0.0.3/24"], netns=dhcp)
    assert (added, removed) == (1, 2)
    assert {str(a) for a in await addresses.list_addresses(inner, netns=dhcp)} == {"10.0.0.3/24"}

    # Half a pair (the inner end deleted) is rebuilt whole.
    await links.delete_link(inner, netns=dhcp)
    assert await links.get_link(tap, netns=host) is None  # a veth dies with its peer
    await links.ensure_veth(tap, inner, peer_netns=dhcp, netns=host, bridge=bridge, peer_mac=mac)
    rebuilt = await links.get_link(tap, netns=host)
    assert rebuilt is not None and rebuilt.master == bridge

    owned = {o.name: o.kind for o in await links.list_owned_links(netns=host)}
    assert owned == {bridge: names.Kind.BRIDGE, tap: names.Kind.TAP}


async def test_veth_pair_within_one_namespace(box: Sandbox) -> None:
    ns = await box.namespace("router")
    await links.ensure_veth("left", "right", peer_netns=ns, netns=ns, mtu=1400)
    first = await links.get_link("left", netns=ns)
    await links.ensure_veth("left", "right", peer_netns=ns, netns=ns, mtu=1400)
    again = await links.get_link("left", netns=ns)
    right = await links.get_link("right", netns=ns)
    assert first is not None and again is not None and right is not None
    assert again.ifindex == first.ifindex and again.mtu == right.mtu == 1400
    assert again.lower == "right" and right.lower == "left"


async def test_tap_and_plug(box: Sandbox) -> None:
    host = await box.namespace("host")
    bridge = names.bridge_name(new_id())
    tap = names.tap_name(new_id())
    await links.ensure_bridge(bridge, netns=host)
    await links.ensure_tap(tap, bridge=bridge, mtu=1450, mac="fa:16:3e:00:00:07", netns=host)
    await links.ensure_tap(tap, bridge=bridge, mtu=1450, netns=host)
    link = await links.get_link(tap, netns=host)
    assert link is not None and link.kind == "tap" and link.master == bridge
    assert link.mtu == 1450 and link.mac == "fa:16:3e:00:00:07"
    await links.unplug(tap, netns=host)
    unplugged = await links.get_link(tap, netns=host)
    assert unplugged is not None and unplugged.master is None
    await links.plug(tap, bridge, netns=host)
    plugged = await links.get_link(tap, netns=host)
    assert plugged is not None and plugged.master == bridge


async def test_routes_converge(box: Sandbox) -> None:
    host = await box.namespace("host")
    router = await box.namespace("router")
    await links.ensure_veth("qr-test", "qr-peer", peer_netns=host, netns=router)
    await addresses.ensure_addresses("qr-test", ["10.0.0.1/24"], netns=router)
    wanted = [Route("default", via="10.0.0.254"), Route("10.9.0.0/16", via="10.0.0.9")]
    assert await addresses.ensure_routes(wanted, netns=router) == (2, 0)
    assert await addresses.ensure_routes(wanted, netns=router) == (0, 0)
    routes = {(r.dst, r.via) for r in await addresses.list_routes(netns=router)}
    assert routes == {("0.0.0.0/0", "10.0.0.254"), ("10.9.0.0/16", "10.0.0.9")}
    # The default route moves, the other goes; the connected route stays.
    assert await addresses.ensure_routes([Route("default", via="10.0.0.253")], netns=router) == (
        1,
        1,
    )
    routes = {(r.dst, r.via) for r in await addresses.list_routes(netns=router)}
    assert routes == {("0.0.0.0/0", "10.0.0.253")}
    assert "10.0.0.0/24" in await _ip(router, "route", "show")


async def test_two_namespaces_on_one_bridge_ping_each_other(box: Sandbox) -> None:
    host = await box.namespace("host")
    bridge = names.bridge_name(new_id())
    await links.ensure_bridge(bridge, netns=host)
    a, _ = await plug_guest(box, host=host, bridge=bridge, role="a", cidr="10.0.0.11/24")
    b, _ = await plug_guest(box, host=host, bridge=bridge, role="b", cidr="10.0.0.12/24")
    assert (await box.probe(a, "ping", "10.0.0.12")).rc == 0
    assert (await box.probe(b, "ping", "10.0.0.11")).rc == 0


async def _ip(ns: str, *args: str) -> str:
    return await run(ip_argv(ns, *args))


async def test_a_second_ensure_only_reads(box: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    host = await box.namespace("host")
    other = await box.namespace("other")
    bridge = names.bridge_name(new_id())
    port = new_id()
    tap, inner = names.tap_name(port), names.dhcp_port_name(port)

    async def converge() -> None:
        await netns.ensure_namespace(other)
        await links.ensure_bridge(bridge, mtu=1450, netns=host)
        await links.ensure_veth(
            tap, inner, peer_netns=other, netns=host, bridge=bridge, mtu=1450,
            peer_mac="fa:16:3e:00:00:01",
        )  # fmt: skip
        await links.ensure_tap("tapextra", netns=host)
        await vxlan.ensure_vxlan(7, local_ip="192.0.2.1", bridge=bridge, netns=host)
        await vxlan.sync_fdb("vxlan-7", flood=["192.0.2.2"], unicast={}, netns=host)
        await addresses.ensure_addresses(inner, ["10.0.0.2/24", "2001:db8::2/64"], netns=other)
        await addresses.ensure_routes([Route("default", via="10.0.0.1")], netns=other)
        await guard.apply_host_guard(guard.HostGuard(), netns=host)
        await nat.apply_router_nat(nat.RouterNat(inner, "10.0.0.2"), netns=other)

    await converge()
    caplog.set_level(logging.DEBUG, logger="stackling.network.linux.cmd")
    caplog.clear()
    await converge()
    commands = [r.getMessage().removeprefix("running ") for r in caplog.records]
    assert commands
    writes = [c for c in commands if not re.search(r" (show|list)\b", c)]
    assert writes == []
    assert any("nft -j list chains" in c for c in commands)
