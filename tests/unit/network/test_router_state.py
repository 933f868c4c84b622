"""The L3 agent's pure parts: router rows into addresses, routes, NAT and statuses; bridges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pytest
from pydantic import ValidationError

from stackling.network import models as m
from stackling.network.agent import desired, desired_l3
from stackling.network.linux import guard, names
from stackling.network.linux.addresses import Route
from stackling.network.linux.nat import FloatingNat
from stackling.settings import NetworkSettings

ROUTER = "0a000000-0000-4000-8000-000000000001"
INT_NET = "1a000000-0000-4000-8000-000000000001"
EXT_NET = "2a000000-0000-4000-8000-000000000001"
INT_SUB = "1b000000-0000-4000-8000-000000000001"
INT_SUB6 = "1c000000-0000-4000-8000-000000000001"
EXT_SUB = "2b000000-0000-4000-8000-000000000001"
QR = "1d000000-0000-4000-8000-000000000001"
QG = "2d000000-0000-4000-8000-000000000001"
VM = "1e000000-0000-4000-8000-000000000001"
MAPPINGS = {"public": "br-stackling"}


def _port(port_id: str, network_id: str, ips: list[tuple[str, str]], owner: str) -> m.Port:
    port = m.Port(
        id=port_id, network_id=network_id, mac_address="fa:16:3e:00:00:01", project_id="p",
        device_owner=owner, device_id=ROUTER, admin_state_up=True, status="DOWN",
        binding_host_id="",
    )  # fmt: skip
    port.fixed_ips = [m.IPAllocation(subnet_id=s, ip_address=ip) for s, ip in ips]
    return port


def _network(network_id: str, kind: str, physnet: str | None) -> m.Network:
    net = m.Network(id=network_id, project_id="p", mtu=1500, admin_state_up=True)
    net.segments = [m.Segment(network_type=kind, physical_network=physnet, segment_index=0)]
    return net


def _fip(fip_id: str, floating: str, fixed: str | None, router: str | None) -> m.FloatingIP:
    return m.FloatingIP(
        id=fip_id, floating_ip_address=floating, fixed_ip_address=fixed,
        fixed_port_id=VM if fixed else None, router_id=router, status="DOWN",
    )  # fmt: skip


def _view(
    *,
    gateway: bool = True,
    snat: bool = True,
    routes: Iterable[tuple[str, str]] = (),
    fips: Iterable[m.FloatingIP] = (),
) -> desired_l3.RouterView:
    router = m.Router(id=ROUTER, project_id="p", admin_state_up=True, enable_snat=snat)
    subnets = {
        INT_SUB: m.Subnet(id=INT_SUB, ip_version=4, cidr="10.10.0.0/24", gateway_ip="10.10.0.1"),
        INT_SUB6: m.Subnet(id=INT_SUB6, ip_version=6, cidr="fd00:10::/64", gateway_ip=None),
        EXT_SUB: m.Subnet(id=EXT_SUB, ip_version=4, cidr="172.24.4.0/24", gateway_ip="172.24.4.1"),
    }
    qr = _port(QR, INT_NET, [(INT_SUB, "10.10.0.1"), (INT_SUB6, "fd00:10::1")],
               "network:router_interface")  # fmt: skip
    qg = _port(QG, EXT_NET, [(EXT_SUB, "172.24.4.7")], "network:router_gateway")
    fip_rows = list(fips)
    return desired_l3.RouterView(
        router=router,
        interfaces=[qr],
        gateway=qg if gateway else None,
        subnets=subnets,
        networks={
            INT_NET: _network(INT_NET, "vxlan", None),
            EXT_NET: _network(EXT_NET, "flat", "public"),
        },
        routes=list(routes),
        floating=[f for f in fip_rows if f.router_id == ROUTER],
        released=[f for f in fip_rows if f.router_id is None],
    )


def test_router_devices_get_their_ports_addresses_and_floating_ips() -> None:
    fips = [_fip("f1", "172.24.4.20", "10.10.0.5", ROUTER), _fip("f2", "172.24.4.21", None, None)]
    view = _view(fips=fips)
    assert desired_l3.interface_addresses(view, view.interfaces[0]) == [
        "10.10.0.1/24",
        "fd00:10::1/64",
    ]
    # The released floating IP is not on the gateway: the router must not answer for it.
    assert desired_l3.gateway_addresses(view) == ["172.24.4.7/24", "172.24.4.20/32"]
    assert desired_l3.gateway_addresses(_view(gateway=False)) == []
    taps, inside = desired_l3.wanted_links(view)
    assert taps == {names.tap_name(QR), names.tap_name(QG)}
    assert inside == {names.router_port_name(QR), names.gateway_port_name(QG)}


def test_routes_are_the_external_gateway_then_extra_routes() -> None:
    view = _view(routes=[("192.168.99.0/24", "10.10.0.50")])
    assert desired_l3.router_routes(view) == [
        Route("default", via="172.24.4.1", dev=names.gateway_port_name(QG)),
        Route("192.168.99.0/24", via="10.10.0.50"),
    ]
    # No gateway: only the extra routes.
    assert desired_l3.router_routes(
        _view(gateway=False, routes=[("10.9.0.0/16", "10.10.0.9")])
    ) == [Route("10.9.0.0/16", via="10.10.0.9")]


def test_nat_snats_internal_ipv4_subnets_and_maps_floating_ips() -> None:
    view = _view(fips=[_fip("f1", "172.24.4.20", "10.10.0.5", ROUTER)])
    nat = desired_l3.router_nat(view)
    assert nat is not None
    assert nat.gateway_device == names.gateway_port_name(QG)
    assert nat.gateway_ip == "172.24.4.7" and nat.snat
    assert nat.internal_cidrs == ("10.10.0.0/24",)
    assert nat.floating == (FloatingNat("172.24.4.20", "10.10.0.5"),)
    no_snat = desired_l3.router_nat(_view(snat=False))
    assert no_snat is not None and not no_snat.snat
    assert desired_l3.router_nat(_view(gateway=False)) is None


def test_statuses_follow_what_is_plugged_and_applied() -> None:
    fips = [_fip("f1", "172.24.4.20", "10.10.0.5", ROUTER), _fip("f2", "172.24.4.21", None, None)]
    view = _view(fips=fips)
    assert desired_l3.port_statuses(view, [QR]) == {QR: "ACTIVE", QG: "DOWN"}
    assert desired_l3.floating_statuses(view, applied=True) == {"f1": "ACTIVE", "f2": "DOWN"}
    assert desired_l3.floating_statuses(view, applied=False) == {"f1": "DOWN", "f2": "DOWN"}
    # A router that is down keeps its ports wired (ACTIVE) but maps no floating IP.
    view.router.admin_state_up = False
    assert desired_l3.port_statuses(view, [QR, QG]) == {QR: "ACTIVE", QG: "ACTIVE"}
    assert desired_l3.router_nat(view) is not None and not view.active
    view.interfaces[0].admin_state_up = False
    assert desired_l3.port_statuses(view, [QR, QG]) == {QR: "DOWN", QG: "ACTIVE"}


def test_one_host_serves_a_router_whatever_agent_asks() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    fresh, stale = now - dt.timedelta(seconds=5), now - dt.timedelta(minutes=5)
    agents = [("host-b", fresh), ("host-a", stale), ("host-c", fresh.replace(tzinfo=None))]
    # The lowest host name among agents that beat recently; a dead one is passed over.
    assert desired_l3.serving_host(None, agents, now) == "host-b"
    assert desired_l3.serving_host(None, list(reversed(agents)), now) == "host-b"
    # An explicit binding wins; no live agent means nobody.
    assert desired_l3.serving_host("host-a", agents, now) == "host-a"
    assert desired_l3.serving_host(None, [("host-a", stale)], now) is None


def test_flat_networks_of_mapped_physnets_use_the_provider_bridge() -> None:
    flat = desired.Wiring(EXT_NET, "flat", "public")
    assert desired.bridge_for(flat, MAPPINGS) == "br-stackling"
    # Unmapped physical network, other types: the network's own bridge.
    other = desired.Wiring(EXT_NET, "flat", "physnet9")
    assert desired.bridge_for(other, MAPPINGS) == names.bridge_name(EXT_NET)
    assert desired.bridge_for(desired.Wiring(INT_NET, "vxlan"), MAPPINGS) == names.bridge_name(
        INT_NET
    )
    view = desired.NetworkView(
        _network(EXT_NET, "flat", "public"), [], [], network_type="flat", physical_network="public"
    )
    assert desired.bridge_for(view, MAPPINGS) == "br-stackling"
    assert desired.wiring_of(_network(EXT_NET, "flat", "public")) == flat


def test_host_filter_puts_provider_ports_on_the_provider_bridge() -> None:
    port = _port(VM, EXT_NET, [(EXT_SUB, "172.24.4.30")], "compute:nova")
    port.allowed_address_pairs = []
    port.security_group_bindings = []
    rows = desired.FilterRows([port], wirings={EXT_NET: desired.Wiring(EXT_NET, "flat", "public")})
    state = desired.host_filter(rows, {names.tap_name(VM)}, {EXT_NET: 3}, MAPPINGS)
    assert state.ports[0].bridge == "br-stackling"
    assert desired.host_filter(rows, {names.tap_name(VM)}, {EXT_NET: 3}).ports[0].bridge == (
        names.bridge_name(EXT_NET)
    )


def test_router_ports_make_a_network_needed_on_their_host() -> None:
    qr = _port(QR, INT_NET, [(INT_SUB, "10.10.0.1")], "network:router_interface")
    qr.binding_host_id = "here"
    view = desired.NetworkView(_network(INT_NET, "vxlan", None), [], [qr])
    assert view.router_ports_here("here") == [qr] and view.bound_here("here") == []
    assert view.needed_here("here") and not view.needed_here("elsewhere")


def test_the_guard_counts_provider_bridges_as_the_clouds() -> None:
    conf = NetworkSettings(guard_prefixes=["10.0.0.0/8"])
    host_guard = desired.host_guard(conf)
    assert host_guard.cloud_bridges == ("brq*", "br-stackling")
    assert host_guard.cloud_interfaces == (*guard.CLOUD_INTERFACES, "br-stackling")
    assert host_guard.guarded_prefixes == ("10.0.0.0/8", "172.24.4.0/24")
    script = guard.render_host_guard(host_guard)
    assert 'iifname { "brq*", "br-stackling" } jump from_cloud' in script
    assert "ip saddr { 10.0.0.0/8, 172.24.4.0/24 } jump from_cloud" in script


def test_provider_settings_are_checked() -> None:
    assert NetworkSettings().bridge_mappings == {"public": "br-stackling"}
    assert NetworkSettings().provider_host_cidrs == {"br-stackling": "172.24.4.1/24"}
    with pytest.raises(ValidationError):
        NetworkSettings(bridge_mappings={"public": "a-bridge-name-too-long"})
    with pytest.raises(ValidationError):
        NetworkSettings(provider_host_cidrs={"br-x": "172.24.4.1/33"})
