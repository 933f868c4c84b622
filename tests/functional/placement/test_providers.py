"""Resource providers, their inventories, traits and aggregates, with generation checks."""

from __future__ import annotations

import httpx

from tests.functional.placement.support import (
    LATEST,
    P,
    assert_placement_fault,
    create_provider,
    mv,
    new_uuid,
    provider_with,
    put_allocations,
    set_inventory,
)

RPS = f"{P}/resource_providers"


async def test_provider_crud_across_versions(admin: httpx.AsyncClient) -> None:
    uuid = new_uuid()
    r = await admin.post(RPS, json={"name": "node-a", "uuid": uuid})
    assert r.status_code == 201 and r.content == b""
    assert r.headers["location"].endswith(f"/resource_providers/{uuid}")
    r = await admin.get(f"{RPS}/{uuid}", headers=mv(14))
    rp = r.json()
    assert rp["name"] == "node-a" and rp["generation"] == 0
    assert rp["root_provider_uuid"] == uuid and rp["parent_provider_uuid"] is None
    assert {link["rel"] for link in rp["links"]} == {
        "self",
        "inventories",
        "usages",
        "aggregates",
        "traits",
        "allocations",
    }
    old = (await admin.get(f"{RPS}/{uuid}")).json()
    assert "root_provider_uuid" not in old
    assert {link["rel"] for link in old["links"]} == {"self", "inventories", "usages"}

    # Names are unique (1.23+ says so with a code).
    r = await admin.post(RPS, json={"name": "node-a"}, headers=LATEST)
    assert_placement_fault(r, 409, "placement.duplicate_name")
    r = await admin.post(RPS, json={"name": "other", "uuid": uuid}, headers=LATEST)
    assert_placement_fault(r, 409)

    r = await admin.put(f"{RPS}/{uuid}", json={"name": "node-b"}, headers=LATEST)
    assert r.status_code == 200 and r.json()["name"] == "node-b"
    assert (await admin.get(f"{RPS}/{uuid}")).json()["name"] == "node-b"
    r = await admin.delete(f"{RPS}/{uuid}")
    assert r.status_code == 204
    assert_placement_fault(await admin.get(f"{RPS}/{uuid}"), 404)
    assert_placement_fault(await admin.delete(f"{RPS}/{uuid}"), 404)


async def test_nested_providers_and_reparenting(admin: httpx.AsyncClient) -> None:
    root = await create_provider(admin)
    child = await create_provider(admin, parent_provider_uuid=root["uuid"])
    assert child["root_provider_uuid"] == root["uuid"]
    grandchild = await create_provider(admin, parent_provider_uuid=child["uuid"])
    assert grandchild["root_provider_uuid"] == root["uuid"]
    r = await admin.post(
        RPS, json={"name": "orphan", "parent_provider_uuid": new_uuid()}, headers=LATEST
    )
    assert_placement_fault(r, 400)
    r = await admin.delete(f"{RPS}/{root['uuid']}")
    assert_placement_fault(r, 409, "placement.resource_provider.cannot_delete_parent")
    # A loop is refused; before 1.37 a parent cannot change at all.
    body = {"name": root["name"], "parent_provider_uuid": grandchild["uuid"]}
    assert_placement_fault(await admin.put(f"{RPS}/{root['uuid']}", json=body, headers=LATEST), 400)
    body = {"name": child["name"], "parent_provider_uuid": None}
    assert_placement_fault(
        await admin.put(f"{RPS}/{child['uuid']}", json=body, headers=mv(36)), 400
    )
    r = await admin.put(f"{RPS}/{child['uuid']}", json=body, headers=LATEST)
    assert r.status_code == 200 and r.json()["root_provider_uuid"] == child["uuid"]
    moved = (await admin.get(f"{RPS}/{grandchild['uuid']}", headers=LATEST)).json()
    assert moved["root_provider_uuid"] == child["uuid"]
    r = await admin.get(RPS, params={"in_tree": grandchild["uuid"]}, headers=LATEST)
    assert {p["uuid"] for p in r.json()["resource_providers"]} == {
        child["uuid"],
        grandchild["uuid"],
    }


