"""Subnets: gateways, allocation pools, routes, DNS servers, IPv6 modes, overlap, update, delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.functional.network.support import V20, assert_fault, create


async def _subnet(c: httpx.AsyncClient, net_id: str, **fields: Any) -> httpx.Response:
    body = {"network_id": net_id, "ip_version": 4, **fields}
    return await c.post(f"{V20}/subnets", json={"subnet": body})


async def test_ipv4_defaults(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network")
    sub = await create(
        admin,
        "subnet",
        network_id=net["id"],
        ip_version=4,
        cidr="192.168.5.0/24",
        name="s",
        dns_nameservers=["8.8.8.8", "1.1.1.1"],
        host_routes=[{"destination": "10.20.0.0/16", "nexthop": "192.168.5.9"}],
    )
    assert sub["gateway_ip"] == "192.168.5.1"
    assert sub["allocation_pools"] == [{"start": "192.168.5.2", "end": "192.168.5.254"}]
    assert sub["dns_nameservers"] == ["8.8.8.8", "1.1.1.1"]  # the order given
    assert sub["host_routes"] == [{"destination": "10.20.0.0/16", "nexthop": "192.168.5.9"}]
    assert sub["enable_dhcp"] is True and sub["subnetpool_id"] is None
    assert sub["ipv6_ra_mode"] is None and sub["ipv6_address_mode"] is None
    r = await admin.get(f"{V20}/networks/{net['id']}")
    assert r.json()["network"]["subnets"] == [sub["id"]]
    assert r.json()["network"]["revision_number"] == 1


async def test_gateway_choices(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network")
    none = await create(
        admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.0.1.0/29", gateway_ip=None
    )
    assert none["gateway_ip"] is None
    assert none["allocation_pools"] == [{"start": "10.0.1.1", "end": "10.0.1.6"}]
    middle = await create(
        admin,
        "subnet",
        network_id=net["id"],
        ip_version=4,
        cidr="10.0.2.0/29",
        gateway_ip="10.0.2.4",
    )
    assert middle["allocation_pools"] == [
        {"start": "10.0.2.1", "end": "10.0.2.3"},
        {"start": "10.0.2.5", "end": "10.0.2.6"},
    ]
    # Host bits of the cidr are dropped.
    loose = await create(admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.0.3.7/24")
    assert loose["cidr"] == "10.0.3.0/24"
    for gateway in ("10.0.9.1", "10.0.4.0", "10.0.4.255", "fe80::1"):
        r = await _subnet(admin, net["id"], cidr="10.0.4.0/24", gateway_ip=gateway)
        assert_fault(r, 400, "InvalidInput")


@pytest.mark.parametrize(
    ("pools", "status", "kind"),
    [
        ([{"start": "10.5.0.10", "end": "10.5.0.5"}], 400, "InvalidAllocationPool"),
        ([{"start": "10.5.0.10", "end": "10.5.1.5"}], 400, "OutOfBoundsAllocationPool"),
        ([{"start": "10.5.0.0", "end": "10.5.0.5"}], 400, "OutOfBoundsAllocationPool"),
        ([{"start": "10.5.0.1", "end": "10.5.0.5"}], 409, "GatewayConflictWithAllocationPools"),
        (
            [
                {"start": "10.5.0.10", "end": "10.5.0.20"},
                {"start": "10.5.0.20", "end": "10.5.0.30"},
            ],
            409,
            "OverlappingAllocationPools",
        ),
        ([{"start": "10.5.0.10"}], 400, "HTTPBadRequest"),
        ([{"start": "fe80::1", "end": "fe80::2"}], 400, "InvalidAllocationPool"),
    ],
)
async def test_bad_allocation_pools(
    admin: httpx.AsyncClient, pools: list[dict[str, str]], status: int, kind: str
) -> None:
    net = await create(admin, "network")
    r = await _subnet(admin, net["id"], cidr="10.5.0.0/24", allocation_pools=pools)
    assert_fault(r, status, kind)


async def test_explicit_pools(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network")
    pools = [
        {"start": "10.6.0.100", "end": "10.6.0.110"},
        {"start": "10.6.0.20", "end": "10.6.0.30"},
    ]
    sub = await create(
        admin,
        "subnet",
        network_id=net["id"],
        ip_version=4,
        cidr="10.6.0.0/24",
        allocation_pools=pools,
    )
    assert sub["allocation_pools"] == pools
    port = await create(admin, "port", network_id=net["id"])
    # The lowest free address of all pools.
    assert port["fixed_ips"][0]["ip_address"] == "10.6.0.20"


async def test_other_checks(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network")
    await create(admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.7.0.0/16")
    r = await _subnet(admin, net["id"], cidr="10.7.5.0/24")
    fault = assert_fault(r, 400, "InvalidInput")
    assert "overlaps with another subnet" in fault["message"]
    # The same range on another network is fine.
    other = await create(admin, "network")
    await create(admin, "subnet", network_id=other["id"], ip_version=4, cidr="10.7.5.0/24")
    checks = [
        ({"cidr": "10.8.0.0/24", "ip_version": 6}, 400, "InvalidInput"),
        ({"cidr": "10.8.0.0/31"}, 400, "InvalidInput"),
        ({"cidr": "0.0.0.0/0"}, 400, "InvalidInput"),
        ({"cidr": "banana"}, 400, "HTTPBadRequest"),
        ({}, 400, "BadRequest"),
        ({"cidr": "10.8.0.0/24", "prefixlen": 24}, 400, "BadRequest"),
        ({"cidr": "10.8.0.0/24", "ipv6_ra_mode": "slaac"}, 400, "InvalidInput"),
        ({"cidr": "10.8.0.0/24", "dns_nameservers": ["fe80::1"]}, 400, "InvalidInput"),
        ({"cidr": "10.8.0.0/24", "dns_nameservers": ["1.1.1.1", "1.1.1.1"]}, 400, "HTTPBadRequest"),
        (
            {"cidr": "10.8.0.0/24", "dns_nameservers": [f"1.1.1.{i}" for i in range(6)]},
            400,
            "DNSNameServersExhausted",
        ),
        (
            {"cidr": "10.8.0.0/24", "host_routes": [{"destination": "x", "nexthop": "1.1.1.1"}]},
            400,
            "HTTPBadRequest",
        ),
        (
            {"cidr": "10.8.0.0/24", "network_id": "9c1e2e43-0000-4000-8000-000000000000"},
            404,
            "NetworkNotFound",
        ),
    ]
    for fields, status, kind in checks:
        r = await _subnet(admin, net["id"], **fields)
        assert_fault(r, status, kind)


async def test_ipv6(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network")
    slaac = await create(
        admin,
        "subnet",
        network_id=net["id"],
        ip_version=6,
        cidr="2001:db8:1::/64",
        ipv6_ra_mode="slaac",
        ipv6_address_mode="slaac",
    )
    assert slaac["gateway_ip"] == "2001:db8:1::1"
    assert slaac["allocation_pools"] == [
        {"start": "2001:db8:1::2", "end": "2001:db8:1:0:ffff:ffff:ffff:ffff"}
    ]
    stateful = await create(
        admin,
        "subnet",
        network_id=net["id"],
        ip_version=6,
        cidr="2001:db8:2::/64",
        ipv6_address_mode="dhcpv6-stateful",
    )
    v4 = await create(admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.10.0.0/24")
    port = await create(admin, "port", network_id=net["id"], mac_address="fa:16:3e:11:22:33")
    by_subnet = {ip["subnet_id"]: ip["ip_address"] for ip in port["fixed_ips"]}
    # SLAAC: the EUI-64 address of the MAC; stateful and IPv4: the lowest free.
    assert by_subnet == {
        slaac["id"]: "2001:db8:1:0:f816:3eff:fe11:2233",
        stateful["id"]: "2001:db8:2::2",
        v4["id"]: "10.10.0.2",
    }
    bad = [
        {
            "cidr": "2001:db8:3::/64",
            "ipv6_ra_mode": "slaac",
            "ipv6_address_mode": "dhcpv6-stateful",
        },
        {"cidr": "2001:db8:4::/80", "ipv6_address_mode": "slaac"},
        {"cidr": "2001:db8:5::/64", "ipv6_address_mode": "slaac", "enable_dhcp": False},
        {"cidr": "2001:db8:6::/64", "ipv6_address_mode": "stateless-ish"},
    ]
    for fields in bad:
        r = await admin.post(
            f"{V20}/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 6, **fields}}
        )
        assert_fault(r, 400)
    r = await admin.post(
        f"{V20}/ports",
        json={"port": {"network_id": net["id"], "fixed_ips": [{"ip_address": "2001:db8:1::55"}]}},
    )
    assert_fault(r, 400, "InvalidInput")


async def test_update(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network")
    sub = await create(
        admin,
        "subnet",
        network_id=net["id"],
        ip_version=4,
        cidr="10.11.0.0/24",
        dns_nameservers=["1.1.1.1"],
    )
    url = f"{V20}/subnets/{sub['id']}"
    r = await admin.put(
        url,
        json={
            "subnet": {
                "name": "renamed",
                "dns_nameservers": ["9.9.9.9", "8.8.8.8"],
                "allocation_pools": [{"start": "10.11.0.50", "end": "10.11.0.60"}],
                "host_routes": [{"destination": "0.0.0.0/0", "nexthop": "10.11.0.254"}],
                "gateway_ip": "10.11.0.254",
            }
        },
    )
    assert r.status_code == 200, r.text
    updated = r.json()["subnet"]
    assert updated["name"] == "renamed" and updated["gateway_ip"] == "10.11.0.254"
    assert updated["dns_nameservers"] == ["9.9.9.9", "8.8.8.8"]
    assert updated["allocation_pools"] == [{"start": "10.11.0.50", "end": "10.11.0.60"}]
    assert updated["revision_number"] == 1
    r = await admin.put(url, json={"subnet": {"gateway_ip": "10.11.0.55"}})
    assert_fault(r, 409, "GatewayConflictWithAllocationPools")
    r = await admin.put(url, json={"subnet": {"cidr": "10.12.0.0/24"}})
    assert assert_fault(r, 400)["message"] == "Cannot update read-only attribute cidr"
    # A gateway held by a port cannot move.
    await create(
        admin,
        "port",
        network_id=net["id"],
        device_owner="network:router_interface",
        fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.11.0.254"}],
    )
    r = await admin.put(url, json={"subnet": {"gateway_ip": "10.11.0.1"}})
    assert_fault(r, 409, "GatewayIpInUse")


async def test_delete_in_use_except_dhcp(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network")
    sub = await create(admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.12.0.0/24")
    dhcp = await create(admin, "port", network_id=net["id"], device_owner="network:dhcp")
    vm = await create(admin, "port", network_id=net["id"], device_owner="compute:nova")
    fault = assert_fault(await admin.delete(f"{V20}/subnets/{sub['id']}"), 409, "SubnetInUse")
    assert fault["message"] == (
        f"Unable to complete operation on subnet {sub['id']}: One or more ports have an IP "
        "allocation from this subnet."
    )
    await admin.delete(f"{V20}/ports/{vm['id']}")
    assert (await admin.delete(f"{V20}/subnets/{sub['id']}")).status_code == 204
    # The DHCP port stays, without its address on the deleted subnet.
    r = await admin.get(f"{V20}/ports/{dhcp['id']}")
    assert r.status_code == 200 and r.json()["port"]["fixed_ips"] == []
    r = await admin.get(f"{V20}/networks/{net['id']}")
    assert r.json()["network"]["subnets"] == []
