"""Races the database must decide: addresses, quotas, VNIs and duplicate rules under concurrency."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx

from tests.functional.network.support import V20, assert_fault, auth, create
from tests.support.identity import project_member


async def test_200_ports_race_for_100_addresses(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network", shared=True)
    pool = {"start": "10.50.0.10", "end": "10.50.0.109"}
    await create(
        admin,
        "subnet",
        network_id=net["id"],
        ip_version=4,
        cidr="10.50.0.0/24",
        allocation_pools=[pool],
    )
    # Three projects race, so that PostgreSQL runs their transactions side by side.
    tokens = [(await project_member(admin))[2] for _ in range(3)]

    async def one(n: int) -> httpx.Response:
        body = {"port": {"network_id": net["id"], "name": f"p{n}"}}
        return await admin.post(f"{V20}/ports", json=body, headers=auth(tokens[n % 3]))

    results = await asyncio.gather(*(one(n) for n in range(200)))
    made = [r.json()["port"] for r in results if r.status_code == 201]
    refused = [r for r in results if r.status_code != 201]
    assert len(made) == 100, [r.text for r in refused[:3]]
    for r in refused:
        assert_fault(r, 409, "IpAddressGenerationFailure")
    addresses = [p["fixed_ips"][0]["ip_address"] for p in made]
    expected = {str(ipaddress.ip_address("10.50.0.10") + i) for i in range(100)}
    assert len(set(addresses)) == 100 and set(addresses) == expected
    r = await admin.get(f"{V20}/ports", params={"network_id": net["id"]})
    listed = [ip["ip_address"] for p in r.json()["ports"] for ip in p["fixed_ips"]]
    assert sorted(listed) == sorted(addresses)


async def test_explicit_addresses_race(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network")
    await create(admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.51.0.0/24")
    body = {"port": {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.51.0.99"}]}}
    results = await asyncio.gather(*(admin.post(f"{V20}/ports", json=body) for _ in range(10)))
    assert sorted(r.status_code for r in results) == [201] + [409] * 9
    for r in results:
        if r.status_code == 409:
            assert_fault(r, 409, "IpAddressInUse")


async def test_port_quota_holds_under_concurrency(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.put(f"{V20}/quotas/{project['id']}", json={"quota": {"port": 5, "network": 3}})
    assert r.status_code == 200, r.text
    net = await create(admin, "network", token)
    await create(admin, "subnet", token, network_id=net["id"], ip_version=4, cidr="10.52.0.0/24")
    body = {"port": {"network_id": net["id"]}}
    results = await asyncio.gather(
        *(admin.post(f"{V20}/ports", json=body, headers=auth(token)) for _ in range(20))
    )
    assert sorted(r.status_code for r in results) == [201] * 5 + [409] * 15
    fault = assert_fault(next(r for r in results if r.status_code == 409), 409, "OverQuota")
    assert fault["message"] == "Quota exceeded for resources: ['port']."
    nets = await asyncio.gather(
        *(
            admin.post(f"{V20}/networks", json={"network": {}}, headers=auth(token))
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in nets) == [201] * 2 + [409] * 6
    r = await admin.get(f"{V20}/quotas/{project['id']}/details", headers=auth(token))
    detail = r.json()["quota"]
    assert detail["port"] == {"limit": 5, "used": 5, "reserved": 0}
    assert detail["network"] == {"limit": 3, "used": 3, "reserved": 0}


async def test_concurrent_networks_get_distinct_vnis(admin: httpx.AsyncClient) -> None:
    tokens = [(await project_member(admin))[2] for _ in range(4)]
    results = await asyncio.gather(
        *(
            admin.post(f"{V20}/networks", json={"network": {}}, headers=auth(tokens[n % 4]))
            for n in range(24)
        )
    )
    assert all(r.status_code == 201 for r in results), [r.text for r in results]
    r = await admin.get(f"{V20}/networks", params={"fields": ["provider:segmentation_id"]})
    vnis = [n["provider:segmentation_id"] for n in r.json()["networks"]]
    assert sorted(vnis) == list(range(100, 124))


async def test_identical_rules_race(admin: httpx.AsyncClient) -> None:
    sg = await create(admin, "security_group", name="race")
    rule = {
        "security_group_id": sg["id"],
        "direction": "ingress",
        "protocol": "tcp",
        "port_range_min": 22,
        "port_range_max": 22,
    }
    results = await asyncio.gather(
        *(
            admin.post(f"{V20}/security-group-rules", json={"security_group_rule": rule})
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 7
    for r in results:
        if r.status_code == 409:
            assert_fault(r, 409, "SecurityGroupRuleExists")