async def test_list_filters(admin: httpx.AsyncClient) -> None:
    agg = new_uuid()
    big = await provider_with(admin, VCPU=16, MEMORY_MB=4096)
    small = await provider_with(admin, VCPU=2)
    r = await admin.put(f"{RPS}/{big['uuid']}/aggregates", json=[agg], headers=mv(1))
    assert r.status_code == 200 and r.json() == {"aggregates": [agg]}
    gen = (await admin.get(f"{RPS}/{small['uuid']}")).json()["generation"]
    r = await admin.put(
        f"{RPS}/{small['uuid']}/traits",
        headers=LATEST,
        json={"traits": ["HW_CPU_X86_AVX2"], "resource_provider_generation": gen},
    )
    assert r.status_code == 200, r.text

    async def names(**params: str) -> set[str]:
        r = await admin.get(RPS, params=params, headers=LATEST)
        assert r.status_code == 200, r.text
        return {p["uuid"] for p in r.json()["resource_providers"]}

    assert await names() == {big["uuid"], small["uuid"]}
    assert await names(name=small["name"]) == {small["uuid"]}
    assert await names(uuid=big["uuid"]) == {big["uuid"]}
    assert await names(resources="VCPU:4") == {big["uuid"]}
    assert await names(resources="VCPU:1,MEMORY_MB:1") == {big["uuid"]}
    assert await names(member_of=agg) == {big["uuid"]}
    assert await names(member_of=f"!{agg}") == {small["uuid"]}
    assert await names(required="HW_CPU_X86_AVX2") == {small["uuid"]}
    assert await names(required="!HW_CPU_X86_AVX2") == {big["uuid"]}
    assert await names(required="in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE") == {small["uuid"]}
    # Filters newer than the asked version are refused.
    r = await admin.get(RPS, params={"resources": "VCPU:1"}, headers=mv(3))
    assert_placement_fault(r, 400)


