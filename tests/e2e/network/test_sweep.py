"""A restarted agent's sweep: what has our names and is not wanted goes, the rest stays."""

from __future__ import annotations

import pytest

from stackling.network.linux import dnsmasq, guard, links, names, netns, nft, secgroups, vxlan
from stackling.network.linux.cmd import in_netns, ip_argv, run
from stackling.network.linux.dhcp import DhcpNetwork, DhcpSubnet
from stackling.network.linux.sweep import Keep, inventory, sweep
from tests.e2e.network.conftest import Sandbox, new_id

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def _dhcp(box: Sandbox, host: str, bridge: str) -> tuple[str, str, str]:
    """A network's DHCP namespace, port and dnsmasq: (network id, namespace, host-side tap)."""
    network_id = new_id()
    namespace = names.dhcp_namespace(network_id, tag=box.tag)
    await netns.ensure_namespace(namespace)
    port = new_id()
    inner = names.dhcp_port_name(port)
    tap = names.tap_name(port)
    await links.ensure_veth(tap, inner, peer_netns=namespace, netns=host, bridge=bridge)
    await run(ip_argv(namespace, "addr", "add", "10.0.0.2/24", "dev", inner))
    subnet = DhcpSubnet(new_id(), "10.0.0.0/24")
    await dnsmasq.ensure(DhcpNetwork(network_id, namespace, inner, (subnet,)), box.dhcp_root)
    return network_id, namespace, tap


async def test_sweep_removes_only_unwanted_things_of_ours(box: Sandbox) -> None:
    host = await box.namespace("host")
    kept_bridge, stray_bridge = names.bridge_name(new_id()), names.bridge_name(new_id())
    for bridge in (kept_bridge, stray_bridge):
        await links.ensure_bridge(bridge, netns=host)
    stray_tap = names.tap_name(new_id())
    await links.ensure_tap(stray_tap, bridge=stray_bridge, netns=host)
    stray_vxlan = await vxlan.ensure_vxlan(
        4242, local_ip="192.0.2.1", bridge=stray_bridge, netns=host
    )
    await run(ip_argv(host, "link", "add", "name", "brqforeign", "type", "bridge"))
    kept_router = names.router_namespace(new_id(), tag=box.tag)
    stray_router = names.router_namespace(new_id(), tag=box.tag)
    for namespace in (kept_router, stray_router):
        await netns.ensure_namespace(namespace)
    kept_net, kept_ns, kept_tap = await _dhcp(box, host, kept_bridge)
    stray_net, stray_ns, stray_dhcp_tap = await _dhcp(box, host, kept_bridge)
    await guard.apply_host_guard(guard.HostGuard(), netns=host)
    await secgroups.apply_host_filter(secgroups.HostFilter(), netns=host)
    await nft.apply("table inet foreign {}\n", netns=host)

    found = await inventory(host_netns=host, tag=box.tag, dhcp_root=box.dhcp_root)
    assert {o.name for o in found.namespaces} == {kept_router, stray_router, kept_ns, stray_ns}
    assert {o.name for o in found.links} >= {kept_bridge, stray_bridge, stray_tap, stray_vxlan}
    assert "brqforeign" not in {o.name for o in found.links}
    assert set(found.tables) == set(names.HOST_TABLES)
    assert set(found.dhcp_networks) == {kept_net, stray_net}

    keep = Keep(
        namespaces=frozenset({kept_router, kept_ns}),
        links=frozenset({kept_bridge, kept_tap}),
        tables=frozenset({names.GUARD_TABLE}),
        dhcp_networks=frozenset({kept_net}),
    )
    swept = await sweep(keep, host_netns=host, tag=box.tag, dhcp_root=box.dhcp_root)

    assert swept.dhcp_networks == (stray_net,)
    assert set(swept.namespaces) == {stray_router, stray_ns}
    # The stray DHCP port's veth goes with its namespace, which the kernel tears
    # down in the background: it may or may not still be there for the links' turn.
    strays = {stray_bridge, stray_tap, stray_vxlan}
    assert strays <= set(swept.links) <= strays | {stray_dhcp_tap}
    assert set(swept.tables) == {names.FILTER_TABLE, names.CONNTRACK_TABLE}
    remaining = {link.name for link in await links.list_links(netns=host)}
    assert {kept_bridge, kept_tap, "brqforeign"} <= remaining
    assert not strays & remaining
    namespaces = await netns.list_namespaces()
    assert kept_router in namespaces and kept_ns in namespaces and host in namespaces
    assert stray_router not in namespaces and stray_ns not in namespaces
    assert set(dnsmasq.find_processes(box.dhcp_root)) == {kept_net}
    tables = set(await nft.list_tables(netns=host))
    assert tables == {names.GUARD_TABLE, ("inet", "foreign")}
    assert "stackling_guard" in await run(in_netns(host, ["nft", "list", "tables"]))

    again = await sweep(keep, host_netns=host, tag=box.tag, dhcp_root=box.dhcp_root)
    assert again == type(again)()
