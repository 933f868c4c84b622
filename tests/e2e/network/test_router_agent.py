"""Routers for real: the agent builds qrouter- namespaces, NAT and floating IPs from the API.

    vm (10.10.0.x) ── tap ── brq(n1) ── tap ─ qr- 10.10.0.1 ┐
                                                            qrouter-<id> (SNAT, floating IPs)
    "host" 172.24.4.1 ── br-stackling ── tap ─ qg- 172.24.4.x ┘

The in-process cloud's agent works in the sandbox's "host" namespace, whose
provider bridge (`br-stackling`, physical network "public") carries the
host's own address, as devstack's br-ex does: the host reaches the router's
gateway and floating IPs on it, and nothing leaves the sandbox.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.network import models as m
from stackling.network.agent import bridges
from stackling.network.linux import addresses, links, names, nat, netns, nft, sweep
from stackling.network.linux.addresses import Route
from stackling.network.linux.cmd import LinuxNetError, in_netns, run
from stackling.network.service.core import AGENT_TYPE
from stackling.settings import NetworkSettings
from tests.e2e.network.conftest import Sandbox, new_id, plug_guest
from tests.e2e.network.test_agent import HOST, V20, WAIT_S, Cloud, cloud, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

HOST_IP = "172.24.4.1"
PROVIDER_BRIDGE = "br-stackling"
PORT = "8000"


async def external_network(c: Cloud) -> dict[str, Any]:
    """The flat external network on physical network "public" (made unless the cloud has one)."""
    found = await c.get("networks?router:external=true")
    if found["networks"]:
        return dict(found["networks"][0])
    net = await c.create(
        "network",
        name="public",
        **{
            "router:external": True,
            "provider:network_type": "flat",
            "provider:physical_network": "public",
        },
    )
    await c.create(
        "subnet",
        network_id=net["id"],
        ip_version=4,
        cidr="172.24.4.0/24",
        gateway_ip=HOST_IP,
        enable_dhcp=False,
    )
    return net


async def put(c: Cloud, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await c.client.put(f"{V20}/{path}", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def tenant_vm(c: Cloud, *, dhcp: bool = False) -> tuple[dict, dict, dict, str]:
    """Network n1 (10.10.0.0/24), and a port bound here with a namespace as its guest."""
    net = await c.create("network", name="n1")
    sub = await c.create(
        "subnet", network_id=net["id"], ip_version=4, cidr="10.10.0.0/24", enable_dhcp=dhcp
    )
    port = await c.create("port", network_id=net["id"], **{"binding:host_id": HOST})
    # Reached from outside through its floating IP: the default group lets in only members.
    groups = await c.get(f"security-groups?project_id={port['project_id']}&name=default")
    for protocol, extra in (
        ("tcp", {"port_range_min": 8000, "port_range_max": 8000}),
        ("icmp", {}),
    ):
        await c.create(
            "security_group_rule",
            security_group_id=groups["security_groups"][0]["id"],
            direction="ingress",
            protocol=protocol,
            remote_ip_prefix="0.0.0.0/0",
            **extra,
        )
    bridge = names.bridge_name(net["id"])
    await eventually(lambda: _exists(c, bridge), "n1's bridge for the port bound here")
    guest, _ = await plug_guest(
        c.box,
        host=c.host_ns,
        bridge=bridge,
        role="vm",
        cidr=port["fixed_ips"][0]["ip_address"] + "/24",
        mac=port["mac_address"],
        port_id=port["id"],
        gateway="10.10.0.1",
    )
    await c.agent.port_plugged(port["id"])
    await eventually(lambda: _status(c, f"ports/{port['id']}", "ACTIVE"), "the VM port ACTIVE")
    return net, sub, port, guest


async def _exists(c: Cloud, name: str) -> bool:
    return await c.link(name) is not None


async def _status(c: Cloud, path: str, status: str) -> bool:
    body = await c.get(path)
    return bool(next(iter(body.values()))["status"] == status)


async def router_ports(c: Cloud, router_id: str) -> list[dict[str, Any]]:
    return list((await c.get(f"ports?device_id={router_id}"))["ports"])


async def router_up(c: Cloud, router_id: str, count: int) -> bool:
    """The router's namespace exists and its `count` ports are ACTIVE (bound here)."""
    ports = await router_ports(c, router_id)
    return (
        len(ports) == count
        and all(p["status"] == "ACTIVE" and p["binding:host_id"] == HOST for p in ports)
        and await netns.namespace_exists(names.router_namespace(router_id, c.box.tag))
    )


async def seen_as(box: Sandbox, ns: str, addr: str) -> str:
    """The address a TCP server at `addr` saw the client in `ns` as."""
    result = await box.probe(ns, "connect", addr, PORT)
    assert result.rc == 0, result.err
    return result.out


