"""network_data.json: the links, networks and services a guest configures itself from."""

from __future__ import annotations

import json
from typing import Any

from stackling.compute.metadata.source import FixedIp, VifInfo
from stackling.compute.metadata.tree import APPLICATION_JSON, resolve
from tests.unit.compute.metadata.sources import (
    DHCP_V4,
    NETWORK_ID,
    PORT_ID,
    SLAAC_V6,
    STATIC_V4,
    make_source,
    vif,
)

LINK_ID = "tapcd9f6d46-4a"


def network_data(*vifs: VifInfo, version: str = "latest") -> dict[str, Any]:
    resolved = resolve(make_source(vifs=vifs), f"/openstack/{version}/network_data.json")
    assert resolved.content_type == APPLICATION_JSON
    return json.loads(resolved.body)


def test_ipv4_dhcp_vif_matches_novas_documented_example() -> None:
    assert network_data(vif(DHCP_V4)) == {
        "links": [
            {
                "ethernet_mac_address": "fa:16:3e:9c:bf:3d",
                "id": LINK_ID,
                # The DHCP server gives the MTU; Nova leaves it null here.
                "mtu": None,
                "type": "bridge",
                "vif_id": PORT_ID,
            }
        ],
        "networks": [
            {"id": "network0", "link": LINK_ID, "network_id": NETWORK_ID, "type": "ipv4_dhcp"}
        ],
        "services": [{"address": "10.0.0.2", "type": "dns"}],
    }


def test_ipv6_slaac_vif() -> None:
    data = network_data(vif(SLAAC_V6))
    assert data["links"][0]["mtu"] == 1450
    assert data["networks"] == [
        {
            "id": "network0",
            "type": "ipv6_slaac",
            "link": LINK_ID,
            "ip_address": "2001:db8:0:1:f816:3eff:fe12:3456",
            "netmask": "ffff:ffff:ffff:ffff::",
            "routes": [{"network": "::", "netmask": "::", "gateway": "2001:db8:0:1::1"}],
            "network_id": NETWORK_ID,
            "services": [{"type": "dns", "address": "2001:4860:4860::8888"}],
        }
    ]
    assert data["services"] == [{"type": "dns", "address": "2001:4860:4860::8888"}]


def test_static_ipv4_with_host_routes() -> None:
    network = network_data(vif(STATIC_V4))["networks"][0]
    assert network["type"] == "ipv4"
    assert network["ip_address"] == "192.168.7.20"
    assert network["netmask"] == "255.255.255.0"
    assert network["routes"] == [
        {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "192.168.7.1"},
        {"network": "172.16.0.0", "netmask": "255.240.0.0", "gateway": "192.168.7.254"},
    ]


def test_no_gateway_means_no_default_route() -> None:
    isolated = FixedIp("10.9.0.4", "10.9.0.0/24", gateway=None, dhcp_enabled=False)
    assert network_data(vif(isolated))["networks"][0]["routes"] == []


def test_dual_stack_vif_gives_one_link_two_networks() -> None:
    data = network_data(vif(DHCP_V4, SLAAC_V6))
    assert len(data["links"]) == 1
    assert [(n["id"], n["type"]) for n in data["networks"]] == [
        ("network0", "ipv4_dhcp"),
        ("network1", "ipv6_slaac"),
    ]


def test_only_the_first_address_of_each_family_counts() -> None:
    second = FixedIp("192.168.7.21", "192.168.7.0/24", dhcp_enabled=False)
    networks = network_data(vif(STATIC_V4, second))["networks"]
    assert [n["ip_address"] for n in networks] == ["192.168.7.20"]


def test_dhcpv6_stateful_type() -> None:
    stateful = FixedIp("2001:db8:1::5", "2001:db8:1::/64", ipv6_address_mode="dhcpv6-stateful")
    assert network_data(vif(stateful))["networks"][0]["type"] == "ipv6_dhcpv6-stateful"


def test_two_vifs_number_links_and_networks_in_order_and_share_dns_once() -> None:
    other = vif(STATIC_V4, port_id="0a1b2c3d-0000-4000-8000-000000000001", mac="fa:16:3e:00:00:02")
    data = network_data(vif(DHCP_V4), other)
    assert [link["id"] for link in data["links"]] == [LINK_ID, "tap0a1b2c3d-00"]
    assert [n["link"] for n in data["networks"]] == [LINK_ID, "tap0a1b2c3d-00"]
    # 10.0.0.2 is on both subnets; the top-level list names it once.
    assert data["services"] == [
        {"type": "dns", "address": "10.0.0.2"},
        {"type": "dns", "address": "8.8.8.8"},
    ]


def test_vif_without_addresses_has_no_link() -> None:
    data = network_data(vif(), vif(STATIC_V4))
    assert len(data["links"]) == 1
    assert data["networks"][0]["id"] == "network0"


def test_unexposed_vif_type_is_phy() -> None:
    assert network_data(vif(DHCP_V4, vif_type="macvtap"))["links"][0]["type"] == "phy"


def test_no_vifs_is_an_empty_object() -> None:
    assert network_data() == {}
