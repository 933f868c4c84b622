"""The network agent's pure parts: l2-population, conntrack zones, rows into data-plane specs."""

from __future__ import annotations

import json
from pathlib import Path

from stackling.network import models as m
from stackling.network.agent import desired
from stackling.network.agent.agent import dhcp_device_id
from stackling.network.agent.l2pop import RemotePort, fdb_for
from stackling.network.agent.zones import ZoneBook
from stackling.network.linux import names

NET = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
SUB4 = "11111111-2222-4333-8444-555555555555"
SUB_OFF = "99999999-2222-4333-8444-555555555555"
GROUP = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
REMOTE = "bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee"


def test_l2pop_floods_to_and_points_macs_at_other_hosts_only() -> None:
    vteps = {"a": "192.0.2.1", "b": "192.0.2.2", "c": "192.0.2.3", "twin": "192.0.2.1"}
    ports = [
        RemotePort("FA:16:3E:00:00:01", "a"),  # ours: the bridge learns it
        RemotePort("fa:16:3e:00:00:02", "b"),
        RemotePort("fa:16:3e:00:00:03", "b"),
        RemotePort("fa:16:3e:00:00:04", "c"),
        RemotePort("fa:16:3e:00:00:05", "unknown"),  # no VTEP: unreachable, left out
        RemotePort("fa:16:3e:00:00:06", ""),  # unbound
        RemotePort("fa:16:3e:00:00:07", "twin"),  # our own address: not a tunnel
    ]
    fdb = fdb_for(ports, vteps, "a")
    assert fdb.flood == {"192.0.2.2", "192.0.2.3"}
    assert dict(fdb.unicast) == {
        "fa:16:3e:00:00:02": "192.0.2.2",
        "fa:16:3e:00:00:03": "192.0.2.2",
        "fa:16:3e:00:00:04": "192.0.2.3",
    }


def test_l2pop_with_one_host_wants_nothing() -> None:
    fdb = fdb_for([RemotePort("fa:16:3e:00:00:01", "a")], {"a": "127.0.0.1"}, "a")
    assert not fdb.flood and not fdb.unicast


def test_zones_are_stable_unique_and_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "network" / "zones.json"
    book = ZoneBook(path)
    assert book.assign({"n1", "n2"}) == {"n1": 1, "n2": 2}
    # A network that goes frees its zone; the others keep theirs.
    assert book.assign({"n2", "n3"}) == {"n2": 2, "n3": 1}
    assert ZoneBook(path).assign({"n2", "n3", "n4"}) == {"n2": 2, "n3": 1, "n4": 3}
    assert json.loads(path.read_text()) == {"n2": 2, "n3": 1, "n4": 3}


def test_a_damaged_zone_file_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "zones.json"
    path.write_text('{"n1": 7, "n2": 7, "n3": "x", "n4": 0')
    assert ZoneBook(path).assign({"n1"}) == {"n1": 1}
    path.write_text('{"n1": 7, "n2": 7, "n3": "x", "n4": 0}')
    # Duplicates and nonsense are dropped; a valid zone is kept.
    assert ZoneBook(path).assign({"n1", "n2"}) == {"n1": 7, "n2": 1}


def _port(port_id: str, mac: str, ips: list[tuple[str, str]], **extra: object) -> m.Port:
    port = m.Port(id=port_id, network_id=NET, mac_address=mac, project_id="p", **extra)
    port.fixed_ips = [m.IPAllocation(subnet_id=s, ip_address=ip) for s, ip in ips]
    port.allowed_address_pairs = []
    port.security_group_bindings = []
    port.dns_name = extra.get("dns_name", "")  # type: ignore[assignment]
    return port


def _view(*ports: m.Port) -> desired.NetworkView:
    net = m.Network(id=NET, project_id="p", mtu=1450, dns_domain="", admin_state_up=True)
    on = m.Subnet(id=SUB4, network_id=NET, ip_version=4, cidr="10.0.0.0/24",
                  gateway_ip="10.0.0.1", enable_dhcp=True)  # fmt: skip
    off = m.Subnet(id=SUB_OFF, network_id=NET, ip_version=4, cidr="10.9.0.0/24",
                   gateway_ip=None, enable_dhcp=False)  # fmt: skip
    for subnet in (on, off):
        subnet.dns_nameservers = [m.DnsNameserver(address="10.0.0.53", position=0)]
        subnet.host_routes = []
    return desired.NetworkView(net, [on, off], list(ports), vxlan_vni=7, network_type="vxlan")


