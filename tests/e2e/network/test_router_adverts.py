"""IPv6 router advertisements for real: a radvd per router, and guests that take its default route.

    guest (SLAAC) ── tap ── brq(n6) ── tap ─ qr- fd00:6::1 ── qrouter-<id> (radvd)

The guests are namespaces that accept advertisements (accept_ra=2, no
forwarding): the proof is in their own `ip -6 addr` and `ip -6 route`. The
network's DHCP server advertises the prefix too, but with router lifetime 0:
only the router's radvd gives a default route.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from stackling.network.linux import links, names, netns, procs, radvd, sweep
from stackling.network.linux.cmd import in_netns, run, run_json
from stackling.network.linux.radvd import Outcome, RadvdFiles, RaInterface, RaPrefix, RouterAdverts
from tests.e2e.network.conftest import Sandbox, new_id
from tests.e2e.network.test_agent import HOST, Cloud, cloud, eventually
from tests.e2e.network.test_router_agent import put, router_up

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

PREFIX = "fd00:6::/64"
# radvd answers a solicitation at once and sends its first advertisements within 16 s.
RA_WAIT_S = 20.0


async def within(
    check: Callable[[], Awaitable[Any]], what: str, timeout_s: float = RA_WAIT_S
) -> Any:
    """Poll `check` until it returns something truthy (returned), or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not (found := await check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g}s: {what}")
        await asyncio.sleep(0.2)
    return found


async def guest_namespace(box: Sandbox, role: str) -> str:
    """A namespace that takes advertisements as a host does (devices made later inherit it)."""
    guest = await box.namespace(role)
    await netns.set_sysctls(
        {
            "net.ipv6.conf.all.forwarding": 0,
            "net.ipv6.conf.default.forwarding": 0,
            "net.ipv6.conf.default.accept_ra": 2,
            "net.ipv6.conf.default.autoconf": 1,
        },
        netns=guest,
    )
    return guest


async def global_addresses(ns: str, dev: str = "eth0") -> set[ipaddress.IPv6Address]:
    """The device's global IPv6 addresses."""
    entries = await run_json(
        in_netns(ns, ["ip", "-j", "-6", "addr", "show", "dev", dev, "scope", "global"])
    )
    return {
        ipaddress.IPv6Address(a["local"])
        for e in entries
        for a in e.get("addr_info", ())
        if "local" in a
    }


async def link_local(ns: str, dev: str) -> str:
    """The device's link-local address."""
    entries = await run_json(
        in_netns(ns, ["ip", "-j", "-6", "addr", "show", "dev", dev, "scope", "link"])
    )
    (address,) = [a["local"] for e in entries for a in e.get("addr_info", ()) if "local" in a]
    return str(address)


async def default_gateways(ns: str) -> set[tuple[str, str]]:
    """(gateway, device) of the namespace's IPv6 default routes."""
    entries = await run_json(in_netns(ns, ["ip", "-j", "-6", "route", "show", "default"]))
    return {(str(e.get("gateway")), str(e.get("dev"))) for e in entries}


# -- radvd on its own --------------------------------------------------------------


