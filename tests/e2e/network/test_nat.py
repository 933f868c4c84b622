"""A router namespace between an internal and an external network: SNAT, floating IPs, hairpin.

inside (10.0.0.5, floating 172.24.4.10)  ┐            ┌ qr- 10.0.0.1
inside2 (10.0.0.6)                       ┴ brq(int) ──┤ qrouter-
                                                      └ qg- 172.24.4.2 ── brq(ext) ── outside
                                                                                      (172.24.4.100)
"""

from __future__ import annotations

import pytest

from stackling.network.linux import addresses, links, names, nat, netns, nft
from stackling.network.linux.addresses import Route
from stackling.network.linux.nat import FloatingNat, RouterNat
from tests.e2e.network.conftest import Sandbox, new_id, plug_guest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

PORT = "8000"


async def _router(box: Sandbox) -> tuple[str, str, dict[str, str]]:
    host = await box.namespace("host")
    router = names.router_namespace(new_id(), tag=box.tag)
    await netns.ensure_namespace(router)
    await netns.enable_forwarding(router)
    internal, external = names.bridge_name(new_id()), names.bridge_name(new_id())
    for bridge in (internal, external):
        await links.ensure_bridge(bridge, netns=host)
    qr_port, qg_port = new_id(), new_id()
    qr, qg = names.router_port_name(qr_port), names.gateway_port_name(qg_port)
    await links.ensure_veth(
        names.tap_name(qr_port), qr, peer_netns=router, netns=host, bridge=internal
    )
    await links.ensure_veth(
        names.tap_name(qg_port), qg, peer_netns=router, netns=host, bridge=external
    )
    await addresses.ensure_addresses(qr, ["10.0.0.1/24"], netns=router)
    # The floating IP sits on the gateway port too, so that the router answers ARP for it.
    await addresses.ensure_addresses(qg, ["172.24.4.2/24", "172.24.4.10/32"], netns=router)
    await addresses.ensure_routes([Route("default", via="172.24.4.1")], netns=router)
    guests = {}
    for role, cidr in (("inside", "10.0.0.5/24"), ("inside2", "10.0.0.6/24")):
        guests[role], _ = await plug_guest(
            box, host=host, bridge=internal, role=role, cidr=cidr, gateway="10.0.0.1"
        )
    guests["outside"], _ = await plug_guest(
        box, host=host, bridge=external, role="outside", cidr="172.24.4.100/24"
    )
    return router, qg, guests


async def _seen_as(box: Sandbox, ns: str, addr: str) -> str:
    result = await box.probe(ns, "connect", addr, PORT)
    assert result.rc == 0, result.err
    return result.out


async def test_snat_and_floating_ips(box: Sandbox) -> None:
    router, qg, g = await _router(box)
    config = RouterNat(
        gateway_device=qg,
        gateway_ip="172.24.4.2",
        internal_cidrs=("10.0.0.0/24",),
        floating=(FloatingNat("172.24.4.10", "10.0.0.5"),),
    )
    assert await nat.apply_router_nat(config, netns=router)
    assert not await nat.apply_router_nat(config, netns=router)
    assert await nft.list_tables(netns=router) == [names.NAT_TABLE]
    for role in ("outside", "inside"):
        await box.spawn(g[role], "serve", PORT)

    # Without a floating IP: SNAT to the router's gateway address.
    assert await _seen_as(box, g["inside2"], "172.24.4.100") == "172.24.4.2"
    # With one: it leaves as its floating IP...
    assert await _seen_as(box, g["inside"], "172.24.4.100") == "172.24.4.10"
    # ...and is reached through it, the client's own address kept.
    assert await _seen_as(box, g["outside"], "172.24.4.10") == "172.24.4.100"
    # Hairpin: a neighbour reaches it through the floating IP, via the router.
    assert await _seen_as(box, g["inside2"], "172.24.4.10") == "172.24.4.2"

    # SNAT off: fixed addresses go out as they are (the outside routes them back).
    await addresses.ensure_routes([Route("10.0.0.0/24", via="172.24.4.2")], netns=g["outside"])
    no_snat = RouterNat(
        gateway_device=qg,
        gateway_ip="172.24.4.2",
        snat=False,
        internal_cidrs=("10.0.0.0/24",),
        floating=(FloatingNat("172.24.4.10", "10.0.0.5"),),
    )
    await nat.apply_router_nat(no_snat, netns=router)
    assert await _seen_as(box, g["inside2"], "172.24.4.100") == "10.0.0.6"
    assert await _seen_as(box, g["inside"], "172.24.4.100") == "172.24.4.10"

    # The floating IP goes: it no longer reaches the instance.
    await nat.apply_router_nat(RouterNat(gateway_device=qg, gateway_ip="172.24.4.2"), netns=router)
    assert (await box.probe(g["outside"], "connect", "172.24.4.10", PORT, "--timeout", "1")).rc
    await nat.remove_router_nat(netns=router)
    await nat.remove_router_nat(netns=router)
    assert await nft.list_tables(netns=router) == []