async def unreachable(box: Sandbox, ns: str, addr: str) -> bool:
    return (await box.probe(ns, "connect", addr, PORT, "--timeout", "1")).rc != 0


async def test_router_snat_floating_ip_extra_route_and_delete(box: Sandbox) -> None:
    async with cloud(box) as c:
        # The provider bridge is there from the start, with the host's address.
        found = await addresses.list_addresses(PROVIDER_BRIDGE, netns=c.host_ns)
        assert f"{HOST_IP}/24" in {str(a) for a in found}
        ext = await external_network(c)
        n1, sub, vm_port, vm = await tenant_vm(c)
        router = await c.create(
            "router", name="r1", external_gateway_info={"network_id": ext["id"]}
        )
        rid = router["id"]
        await put(c, f"routers/{rid}/add_router_interface", {"subnet_id": sub["id"]})
        await eventually(lambda: router_up(c, rid, 2), "router ports ACTIVE, namespace made")
        ns = names.router_namespace(rid, box.tag)
        ports = {p["device_owner"]: p for p in await router_ports(c, rid)}
        gw, interface = ports["network:router_gateway"], ports["network:router_interface"]
        gw_ip = gw["fixed_ips"][0]["ip_address"]
        qr = names.router_port_name(interface["id"])
        qg = names.gateway_port_name(gw["id"])
        # The gateway's host end is in the provider bridge, the interface's in n1's.
        for port, bridge in ((gw, PROVIDER_BRIDGE), (interface, names.bridge_name(n1["id"]))):
            tap = await c.link(names.tap_name(port["id"]))
            assert tap is not None and tap.master == bridge
        inner = {str(a) for a in await addresses.list_addresses(qr, netns=ns)}
        assert inner == {"10.10.0.1/24"}
        assert await netns.get_sysctl("net.ipv4.ip_forward", netns=ns) == "1"

        # (a) SNAT: the VM reaches the host, which sees the router's gateway address.
        await box.spawn(c.host_ns, "serve", PORT, "--bind", HOST_IP)
        assert (await box.probe(vm, "ping", HOST_IP)).rc == 0
        assert await seen_as(box, vm, HOST_IP) == gw_ip

        # (b) A floating IP: the host reaches the VM through it (and the VM leaves as it).
        fip = await c.create("floatingip", floating_network_id=ext["id"], port_id=vm_port["id"])
        fip_path = f"floatingips/{fip['id']}"
        await eventually(lambda: _status(c, fip_path, "ACTIVE"), "the floating IP ACTIVE")
        await box.spawn(vm, "serve", PORT)
        address = fip["floating_ip_address"]
        assert await seen_as(box, c.host_ns, address) == HOST_IP
        assert (await box.probe(c.host_ns, "ping", address)).rc == 0
        assert await seen_as(box, vm, HOST_IP) == address
        # The router taken down: still wired (its ports ACTIVE), but it routes nothing.
        await put(c, f"routers/{rid}", {"router": {"admin_state_up": False}})
        await eventually(lambda: _status(c, fip_path, "DOWN"), "the FIP DOWN with its router")
        assert await netns.get_sysctl("net.ipv4.ip_forward", netns=ns) == "0"
        assert await unreachable(box, c.host_ns, address)
        assert {p["status"] for p in await router_ports(c, rid)} == {"ACTIVE"}
        await put(c, f"routers/{rid}", {"router": {"admin_state_up": True}})
        await eventually(lambda: _status(c, fip_path, "ACTIVE"), "the FIP ACTIVE again")
        assert await seen_as(box, c.host_ns, address) == HOST_IP
        # Disassociated: DOWN, and the address leads nowhere any more.
        await put(c, fip_path, {"floatingip": {"port_id": None}})
        await eventually(lambda: _status(c, fip_path, "DOWN"), "the floating IP DOWN")
        await eventually(lambda: unreachable(box, c.host_ns, address), "the FIP unreachable")
        assert await seen_as(box, vm, HOST_IP) == gw_ip

        # (e) An extra route, and the default route through the external subnet's gateway.
        route = {"destination": "192.168.99.0/24", "nexthop": "10.10.0.50"}
        await put(c, f"routers/{rid}", {"router": {"routes": [route]}})

        async def routed() -> bool:
            return Route("192.168.99.0/24", "10.10.0.50", qr) in await addresses.list_routes(
                netns=ns
            )

        await eventually(routed, "the extra route in the router's namespace")
        assert Route("0.0.0.0/0", HOST_IP, qg) in await addresses.list_routes(netns=ns)
        await put(c, f"routers/{rid}", {"router": {"routes": []}})
        await eventually(lambda: _negate(routed()), "the extra route removed")

        # (c) The gateway goes: its veth (both ends) and the NAT table with it.
        taps = {names.tap_name(p["id"]) for p in ports.values()}
        await c.delete(fip_path)
        await put(c, f"routers/{rid}", {"router": {"external_gateway_info": {}}})

        async def devices(*wanted: str) -> bool:
            inside = {o.name for o in await links.list_owned_links(netns=ns)}
            host = {o.name for o in await links.list_owned_links(netns=c.host_ns)}
            return inside == set(wanted) and not (taps - {names.tap_name(interface["id"])}) & host

        await eventually(lambda: devices(qr), "the gateway's veth removed")
        await eventually(lambda: _no_tables(ns), "the NAT table removed")
        assert await unreachable(box, vm, HOST_IP)
        # The interface goes, then the router: its namespace and every veth.
        await put(c, f"routers/{rid}/remove_router_interface", {"subnet_id": sub["id"]})
        await eventually(lambda: devices(), "the interface's veth removed")
        await c.delete(f"routers/{rid}")

        async def gone() -> bool:
            present = {link.name for link in await links.list_links(netns=c.host_ns)}
            return not await netns.namespace_exists(ns) and not taps & present

        await eventually(gone, "the router's namespace and veths removed")
        found_now = await sweep.inventory(host_netns=c.host_ns, tag=box.tag)
        assert not [o for o in found_now.namespaces if o.kind == names.Kind.ROUTER_NAMESPACE]
        assert not [o for o in found_now.links if o.name in taps]
        # The provider bridge stays (the host's).
        assert await c.link(PROVIDER_BRIDGE) is not None


