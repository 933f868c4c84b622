"""Subnet pools: prefix allocation, bounds, default pools, prefix updates, deletion."""

from __future__ import annotations

import httpx

from tests.functional.network.support import V20, assert_fault, auth, create
from tests.support.identity import project_member


async def test_pool_defaults_and_allocation(admin: httpx.AsyncClient) -> None:
    pool = await create(
        admin, "subnetpool", name="p", prefixes=["10.64.0.0/16", "10.65.0.0/16", "10.64.5.0/24"]
    )
    # Overlapping and adjacent prefixes are merged.
    assert pool["prefixes"] == ["10.64.0.0/15"]
    assert (pool["min_prefixlen"], pool["max_prefixlen"], pool["default_prefixlen"]) == (8, 32, 8)
    assert pool["ip_version"] == 4 and pool["is_default"] is False and pool["shared"] is False
    pool = await create(
        admin,
        "subnetpool",
        prefixes=["10.70.0.0/16"],
        default_prefixlen=26,
        min_prefixlen=24,
        max_prefixlen=28,
    )
    net = await create(admin, "network")
    subs = [
        await create(admin, "subnet", network_id=net["id"], ip_version=4, subnetpool_id=pool["id"])
        for _ in range(3)
    ]
    assert [s["cidr"] for s in subs] == ["10.70.0.0/26", "10.70.0.64/26", "10.70.0.128/26"]
    assert all(s["subnetpool_id"] == pool["id"] for s in subs)
    other = await create(admin, "network")
    sized = await create(
        admin,
        "subnet",
        network_id=other["id"],
        ip_version=4,
        subnetpool_id=pool["id"],
        prefixlen=24,
    )
    assert sized["cidr"] == "10.70.1.0/24"
    exact = await create(
        admin,
        "subnet",
        network_id=other["id"],
        ip_version=4,
        subnetpool_id=pool["id"],
        cidr="10.70.2.16/28",
    )
    assert exact["cidr"] == "10.70.2.16/28"
    base = {"network_id": other["id"], "ip_version": 4, "subnetpool_id": pool["id"]}
    for extra, status, kind in (
        ({"prefixlen": 20}, 400, "MinPrefixSubnetAllocationError"),
        ({"prefixlen": 30}, 400, "MaxPrefixSubnetAllocationError"),
        ({"cidr": "10.70.0.0/26"}, 409, "SubnetAllocationError"),
        ({"cidr": "10.99.0.0/26"}, 409, "SubnetAllocationError"),
        ({"ip_version": 6}, 400, "InvalidInput"),
    ):
        r = await admin.post(f"{V20}/subnets", json={"subnet": {**base, **extra}})
        assert_fault(r, status, kind)
    # Deleting a pool with subnets is refused.
    r = await admin.delete(f"{V20}/subnetpools/{pool['id']}")
    assert_fault(r, 400, "SubnetPoolDeleteError")


async def test_pool_exhaustion(admin: httpx.AsyncClient) -> None:
    pool = await create(admin, "subnetpool", prefixes=["10.80.0.0/23"], default_prefixlen=24)
    net = await create(admin, "network")
    for _ in range(2):
        await create(admin, "subnet", network_id=net["id"], ip_version=4, subnetpool_id=pool["id"])
    r = await admin.post(
        f"{V20}/subnets",
        json={"subnet": {"network_id": net["id"], "ip_version": 4, "subnetpool_id": pool["id"]}},
    )
    fault = assert_fault(r, 409, "SubnetAllocationError")
    assert (
        fault["message"]
        == "Failed to allocate subnet: Insufficient prefix space to allocate subnet size /24."
    )