async def test_radvd_starts_reloads_and_its_strays_are_found(box: Sandbox) -> None:
    router_id = new_id()
    ns = names.router_namespace(router_id, box.tag)
    await netns.ensure_namespace(ns)
    await netns.enable_forwarding(ns)
    guest = await guest_namespace(box, "guest")
    qr = names.router_port_name(new_id())
    await links.ensure_veth(qr, "eth0", peer_netns=guest, netns=ns, mtu=1400)
    await netns.enable_ipv6(qr, netns=ns)
    root = radvd.root_beside(box.dhcp_root)
    files = RadvdFiles.under(root, router_id)

    def spec(*servers: str) -> RouterAdverts:
        prefix = RaPrefix(PREFIX, "slaac", servers)
        return RouterAdverts(router_id, ns, (RaInterface(qr, (prefix,), mtu=1400),))

    assert await radvd.ensure(spec(), root) == Outcome.STARTED
    pid = radvd.running_pid(files)
    assert pid is not None and procs.in_namespace(pid, ns)
    # The guest configures itself from the prefix and routes through the router.
    router_ll = await link_local(ns, qr)
    assert await within(lambda: _has_default(guest, router_ll), "a default route via the router")
    found = await within(lambda: global_addresses(guest), "a SLAAC address")
    assert all(a in ipaddress.IPv6Network(PREFIX) for a in found)

    # Same advertisements: nothing. New ones: re-read on SIGHUP by the same daemon.
    assert await radvd.ensure(spec(), root) == Outcome.UNCHANGED
    assert await radvd.ensure(spec("fd00:6::53"), root) == Outcome.RELOADED
    assert "RDNSS fd00:6::53" in files.conf.read_text()
    await asyncio.sleep(0.5)
    assert radvd.running_pid(files) == pid

    # Its pid file lost (a crash between writes, say): the orphan goes, one radvd remains.
    files.pid.unlink()
    assert await radvd.ensure(spec("fd00:6::53"), root) == Outcome.STARTED
    assert await procs.wait_gone(pid, 5)
    pid = radvd.running_pid(files)
    assert pid is not None and list(radvd.find_processes(root)) == [router_id]

    # A router whose rows are gone: the sweep stops its radvd and removes its files.
    kept = sweep.Keep(namespaces=frozenset({ns, guest}))
    swept = await sweep.sweep(kept, host_netns=guest, tag=box.tag, dhcp_root=box.dhcp_root)
    assert swept.radvd_routers == ()
    assert radvd.running_pid(files) == pid
    swept = await sweep.sweep(sweep.Keep(), host_netns=guest, tag=box.tag, dhcp_root=box.dhcp_root)
    assert swept.radvd_routers == (router_id,)
    assert await procs.wait_gone(pid, 5)
    assert not files.dir.exists() and radvd.find_processes(root) == {}


async def test_a_recreated_namespace_gets_a_new_radvd(box: Sandbox) -> None:
    router_id = new_id()
    ns = names.router_namespace(router_id, box.tag)
    root = radvd.root_beside(box.dhcp_root)
    files = RadvdFiles.under(root, router_id)
    qr = names.router_port_name(new_id())
    adverts = RouterAdverts(router_id, ns, (RaInterface(qr, (RaPrefix(PREFIX, "slaac"),)),))
    await netns.ensure_namespace(ns)
    await links.ensure_veth(qr, "peer0", peer_netns=ns, netns=ns)
    assert await radvd.ensure(adverts, root) == Outcome.STARTED
    old = radvd.running_pid(files)
    assert old is not None
    # The name now points at a new namespace; the old one lives on with its radvd.
    await run(["ip", "netns", "delete", ns])
    await netns.ensure_namespace(ns)
    await links.ensure_veth(qr, "peer0", peer_netns=ns, netns=ns)
    assert procs.cmdline(old) is not None and not procs.in_namespace(old, ns)
    assert await radvd.ensure(adverts, root) == Outcome.RESTARTED
    assert await procs.wait_gone(old, 5)
    new = radvd.running_pid(files)
    assert new is not None and procs.in_namespace(new, ns)
    # Stopped: no process, no files.
    assert await radvd.stop(router_id, root)
    assert await procs.wait_gone(new, 5) and not files.dir.exists()
    assert not await radvd.stop(router_id, root)


async def _has_default(guest: str, router_ll: str) -> bool:
    return (router_ll, "eth0") in await default_gateways(guest)


# -- the agent ------------------------------------------------------------------------


async def slaac_guest(c: Cloud) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]:
    """Network n6 with a SLAAC subnet, and a port bound here with a namespace as its guest."""
    net = await c.create("network", name="n6")
    sub = await c.create(
        "subnet",
        network_id=net["id"],
        ip_version=6,
        cidr=PREFIX,
        ipv6_ra_mode="slaac",
        ipv6_address_mode="slaac",
    )
    port = await c.create("port", network_id=net["id"], **{"binding:host_id": HOST})
    bridge = names.bridge_name(net["id"])
    await eventually(lambda: _exists(c, bridge), "n6's bridge for the port bound here")
    guest = await guest_namespace(c.box, "vm6")
    tap = names.tap_name(port["id"])
    await links.ensure_veth(
        tap, "eth0", peer_netns=guest, netns=c.host_ns, bridge=bridge, peer_mac=port["mac_address"]
    )
    await c.agent.port_plugged(port["id"])
    await eventually(lambda: _port_active(c, port["id"]), "the guest's port ACTIVE")
    return net, sub, port, guest


async def _exists(c: Cloud, name: str) -> bool:
    return await c.link(name) is not None


async def _port_active(c: Cloud, port_id: str) -> bool:
    return bool((await c.get(f"ports/{port_id}"))["port"]["status"] == "ACTIVE")


