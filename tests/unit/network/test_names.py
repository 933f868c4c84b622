"""The naming scheme: Neutron's names, within IFNAMSIZ, parsed back to what they serve."""

from __future__ import annotations

import uuid

import pytest

from stackling.network.linux import names
from stackling.network.linux.names import Kind

PORT = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"


def test_link_names_are_neutrons_and_fit_ifnamsiz() -> None:
    assert names.bridge_name(PORT) == "brq1b2c3d4e-5f"
    assert names.tap_name(PORT) == "tap1b2c3d4e-5f"
    assert names.router_port_name(PORT) == "qr-1b2c3d4e-5f"
    assert names.gateway_port_name(PORT) == "qg-1b2c3d4e-5f"
    assert names.dhcp_port_name(PORT) == "ns-1b2c3d4e-5f"
    assert names.vxlan_name(names.MAX_VNI) == "vxlan-16777215"
    for make in (names.bridge_name, names.tap_name, names.router_port_name):
        assert len(make(str(uuid.uuid4()))) <= names.MAX_IFNAME_LEN
    assert len(names.vxlan_name(names.MAX_VNI)) <= names.MAX_IFNAME_LEN


def test_the_tap_name_is_the_one_nova_derives_from_the_port() -> None:
    # Nova (and stackling.compute.metadata) cut "tap" + port id to 14 characters.
    assert names.tap_name(PORT) == ("tap" + PORT)[:14]


def test_ids_are_canonicalised_and_checked() -> None:
    assert names.bridge_name(PORT.upper()) == "brq1b2c3d4e-5f"
    assert names.tap_name(PORT.replace("-", "")) == "tap1b2c3d4e-5f"
    for bad in ("", "not-a-uuid", "../../etc", 'x" drop'):
        with pytest.raises(ValueError):
            names.tap_name(bad)
    for vni in (0, names.MAX_VNI + 1, -1):
        with pytest.raises(ValueError):
            names.vxlan_name(vni)


def test_namespaces_carry_the_full_id_and_an_optional_tag() -> None:
    assert names.dhcp_namespace(PORT) == f"qdhcp-{PORT}"
    assert names.router_namespace(PORT, tag="t1-") == f"t1-qrouter-{PORT}"
    with pytest.raises(ValueError):
        names.router_namespace(PORT, tag="bad/tag")


@pytest.mark.parametrize(
    ("name", "kind", "key"),
    [
        ("brq1b2c3d4e-5f", Kind.BRIDGE, "1b2c3d4e-5f"),
        ("tap1b2c3d4e-5f", Kind.TAP, "1b2c3d4e-5f"),
        ("qr-1b2c3d4e-5f", Kind.ROUTER_PORT, "1b2c3d4e-5f"),
        ("qg-1b2c3d4e-5f", Kind.GATEWAY_PORT, "1b2c3d4e-5f"),
        ("ns-1b2c3d4e-5f", Kind.DHCP_PORT, "1b2c3d4e-5f"),
        ("vxlan-100", Kind.VXLAN, "100"),
    ],
)
def test_link_names_parse_back(name: str, kind: Kind, key: str) -> None:
    owned = names.parse_link(name)
    assert owned == names.Owned(kind, name, key)
    assert key == names.key_of(PORT) or kind == Kind.VXLAN


@pytest.mark.parametrize(
    "name",
    ["eth0", "lo", "tap0", "tapfoo", "brq-docker", "vnet3", "virbr0", "vxlan-0", "vxlan-99999999",
     "vxlan-16777216", "tap1b2c3d4e-5", "TAP1b2c3d4e-5f", "qr-1b2c3d4e-5fx"],
)  # fmt: skip
def test_other_names_are_never_ours(name: str) -> None:
    assert names.parse_link(name) is None


def test_namespace_names_parse_back_within_their_tag() -> None:
    dhcp = names.dhcp_namespace(PORT, tag="t1-")
    assert names.parse_namespace(dhcp, tag="t1-") == names.Owned(Kind.DHCP_NAMESPACE, dhcp, PORT)
    # Another tag's (or no tag's) namespaces are invisible to a tagged sweep, and back.
    assert names.parse_namespace(dhcp) is None
    assert names.parse_namespace(dhcp, tag="t2-") is None
    assert names.parse_namespace(names.router_namespace(PORT), tag="t1-") is None
    router = names.router_namespace(PORT)
    assert names.parse_namespace(router) == names.Owned(Kind.ROUTER_NAMESPACE, router, PORT)
    assert names.parse_namespace("qdhcp-123") is None
    assert names.parse_namespace("netns-of-someone-else") is None


def test_our_tables_are_known_by_prefix() -> None:
    for family, table in (*names.HOST_TABLES, names.NAT_TABLE):
        assert names.is_our_table(family, table)
    assert not names.is_our_table("inet", "filter")
    assert not names.is_our_table("ip", "nat")