async def test_bad_pools(admin: httpx.AsyncClient) -> None:
    for body, status, kind in (
        ({"prefixes": []}, 400, "EmptySubnetPoolPrefixList"),
        ({"prefixes": ["10.0.0.0/8", "2001:db8::/32"]}, 400, "PrefixVersionMismatch"),
        (
            {"prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "max_prefixlen": 16},
            400,
            "IllegalSubnetPoolPrefixBounds",
        ),
        (
            {"prefixes": ["10.0.0.0/8"], "default_prefixlen": 4},
            400,
            "IllegalSubnetPoolPrefixBounds",
        ),
        ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 40}, 400, "IllegalSubnetPoolPrefixBounds"),
        ({}, 400, "HTTPBadRequest"),
    ):
        r = await admin.post(f"{V20}/subnetpools", json={"subnetpool": body})
        assert_fault(r, status, kind)


async def test_prefixes_only_grow(admin: httpx.AsyncClient) -> None:
    pool = await create(admin, "subnetpool", prefixes=["10.90.0.0/24"])
    url = f"{V20}/subnetpools/{pool['id']}"
    r = await admin.put(url, json={"subnetpool": {"prefixes": ["10.90.0.0/23", "10.95.0.0/24"]}})
    assert r.status_code == 200, r.text
    assert r.json()["subnetpool"]["prefixes"] == ["10.90.0.0/23", "10.95.0.0/24"]
    assert r.json()["subnetpool"]["revision_number"] == 1
    r = await admin.put(url, json={"subnetpool": {"prefixes": ["10.95.0.0/24"]}})
    assert_fault(r, 400, "IllegalSubnetPoolPrefixUpdate")
    assert (await admin.delete(url)).status_code == 204


async def test_default_subnetpool(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    net = await create(admin, "network", token)
    body = {"network_id": net["id"], "ip_version": 4, "use_default_subnetpool": True}
    r = await admin.post(f"{V20}/subnets", json={"subnet": body}, headers=auth(token))
    fault = assert_fault(r, 400, "BadRequest")
    assert fault["message"] == "Bad subnets request: No default subnetpool found for IPv4."
    # Only admins make shared or default pools.
    r = await admin.post(
        f"{V20}/subnetpools",
        headers=auth(token),
        json={"subnetpool": {"prefixes": ["10.0.0.0/8"], "is_default": True}},
    )
    assert_fault(r, 403, "PolicyNotAuthorized")
    await create(
        admin,
        "subnetpool",
        prefixes=["172.20.0.0/16"],
        default_prefixlen=26,
        is_default=True,
        shared=True,
    )
    r = await admin.post(
        f"{V20}/subnetpools",
        json={"subnetpool": {"prefixes": ["172.30.0.0/16"], "is_default": True}},
    )
    assert_fault(r, 400, "InvalidInput")
    r = await admin.post(f"{V20}/subnets", json={"subnet": body}, headers=auth(token))
    assert r.status_code == 201, r.text
    assert r.json()["subnet"]["cidr"] == "172.20.0.0/26"
    # The member sees the shared pool but may not change it.
    pools = (await admin.get(f"{V20}/subnetpools", headers=auth(token))).json()["subnetpools"]
    assert [p["prefixes"] for p in pools] == [["172.20.0.0/16"]]
    r = await admin.put(
        f"{V20}/subnetpools/{pools[0]['id']}",
        headers=auth(token),
        json={"subnetpool": {"name": "mine"}},
    )
    assert_fault(r, 403, "PolicyNotAuthorized")


async def test_pool_quota_in_addresses(admin: httpx.AsyncClient) -> None:
    pool = await create(
        admin, "subnetpool", prefixes=["10.200.0.0/16"], default_prefixlen=28, default_quota=40
    )
    net = await create(admin, "network")
    body = {"network_id": net["id"], "ip_version": 4, "subnetpool_id": pool["id"]}
    for _ in range(2):
        r = await admin.post(f"{V20}/subnets", json={"subnet": body})
        assert r.status_code == 201, r.text
    r = await admin.post(f"{V20}/subnets", json={"subnet": body})
    assert_fault(r, 409, "SubnetPoolQuotaExceeded")
