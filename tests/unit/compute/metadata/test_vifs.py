"""network_info (the info cache) → VIFs → network_data.json and the EC2 addresses."""

from __future__ import annotations

import json
from typing import Any

from stackling.compute.metadata.source import FixedIp, HostRoute
from stackling.compute.metadata.tree import resolve
from stackling.compute.metadata.vifs import vifs_from_network_info
from tests.unit.compute.metadata.sources import NETWORK_ID, PORT_ID, make_source

FIXED_V4: dict[str, Any] = {
    "addr": "10.0.0.5",
    "version": 4,
    "type": "fixed",
    "cidr": "10.0.0.0/24",
    "gateway": "10.0.0.1",
    "dns": ["10.0.0.2"],
    "routes": [{"destination": "172.16.0.0/12", "nexthop": "10.0.0.254"}],
    "dhcp": False,
    "ipv6_address_mode": None,
}
FLOATING: dict[str, Any] = {
    "addr": "172.24.4.10",
    "version": 4,
    "type": "floating",
    "fixed_addr": "10.0.0.5",
}
VIF: dict[str, Any] = {
    "port_id": PORT_ID,
    "network_id": NETWORK_ID,
    "network_name": "private",
    "mac": "fa:16:3e:9c:bf:3d",
    "mtu": 1450,
    "bridge": "brq99e88329-f2",
    "devname": "tapcd9f6d46-4a",
    "vif_type": "bridge",
    "preserve_on_delete": False,
    "ips": [FIXED_V4, FLOATING],
}


def served(network_info: Any, path: str) -> Any:
    source = make_source(vifs=vifs_from_network_info(network_info))
    resolved = resolve(source, path)
    assert resolved.found, path
    return resolved.body


def test_static_ipv4_vif_becomes_network_data() -> None:
    data = json.loads(served([VIF], "/openstack/latest/network_data.json"))
    assert data["links"] == [
        {
            "id": "tapcd9f6d46-4a",
            "vif_id": PORT_ID,
            "type": "bridge",
            "mtu": 1450,
            "ethernet_mac_address": "fa:16:3e:9c:bf:3d",
        }
    ]
    assert data["networks"] == [
        {
            "id": "network0",
            "type": "ipv4",
            "link": "tapcd9f6d46-4a",
            "ip_address": "10.0.0.5",
            "netmask": "255.255.255.0",
            "routes": [
                {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"},
                {"network": "172.16.0.0", "netmask": "255.240.0.0", "gateway": "10.0.0.254"},
            ],
            "network_id": NETWORK_ID,
            "services": [{"type": "dns", "address": "10.0.0.2"}],
        }
    ]
    assert data["services"] == [{"type": "dns", "address": "10.0.0.2"}]


def test_floating_ip_lands_under_its_fixed_ip_and_in_ec2() -> None:
    (vif,) = vifs_from_network_info([VIF])
    assert vif.fixed_ips == (
        FixedIp(
            address="10.0.0.5",
            cidr="10.0.0.0/24",
            gateway="10.0.0.1",
            dns_servers=("10.0.0.2",),
            host_routes=(HostRoute("172.16.0.0/12", "10.0.0.254"),),
            dhcp_enabled=False,
            floating_ips=("172.24.4.10",),
        ),
    )
    assert served([VIF], "/latest/meta-data/public-ipv4") == b"172.24.4.10"
    assert served([VIF], "/latest/meta-data/local-ipv4") == b"10.0.0.5"


def test_floating_ip_without_fixed_addr_goes_to_the_first_ipv4() -> None:
    v6 = {"addr": "2001:db8::5", "type": "fixed", "cidr": "2001:db8::/64", "dhcp": False}
    floating = {"addr": "172.24.4.11", "type": "floating"}
    (vif,) = vifs_from_network_info([{**VIF, "ips": [v6, FIXED_V4, floating]}])
    assert [ip.floating_ips for ip in vif.fixed_ips] == [(), ("172.24.4.11",)]


def test_dhcp_subnet_is_named_by_type_only() -> None:
    dhcp = {**FIXED_V4, "dhcp": True}
    data = json.loads(served([{**VIF, "ips": [dhcp]}], "/openstack/latest/network_data.json"))
    assert data["networks"] == [
        {"id": "network0", "type": "ipv4_dhcp", "link": "tapcd9f6d46-4a", "network_id": NETWORK_ID}
    ]
    # dnsmasq gives the MTU itself, so Nova leaves it out.
    assert data["links"][0]["mtu"] is None


def test_ipv6_address_mode_is_kept_for_ipv6_only() -> None:
    v6 = {
        "addr": "2001:db8::f816:3eff:fe12:3456",
        "type": "fixed",
        "cidr": "2001:db8::/64",
        "gateway": "2001:db8::1",
        "dhcp": False,
        "ipv6_address_mode": "slaac",
    }
    v4 = {**FIXED_V4, "ipv6_address_mode": "slaac"}
    data = json.loads(served([{**VIF, "ips": [v4, v6]}], "/openstack/latest/network_data.json"))
    assert [n["type"] for n in data["networks"]] == ["ipv4", "ipv6_slaac"]


def test_missing_keys_and_garbage_are_tolerated() -> None:
    info = [
        "not a dict",
        {"ips": [{"addr": "10.1.0.7"}]},  # no port, mac, network, cidr, type
        {
            "port_id": "p2",
            "mtu": "not a number",
            "ips": [
                {"addr": "not-an-ip", "type": "fixed"},
                {"addr": "10.2.0.9", "cidr": "garbage", "routes": [{"destination": "x"}, 7]},
                {"addr": "bogus", "type": "floating"},
                "junk",
            ],
        },
    ]
    first, second = vifs_from_network_info(info)
    assert first.port_id == "" and first.mac == "" and first.mtu is None
    assert first.fixed_ips[0].address == "10.1.0.7"
    assert first.fixed_ips[0].cidr == "10.1.0.7/32"
    assert first.fixed_ips[0].dhcp_enabled is True
    assert second.mtu is None
    assert [ip.address for ip in second.fixed_ips] == ["10.2.0.9"]
    assert second.fixed_ips[0].host_routes == ()
    # Still renders: an odd entry never costs the guest its metadata.
    source = make_source(vifs=(first, second))
    assert resolve(source, "/openstack/latest/network_data.json").found
    assert vifs_from_network_info(None) == ()
    assert vifs_from_network_info([]) == ()