async def test_a_guest_behind_a_router_gets_its_address_and_default_route(box: Sandbox) -> None:
    async with cloud(box) as c:
        net, sub, port, guest = await slaac_guest(c)
        router = await c.create("router", name="r6")
        rid = router["id"]
        await put(c, f"routers/{rid}/add_router_interface", {"subnet_id": sub["id"]})
        await eventually(lambda: router_up(c, rid, 1), "the router's interface ACTIVE")
        ns = names.router_namespace(rid, box.tag)
        files = RadvdFiles.under(c.agent.l3.radvd_root, rid)
        (interface,) = (await c.get(f"ports?device_id={rid}"))["ports"]
        qr = names.router_port_name(interface["id"])
        assert interface["fixed_ips"][0]["ip_address"] == sub["gateway_ip"]
        assert await netns.get_sysctl("net.ipv6.conf.all.forwarding", netns=ns) == "1"
        assert await netns.get_sysctl(f"net.ipv6.conf.{qr}.disable_ipv6", netns=ns) == "0"
        pid = radvd.running_pid(files)
        assert pid is not None and procs.in_namespace(pid, ns)
        conf = files.conf.read_text()
        assert f"interface {qr}" in conf and f"prefix {PREFIX}" in conf
        assert f"AdvLinkMTU {net['mtu']};" in conf

        # The guest: its port's address by SLAAC (EUI-64 of its MAC), the router as default.
        router_ll = await link_local(ns, qr)
        assert await within(lambda: _has_default(guest, router_ll), "a default route via qr-")
        wanted = ipaddress.IPv6Address(port["fixed_ips"][0]["ip_address"])
        assert await within(lambda: _has_address(guest, wanted), f"the SLAAC address {wanted}")

        # DNS servers added to the subnet: the same radvd re-reads its configuration.
        await put(c, f"subnets/{sub['id']}", {"subnet": {"dns_nameservers": ["fd00:6::53"]}})
        await eventually(lambda: _conf_says(files.conf, "RDNSS fd00:6::53"), "the RDNSS option")
        assert radvd.running_pid(files) == pid

        # Down: no longer anyone's default router; its last advertisement says so.
        await put(c, f"routers/{rid}", {"router": {"admin_state_up": False}})
        await eventually(lambda: _gone(pid), "radvd stopped with its router down")
        assert await within(lambda: _negate(_has_default(guest, router_ll)), "no default route")
        await put(c, f"routers/{rid}", {"router": {"admin_state_up": True}})
        await eventually(lambda: _running(files), "radvd back with its router up")
        assert await within(lambda: _has_default(guest, router_ll), "the default route again")

        # The interface removed: its radvd and files go, the namespace stays.
        pid = radvd.running_pid(files)
        assert pid is not None
        await put(c, f"routers/{rid}/remove_router_interface", {"subnet_id": sub["id"]})
        await eventually(lambda: _stopped(files, pid), "radvd stopped with the interface removed")
        assert radvd.find_processes(c.agent.l3.radvd_root) == {}
        assert await netns.namespace_exists(ns)

        # A router deleted while the agent is down: the restart removes its radvd.
        await put(c, f"routers/{rid}/add_router_interface", {"subnet_id": sub["id"]})
        await eventually(lambda: _running(files), "radvd back with the interface")
        pid = radvd.running_pid(files)
        assert pid is not None
        await c.plugin.stop_agent()
        await put(c, f"routers/{rid}/remove_router_interface", {"subnet_id": sub["id"]})
        await c.delete(f"routers/{rid}")
        assert procs.cmdline(pid) is not None
        await c.plugin.start_agent()
        await c.agent.drain()
        assert await procs.wait_gone(pid, 10)
        assert not files.dir.exists() and not await netns.namespace_exists(ns)
        found = await sweep.inventory(host_netns=c.host_ns, tag=box.tag, dhcp_root=box.dhcp_root)
        assert found.radvd_routers == ()


async def _has_address(guest: str, wanted: ipaddress.IPv6Address) -> bool:
    return wanted in await global_addresses(guest)


async def _conf_says(conf: Path, text: str) -> bool:
    try:
        return text in await asyncio.to_thread(conf.read_text)
    except FileNotFoundError:
        return False


async def _gone(pid: int) -> bool:
    return procs.cmdline(pid) is None


async def _stopped(files: RadvdFiles, pid: int) -> bool:
    return procs.cmdline(pid) is None and not files.dir.exists()


async def _running(files: RadvdFiles) -> bool:
    return radvd.running_pid(files) is not None


async def _negate(value: Awaitable[bool]) -> bool:
    return not await value
