"""VXLAN between two "hosts" (namespaces joined by a veth underlay), with static FDB entries."""

from __future__ import annotations

import random

import pytest

from stackling.network.linux import addresses, links, names, vxlan
from stackling.network.linux.vxlan import FdbEntry
from tests.e2e.network.conftest import Sandbox, new_id, plug_guest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

VTEP_A, VTEP_B = "192.0.2.1", "192.0.2.2"
MAC_A, MAC_B = "fa:16:3e:00:0a:01", "fa:16:3e:00:0b:01"


async def test_vxlan_with_static_fdb_carries_traffic(box: Sandbox) -> None:
    host_a, host_b = await box.namespace("host-a"), await box.namespace("host-b")
    await links.ensure_veth("underlay", "underlay", peer_netns=host_b, netns=host_a)
    await addresses.ensure_addresses("underlay", [f"{VTEP_A}/24"], netns=host_a)
    await addresses.ensure_addresses("underlay", [f"{VTEP_B}/24"], netns=host_b)

    vni = random.randint(1, names.MAX_VNI)
    bridge = names.bridge_name(new_id())
    device = names.vxlan_name(vni)
    for host, local in ((host_a, VTEP_A), (host_b, VTEP_B)):
        await links.ensure_bridge(bridge, mtu=1450, netns=host)
        for _ in range(2):
            name = await vxlan.ensure_vxlan(
                vni, local_ip=local, bridge=bridge, dev="underlay", mtu=1450, netns=host
            )
        assert name == device
        link = await links.get_link(device, netns=host)
        assert link is not None and link.master == bridge and link.mtu == 1450
        assert link.data["id"] == vni and link.data["port"] == 4789
        assert link.data["learning"] is False and link.data["local"] == local
    guest_a, _ = await plug_guest(
        box, host=host_a, bridge=bridge, role="guest-a", cidr="10.0.0.1/24", mac=MAC_A
    )
    guest_b, _ = await plug_guest(
        box, host=host_b, bridge=bridge, role="guest-b", cidr="10.0.0.2/24", mac=MAC_B
    )

    # Without entries a non-learning VXLAN device sends nowhere.
    assert (await box.probe(guest_a, "ping", "10.0.0.2", "--timeout", "1.5")).rc == 1

    # Flooding to the other VTEP is enough to find each other (ARP, then unicast).
    assert await vxlan.sync_fdb(device, flood=[VTEP_B], unicast={}, netns=host_a) == (1, 0)
    assert await vxlan.sync_fdb(device, flood=[VTEP_A], unicast={}, netns=host_b) == (1, 0)
    assert (await box.probe(guest_a, "ping", "10.0.0.2")).rc == 0

    # Per-MAC entries (l2-population) join the flood entries; syncing again does nothing.
    await vxlan.sync_fdb(device, flood=[VTEP_B], unicast={MAC_B: VTEP_B}, netns=host_a)
    await vxlan.sync_fdb(device, flood=[VTEP_A], unicast={MAC_A: VTEP_A}, netns=host_b)
    assert await vxlan.list_fdb(device, netns=host_a) == {
        FdbEntry(vxlan.FLOOD_MAC, VTEP_B),
        FdbEntry(MAC_B, VTEP_B),
    }
    assert await vxlan.sync_fdb(device, flood=[VTEP_B], unicast={MAC_B: VTEP_B}, netns=host_a) == (
        0,
        0,
    )
    assert (await box.probe(guest_b, "ping", "10.0.0.1")).rc == 0

    # A MAC that moved to another VTEP is re-pointed; a VTEP that left stops being flooded.
    assert await vxlan.sync_fdb(device, flood=[], unicast={MAC_B: "192.0.2.3"}, netns=host_a) == (
        1,
        2,
    )
    assert await vxlan.list_fdb(device, netns=host_a) == {FdbEntry(MAC_B, "192.0.2.3")}

    # A device whose settings drifted (another local address) is recreated to match.
    await vxlan.ensure_vxlan(vni, local_ip="192.0.2.9", bridge=bridge, netns=host_a)
    link = await links.get_link(device, netns=host_a)
    assert link is not None and link.data["local"] == "192.0.2.9" and link.master == bridge