async def test_inventories_with_generation_checks(admin: httpx.AsyncClient) -> None:
    rp = await create_provider(admin)
    inv = f"{RPS}/{rp['uuid']}/inventories"
    r = await admin.put(
        inv,
        json={
            "resource_provider_generation": 0,
            "inventories": {
                "VCPU": {"total": 8, "allocation_ratio": 16.0},
                "DISK_GB": {"total": 100},
            },
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["resource_provider_generation"] == 1
    assert r.json()["inventories"]["VCPU"] == {
        "total": 8,
        "reserved": 0,
        "min_unit": 1,
        "max_unit": 2147483647,
        "step_size": 1,
        "allocation_ratio": 16.0,
    }
    # A stale generation is a concurrent update.
    r = await admin.put(
        inv, json={"resource_provider_generation": 0, "inventories": {}}, headers=LATEST
    )
    assert_placement_fault(r, 409, "placement.concurrent_update")
    r = await admin.post(
        inv, json={"resource_class": "MEMORY_MB", "total": 2048, "resource_provider_generation": 1}
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith("/inventories/MEMORY_MB")
    assert r.json()["resource_provider_generation"] == 2
    r = await admin.post(
        inv, json={"resource_class": "MEMORY_MB", "total": 1, "resource_provider_generation": 2}
    )
    assert_placement_fault(r, 409)
    r = await admin.put(f"{inv}/DISK_GB", json={"total": 200, "resource_provider_generation": 1})
    assert_placement_fault(r, 409, "placement.concurrent_update")
    r = await admin.put(f"{inv}/DISK_GB", json={"total": 200, "resource_provider_generation": 2})
    assert r.status_code == 200 and r.json()["total"] == 200
    r = await admin.get(f"{inv}/DISK_GB")
    assert r.json() == {**r.json(), "total": 200, "resource_provider_generation": 3}
    assert_placement_fault(await admin.get(f"{inv}/PCI_DEVICE"), 404)
    # reserved == total is allowed from 1.26 only.
    body = {"total": 10, "reserved": 10, "resource_provider_generation": 3}
    assert_placement_fault(await admin.put(f"{inv}/DISK_GB", json=body, headers=mv(25)), 400)
    assert (await admin.put(f"{inv}/DISK_GB", json=body, headers=mv(26))).status_code == 200
    body = {"total": 10, "reserved": 11, "resource_provider_generation": 4}
    assert_placement_fault(await admin.put(f"{inv}/DISK_GB", json=body, headers=LATEST), 400)
    assert (await admin.delete(f"{inv}/DISK_GB")).status_code == 204
    assert_placement_fault(await admin.delete(f"{inv}/DISK_GB"), 404)
    assert set((await admin.get(inv)).json()["inventories"]) == {"VCPU", "MEMORY_MB"}
    assert_placement_fault(await admin.delete(inv), 404)  # DELETE all needs 1.5
    assert (await admin.delete(inv, headers=mv(5))).status_code == 204
    assert (await admin.get(inv)).json()["inventories"] == {}


async def test_inventory_in_use_cannot_be_removed(admin: httpx.AsyncClient) -> None:
    rp = await provider_with(admin, VCPU=4, MEMORY_MB=1024)
    consumer = new_uuid()
    assert (await put_allocations(admin, consumer, {rp["uuid"]: {"VCPU": 2}})).status_code == 204
    r = await admin.get(f"{RPS}/{rp['uuid']}")
    gen = r.json()["generation"]
    r = await admin.put(
        f"{RPS}/{rp['uuid']}/inventories",
        headers=LATEST,
        json={
            "resource_provider_generation": gen,
            "inventories": {"MEMORY_MB": {"total": 1024}},
        },
    )
    assert_placement_fault(r, 409, "placement.inventory.inuse")
    r = await admin.delete(f"{RPS}/{rp['uuid']}/inventories/VCPU", headers=LATEST)
    assert_placement_fault(r, 409, "placement.inventory.inuse")
    # Shrinking below usage is allowed (Placement only warns).
    await set_inventory(admin, rp, VCPU=1, MEMORY_MB=1024)
    r = await admin.delete(f"{RPS}/{rp['uuid']}", headers=LATEST)
    assert_placement_fault(r, 409, "placement.resource_provider.inuse")
    assert (await admin.delete(f"{P}/allocations/{consumer}")).status_code == 204
    assert (await admin.delete(f"{RPS}/{rp['uuid']}")).status_code == 204


async def test_provider_traits_and_aggregates(admin: httpx.AsyncClient) -> None:
    rp = await create_provider(admin)
    traits = f"{RPS}/{rp['uuid']}/traits"
    assert (await admin.get(traits, headers=mv(6))).json() == {
        "traits": [],
        "resource_provider_generation": 0,
    }
    body = {"traits": ["CUSTOM_GOLD", "COMPUTE_NODE"], "resource_provider_generation": 0}
    assert_placement_fault(await admin.put(traits, json=body, headers=mv(6)), 400)  # unknown
    assert (await admin.put(f"{P}/traits/CUSTOM_GOLD", headers=mv(6))).status_code == 201
    r = await admin.put(traits, json=body, headers=mv(6))
    assert r.json() == {
        "traits": ["COMPUTE_NODE", "CUSTOM_GOLD"],
        "resource_provider_generation": 1,
    }
    assert_placement_fault(
        await admin.put(traits, json=body, headers=LATEST), 409, "placement.concurrent_update"
    )
    r = await admin.delete(f"{P}/traits/CUSTOM_GOLD", headers=mv(6))
    assert_placement_fault(r, 409)
    assert (await admin.delete(traits, headers=mv(6))).status_code == 204
    assert (await admin.get(traits, headers=mv(6))).json()["traits"] == []

    aggs = f"{RPS}/{rp['uuid']}/aggregates"
    gen = (await admin.get(aggs, headers=mv(19))).json()["resource_provider_generation"]
    a, b = new_uuid(), new_uuid()
    r = await admin.put(
        aggs, json={"aggregates": [a, b], "resource_provider_generation": gen}, headers=mv(19)
    )
    assert r.status_code == 200 and sorted(r.json()["aggregates"]) == sorted([a, b])
    assert r.json()["resource_provider_generation"] == gen + 1
    r = await admin.put(
        aggs, json={"aggregates": [], "resource_provider_generation": gen}, headers=mv(19)
    )
    assert_placement_fault(r, 409, "placement.concurrent_update")
    assert_placement_fault(await admin.put(aggs, json=["not-a-uuid"], headers=mv(1)), 400)
    assert (await admin.get(aggs, headers=mv(1))).json() == {"aggregates": sorted([a, b])}