async def _no_tables(ns: str) -> bool:
    return await nft.list_tables(netns=ns) == []


async def _negate(value: Any) -> bool:
    return not await value


async def test_kill_mid_router_reconcile_then_restart_converges(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with cloud(box) as c:
        ext = await external_network(c)
        net, sub, vm_port, vm = await tenant_vm(c, dhcp=True)

        # The agent dies after making the router's namespace and ports, before its NAT.
        reached = asyncio.Event()

        async def stuck(*_: Any, **__: Any) -> bool:
            reached.set()
            await asyncio.Event().wait()
            return True

        monkeypatch.setattr(nat, "apply_router_nat", stuck)
        router = await c.create("router", external_gateway_info={"network_id": ext["id"]})
        rid = router["id"]
        ns = names.router_namespace(rid, box.tag)
        await asyncio.wait_for(reached.wait(), WAIT_S)
        assert await netns.namespace_exists(ns)
        assert await nft.list_tables(netns=ns) == []
        await c.plugin.stop_agent()
        monkeypatch.undo()
        # Changes it never hears of, and what a half-made deleted router could leave.
        await put(c, f"routers/{rid}/add_router_interface", {"subnet_id": sub["id"]})
        fip = await c.create("floatingip", floating_network_id=ext["id"], port_id=vm_port["id"])
        stray_ns = names.router_namespace(new_id(), box.tag)
        await netns.ensure_namespace(stray_ns)
        stray_port = new_id()
        await links.ensure_veth(
            names.tap_name(stray_port),
            names.router_port_name(stray_port),
            peer_netns=stray_ns,
            netns=c.host_ns,
            bridge=names.bridge_name(net["id"]),
        )

        await c.plugin.start_agent()
        await c.agent.drain()
        await eventually(lambda: router_up(c, rid, 2), "the router complete after the restart")
        fip_path = f"floatingips/{fip['id']}"
        await eventually(lambda: _status(c, fip_path, "ACTIVE"), "the floating IP ACTIVE")
        await c.agent.drain()

        # It works: SNAT out, the floating IP in.
        gw = next(p for p in await router_ports(c, rid) if p["device_owner"].endswith("gateway"))
        await box.spawn(c.host_ns, "serve", PORT, "--bind", HOST_IP)
        await box.spawn(vm, "serve", PORT)
        assert await seen_as(box, vm, HOST_IP) == fip["floating_ip_address"]
        assert await seen_as(box, c.host_ns, fip["floating_ip_address"]) == HOST_IP
        assert gw["status"] == "ACTIVE"

        # Exactly what the rows ask for: no stray namespace, veth or table.
        found = await sweep.inventory(host_netns=c.host_ns, tag=box.tag, dhcp_root=box.dhcp_root)
        keep = await c.agent.keep()
        strays = {
            "namespaces": sorted(o.name for o in found.namespaces if o.name not in keep.namespaces),
            "links": sorted(o.name for o in found.links if o.name not in keep.links),
            "tables": sorted(t for t in found.tables if t not in keep.tables),
        }
        assert strays == {"namespaces": [], "links": [], "tables": []}, strays
        assert {o.name for o in found.namespaces} == {
            names.dhcp_namespace(net["id"], box.tag),
            ns,
        }
        assert await nft.list_tables(netns=ns) == [names.NAT_TABLE]
        inside = {o.name for o in await links.list_owned_links(netns=ns)}
        interface = next(p for p in await router_ports(c, rid) if p["id"] != gw["id"])
        assert inside == {
            names.router_port_name(interface["id"]),
            names.gateway_port_name(gw["id"]),
        }
        assert await c.link(names.tap_name(stray_port)) is None


async def test_a_router_runs_on_one_live_host_and_moves_when_it_dies(box: Sandbox) -> None:
    async with cloud(box) as c:
        ext = await external_network(c)
        # Another host's agent, alive and first by name: the router is its to run.
        other = "aaa-other-host"

        async def register(s: AsyncSession) -> None:
            s.add(
                m.Agent(
                    id=new_id(), agent_type=AGENT_TYPE, binary="x", topic="network.agent.none",
                    host=other, configurations={"l3": True}, heartbeat_timestamp=m.now(),
                )
            )  # fmt: skip

        await c.plugin.svc.tx(register)
        await c.agent.l3.watch_agents()
        router = await c.create("router", external_gateway_info={"network_id": ext["id"]})
        ns = names.router_namespace(router["id"], box.tag)
        await c.agent.drain()
        (gw,) = await router_ports(c, router["id"])
        assert gw["binding:host_id"] != HOST and not await netns.namespace_exists(ns)

        # Its heartbeat stops: the next look at the live agents brings the router here.
        async def silence(s: AsyncSession) -> None:
            old = m.now() - dt.timedelta(minutes=10)
            await s.execute(
                update(m.Agent).where(m.Agent.host == other).values(heartbeat_timestamp=old)
            )

        await c.plugin.svc.tx(silence)
        await c.agent.l3.watch_agents()
        await eventually(lambda: router_up(c, router["id"], 1), "the router moved here")
        assert await nft.list_tables(netns=ns) == [names.NAT_TABLE]


async def test_an_instance_on_the_provider_network_is_filtered_on_its_bridge(box: Sandbox) -> None:
    async with cloud(box) as c:
        ext = await external_network(c)
        port = await c.create("port", network_id=ext["id"], **{"binding:host_id": HOST})
        ip = port["fixed_ips"][0]["ip_address"]
        guest, _ = await plug_guest(
            box, host=c.host_ns, bridge=PROVIDER_BRIDGE, role="public-vm", cidr=f"{ip}/24",
            mac=port["mac_address"], port_id=port["id"],
        )  # fmt: skip
        await c.agent.port_plugged(port["id"])
        await eventually(lambda: _status(c, f"ports/{port['id']}", "ACTIVE"), "the port ACTIVE")

        # Its connections are tracked in the provider bridge's zone: the replies get back.
        async def zoned() -> bool:
            argv = ["nft", "list", "table", "inet", "stackling_sg_ct"]
            return f'"{PROVIDER_BRIDGE}"' in await run(in_netns(c.host_ns, argv))

        await eventually(zoned, "the provider bridge in the filter's zones")
        await box.spawn(c.host_ns, "serve", PORT, "--bind", HOST_IP)
        assert await seen_as(box, guest, HOST_IP) == ip
        # Not let in by its default group: the filter is really on its port.
        await box.spawn(guest, "serve", PORT)
        assert await unreachable(box, c.host_ns, ip)


async def test_a_provider_bridge_is_made_or_kept_never_replaced(box: Sandbox) -> None:
    host = await box.namespace("host")
    conf = NetworkSettings(host_netns=host, provider_host_cidrs={"br-op": "172.24.9.1/24"})
    # An operator's bridge with an address of its own: kept, the host's added.
    await links.ensure_bridge("br-op", netns=host)
    await addresses.ensure_addresses("br-op", ["192.0.2.1/24"], netns=host)
    await bridges.ensure_provider_bridge("br-op", conf)
    await bridges.ensure_provider_bridge("br-op", conf)
    found = {str(a) for a in await addresses.list_addresses("br-op", netns=host)}
    assert found == {"192.0.2.1/24", "172.24.9.1/24"}
    # A device of that name that is not a bridge is left alone, and said so.
    await links.ensure_veth("br-op2", "peer0", peer_netns=host, netns=host)
    conf = NetworkSettings(host_netns=host, bridge_mappings={"phys": "br-op2"})
    with pytest.raises(LinuxNetError, match="not a bridge"):
        await bridges.ensure_provider_bridge("br-op2", conf)
    link = await links.get_link("br-op2", netns=host)
    assert link is not None and link.kind == "veth"
