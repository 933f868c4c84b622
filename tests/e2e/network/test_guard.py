"""The host guard, proven in a namespace that stands in for the host.

    tenant (10.0.0.5) ─┐                                  ┌ uplink0 ──── wire (sink namespace)
    tenant2 (10.0.0.6) ┴ brq (10.0.0.254) ── "host" ──────┘ 192.0.2.1, default route out here

The "host" routes (ip_forward on) and its uplink is a veth into a sink namespace
(this kernel has no dummy devices): first, with no guard, the tenant's packets
toward 198.51.100.1 do leave through the uplink (so the test can fail); then,
with the guard, they are dropped and counted and the uplink's transmit counter
does not move. Nothing is ever sent on the real host's interfaces.
"""

from __future__ import annotations

import pytest

from stackling.network.linux import addresses, guard, links, names, netns
from stackling.network.linux.addresses import Route
from stackling.network.linux.cmd import ip_argv, run
from stackling.network.linux.guard import HostGuard
from tests.e2e.network.conftest import Sandbox, new_id, plug_guest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

OUTSIDE = "198.51.100.1"
PACKETS = 5


async def _send_outside(box: Sandbox, tenant: str) -> None:
    result = await box.probe(tenant, "udp", OUTSIDE, "9", "--count", str(PACKETS))
    assert result.rc == 0, result.err


async def test_guard_drops_and_counts_what_would_leave_by_the_uplink(box: Sandbox) -> None:
    host = await box.namespace("host")
    sink = await box.namespace("sink")
    await netns.enable_forwarding(host, ipv6=False)
    # No IPv6 chatter of their own (router solicitations, MLD) on the counted links.
    no_ipv6 = {"net.ipv6.conf.all.disable_ipv6": 1, "net.ipv6.conf.default.disable_ipv6": 1}
    for ns in (host, sink):
        await netns.set_sysctls(no_ipv6, netns=ns)
    await links.ensure_veth("uplink0", "wire", peer_netns=sink, netns=host)
    await addresses.ensure_addresses("uplink0", ["192.0.2.1/24"], netns=host)
    # A fixed neighbour for the next hop, so the only packets the uplink sends are
    # the tenant's (no ARP queries of its own).
    next_hop = ["192.0.2.254", "lladdr", "02:00:00:00:00:fe", "dev", "uplink0", "nud", "permanent"]
    await run(ip_argv(host, "neigh", "replace", *next_hop))
    await addresses.ensure_routes([Route("default", via="192.0.2.254")], netns=host)
    bridge = names.bridge_name(new_id())
    await links.ensure_bridge(bridge, netns=host)
    await addresses.ensure_addresses(bridge, ["10.0.0.254/24"], netns=host)
    tenant, _ = await plug_guest(
        box, host=host, bridge=bridge, role="tenant", cidr="10.0.0.5/24", gateway="10.0.0.254"
    )
    await plug_guest(box, host=host, bridge=bridge, role="tenant2", cidr="10.0.0.6/24")

    # No guard: the host forwards the tenant's packets out of its uplink.
    before = await links.link_stats("uplink0", netns=host)
    await _send_outside(box, tenant)
    leaked = await links.link_stats("uplink0", netns=host)
    assert leaked.tx_packets - before.tx_packets >= PACKETS

    await guard.apply_host_guard(HostGuard(guarded_prefixes=("10.0.0.0/8",)), netns=host)
    assert await guard.guard_drops(netns=host) == 0
    wire_before = await links.link_stats("wire", netns=sink)
    await _send_outside(box, tenant)
    assert await guard.guard_drops(netns=host) >= PACKETS
    after = await links.link_stats("uplink0", netns=host)
    assert after.tx_packets == leaked.tx_packets
    assert (await links.link_stats("wire", netns=sink)).rx_packets == wire_before.rx_packets

    # Applying the same guard again changes nothing (its counter keeps counting);
    # forcing it rewrites the table.
    dropped = await guard.guard_drops(netns=host)
    assert not await guard.apply_host_guard(HostGuard(guarded_prefixes=("10.0.0.0/8",)), netns=host)
    assert await guard.guard_drops(netns=host) == dropped
    assert await guard.apply_host_guard(
        HostGuard(guarded_prefixes=("10.0.0.0/8",)), netns=host, force=True
    )
    assert await guard.guard_drops(netns=host) == 0

    # The cloud's own traffic is untouched: tenants on the bridge still talk.
    assert (await box.probe(tenant, "ping", "10.0.0.6")).rc == 0
    await guard.remove_host_guard(netns=host)
    await guard.remove_host_guard(netns=host)
