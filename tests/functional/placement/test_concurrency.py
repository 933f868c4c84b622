"""Concurrent claims never overcommit a provider and never fail while there is room.

Both databases: SQLite serialises writers; PostgreSQL runs them at once and
relies on the provider generation compare-and-set (and row locks) to refuse
what no longer fits.
"""

from __future__ import annotations

import asyncio

import httpx

from stackling.placement.errors import AllocationConflict
from stackling.placement.service.core import PlacementService
from tests.functional.placement.support import P, assert_placement_fault, new_uuid, usages

Cloud = tuple[httpx.AsyncClient, PlacementService]


async def test_100_concurrent_claims_on_room_for_50(cloud: Cloud) -> None:
    admin, svc = cloud
    node = new_uuid()
    await svc.ensure_provider(
        uuid=node,
        name="busy-host",
        inventories={"VCPU": {"total": 25, "allocation_ratio": 2.0}, "MEMORY_MB": {"total": 10000}},
    )

    async def claim(i: int) -> bool:
        try:
            await svc.claim(
                consumer_uuid=new_uuid(),
                project_id=f"p{i % 3}",
                user_id="u",
                allocations={node: {"VCPU": 1, "MEMORY_MB": 100}},
            )
        except AllocationConflict:
            return False
        return True

    results = await asyncio.gather(*(claim(i) for i in range(100)))
    assert results.count(True) == 50
    used = await svc.provider_usages(node)
    assert used == {"VCPU": 50, "MEMORY_MB": 5000}
    assert len(await svc.provider_consumers(node)) == 50
    total = {}
    for project in ("p0", "p1", "p2"):
        for rc, n in (await svc.project_usages(project)).items():
            total[rc] = total.get(rc, 0) + n
    assert total == {"VCPU": 50, "MEMORY_MB": 5000}
    # Every claim moved the provider's generation exactly once (plus the inventory write).
    rp = (await admin.get(f"{P}/resource_providers/{node}")).json()
    assert rp["generation"] == 1 + 50


async def test_40_concurrent_http_puts_on_room_for_20(cloud: Cloud) -> None:
    admin, svc = cloud
    node = new_uuid()
    await svc.ensure_provider(uuid=node, name="http-host", inventories={"DISK_GB": {"total": 40}})

    async def put() -> httpx.Response:
        body = {
            "allocations": {node: {"resources": {"DISK_GB": 2}}},
            "project_id": "proj",
            "user_id": "user",
            "consumer_generation": None,
        }
        return await admin.put(
            f"{P}/allocations/{new_uuid()}",
            json=body,
            headers={"OpenStack-API-Version": "placement 1.28"},
        )

    responses = await asyncio.gather(*(put() for _ in range(40)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(204) == 20, statuses
    for r in responses:
        if r.status_code != 204:
            error = assert_placement_fault(r, 409)
            assert "exceed the capacity" in error["detail"]
    assert await usages(admin, {"uuid": node}) == {"DISK_GB": 40}


async def test_concurrent_creates_of_one_name_make_one_provider(cloud: Cloud) -> None:
    admin, svc = cloud
    node = new_uuid()
    # The same compute node reporting itself many times at once converges on one provider.
    await asyncio.gather(
        *(
            svc.ensure_provider(uuid=node, name="twin", inventories={"VCPU": {"total": 4}})
            for _ in range(10)
        )
    )
    assert [p.uuid for p in await svc.list_providers()] == [node]
    responses = await asyncio.gather(
        *(
            admin.post(
                f"{P}/resource_providers",
                json={"name": "contested"},
                headers={"OpenStack-API-Version": "placement 1.39"},
            )
            for _ in range(10)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 9
    for r in responses:
        if r.status_code == 409:
            assert_placement_fault(r, 409, "placement.duplicate_name")