def test_dhcp_spec_has_every_port_of_dhcp_subnets_and_the_metadata_route() -> None:
    dhcp = _port("d0000000-0000-4000-8000-000000000001", "fa:16:3e:00:00:02",
                 [(SUB4, "10.0.0.2")], device_owner="network:dhcp")  # fmt: skip
    vm = _port("e0000000-0000-4000-8000-000000000001", "fa:16:3e:00:00:03",
               [(SUB4, "10.0.0.3"), (SUB_OFF, "10.9.0.3")])  # fmt: skip
    named = _port("f0000000-0000-4000-8000-000000000001", "fa:16:3e:00:00:04",
                  [(SUB4, "10.0.0.4")], dns_name="web")  # fmt: skip
    view = _view(dhcp, vm, named)
    spec = desired.dhcp_network(view, dhcp, tag="t-")
    assert spec.namespace == "t-qdhcp-" + NET
    assert spec.interface == names.dhcp_port_name(dhcp.id)
    assert spec.mtu == 1450 and spec.domain == "openstacklocal"
    assert {(h.mac, h.ip, h.hostname) for h in spec.hosts} == {
        ("fa:16:3e:00:00:02", "10.0.0.2", "host-10-0-0-2"),
        ("fa:16:3e:00:00:03", "10.0.0.3", "host-10-0-0-3"),
        ("fa:16:3e:00:00:04", "10.0.0.4", "web"),
    }
    served = {s.subnet_id: s for s in spec.subnets}
    assert served[SUB4].metadata_nexthop == "10.0.0.2"
    assert served[SUB4].dns_nameservers == ("10.0.0.53",)
    assert not served[SUB_OFF].enable_dhcp and served[SUB_OFF].metadata_nexthop is None
    assert desired.dhcp_addresses(view, dhcp) == ["10.0.0.2/24"]


def test_host_filter_covers_ports_with_a_device_and_fills_remote_groups() -> None:
    here = _port("e1000000-0000-4000-8000-000000000001", "fa:16:3e:00:00:03",
                 [(SUB4, "10.0.0.3")])  # fmt: skip
    here.security_group_bindings = [m.PortSecurityGroup(port_id=here.id, security_group_id=GROUP)]
    pair = m.AllowedAddressPair(port_id=here.id, mac_address=None, ip_address="10.0.0.200")
    here.allowed_address_pairs = [pair]
    open_port = _port("e2000000-0000-4000-8000-000000000002", "fa:16:3e:00:00:04",
                      [(SUB4, "10.0.0.4")], port_security_enabled=False)  # fmt: skip
    no_tap = _port("e3000000-0000-4000-8000-000000000003", "fa:16:3e:00:00:05", [])
    rule = m.SecurityGroupRule(
        id="c0000000-0000-4000-8000-000000000001", security_group_id=GROUP, direction="ingress",
        ethertype="IPv4", protocol="tcp", port_range_min=22, port_range_max=22,
        remote_group_id=REMOTE,
    )  # fmt: skip
    rows = desired.FilterRows(
        [here, open_port, no_tap],
        rules={GROUP: [rule]},
        members={REMOTE: ["10.0.0.7", "10.0.0.7", "10.0.0.8"]},
    )
    devices = {names.tap_name(here.id), names.tap_name(open_port.id)}
    state = desired.host_filter(rows, devices, {NET: 5})
    assert [p.port_id for p in state.ports] == [here.id, open_port.id]
    first = state.ports[0]
    assert first.zone == 5 and first.bridge == names.bridge_name(NET)
    assert first.fixed_ips == ("10.0.0.3",)
    assert [p.ip_address for p in first.allowed_address_pairs] == ["10.0.0.200"]
    assert [(r.direction, r.port_range_min, r.remote_group_id) for r in first.rules] == [
        ("ingress", 22, REMOTE)
    ]
    assert not state.ports[1].port_security
    assert [(g.group_id, g.addresses) for g in state.groups] == [(REMOTE, ("10.0.0.7", "10.0.0.8"))]


def test_dhcp_device_id_is_neutrons() -> None:
    device_id = dhcp_device_id("host-1", NET)
    assert device_id.startswith("dhcp") and device_id.endswith("-" + NET)
    assert device_id == dhcp_device_id("host-1", NET) != dhcp_device_id("host-2", NET)
