"""Allocations over HTTP: every body format, capacity and unit rules, consumer generations."""

from __future__ import annotations

import httpx

from tests.functional.placement.support import (
    LATEST,
    P,
    assert_placement_fault,
    mv,
    new_uuid,
    provider_with,
    put_allocations,
    usages,
)


async def test_put_get_delete_in_the_dict_format(admin: httpx.AsyncClient) -> None:
    rp = await provider_with(admin, VCPU=4, MEMORY_MB=2048)
    consumer = new_uuid()
    r = await put_allocations(
        admin, consumer, {rp["uuid"]: {"VCPU": 2, "MEMORY_MB": 512}}, minor=12
    )
    assert r.status_code == 204, r.text
    r = await admin.get(f"{P}/allocations/{consumer}", headers=mv(28))
    body = r.json()
    assert body["allocations"][rp["uuid"]]["resources"] == {"VCPU": 2, "MEMORY_MB": 512}
    assert body["allocations"][rp["uuid"]]["generation"] == 2  # inventory, then this claim
    assert (body["project_id"], body["user_id"], body["consumer_generation"]) == (
        "proj",
        "user",
        1,
    )
    assert await usages(admin, rp) == {"VCPU": 2, "MEMORY_MB": 512}
    r = await admin.get(f"{P}/resource_providers/{rp['uuid']}/allocations")
    assert r.json()["allocations"] == {consumer: {"resources": {"VCPU": 2, "MEMORY_MB": 512}}}
    # PUT replaces: what is not named any more is released.
    r = await put_allocations(admin, consumer, {rp["uuid"]: {"VCPU": 1}}, generation=1)
    assert r.status_code == 204, r.text
    assert await usages(admin, rp) == {"VCPU": 1, "MEMORY_MB": 0}
    assert (await admin.delete(f"{P}/allocations/{consumer}")).status_code == 204
    assert (await admin.get(f"{P}/allocations/{consumer}")).json() == {"allocations": {}}
    assert_placement_fault(await admin.delete(f"{P}/allocations/{consumer}"), 404)
    assert await usages(admin, rp) == {"VCPU": 0, "MEMORY_MB": 0}


async def test_pre_1_12_list_format(admin: httpx.AsyncClient) -> None:
    rp = await provider_with(admin, DISK_GB=10)
    consumer = new_uuid()
    body = {
        "allocations": [{"resource_provider": {"uuid": rp["uuid"]}, "resources": {"DISK_GB": 4}}],
        "project_id": "p",
        "user_id": "u",
    }
    assert (
        await admin.put(f"{P}/allocations/{consumer}", json=body, headers=mv(8))
    ).status_code == 204
    assert_placement_fault(
        await admin.put(f"{P}/allocations/{consumer}", json=body, headers=mv(12)), 400
    )
    # project_id and user_id are required from 1.8.
    del body["project_id"]
    assert_placement_fault(
        await admin.put(f"{P}/allocations/{consumer}", json=body, headers=mv(8)), 400
    )
    assert (
        await admin.put(f"{P}/allocations/{consumer}", json=body, headers=mv(7))
    ).status_code == 204
    held = (await admin.get(f"{P}/allocations/{consumer}")).json()
    assert held == {"allocations": {rp["uuid"]: {"generation": 3, "resources": {"DISK_GB": 4}}}}


async def test_capacity_and_unit_rules_refuse_with_409(admin: httpx.AsyncClient) -> None:
    rp = await provider_with(
        admin,
        VCPU={"total": 4, "reserved": 1, "allocation_ratio": 2.0},  # room for 6
        MEMORY_MB={"total": 4096, "min_unit": 256, "max_unit": 2048, "step_size": 256},
    )
    first, second = new_uuid(), new_uuid()
    assert (await put_allocations(admin, first, {rp["uuid"]: {"VCPU": 6}})).status_code == 204
    r = await put_allocations(admin, second, {rp["uuid"]: {"VCPU": 1}})
    error = assert_placement_fault(r, 409)
    assert "Unable to allocate inventory" in error["detail"]
    for amount in (128, 300, 4096):
        r = await put_allocations(admin, second, {rp["uuid"]: {"MEMORY_MB": amount}})
        assert_placement_fault(r, 409)
    r = await put_allocations(admin, second, {rp["uuid"]: {"DISK_GB": 1}})  # no such inventory
    assert_placement_fault(r, 409)
    r = await put_allocations(admin, second, {new_uuid(): {"VCPU": 1}})  # no such provider
    assert_placement_fault(r, 400)
    r = await put_allocations(admin, second, {rp["uuid"]: {"VCPU": 0}})
    assert_placement_fault(r, 400)
    # Nothing of the refused requests was written.
    assert await usages(admin, rp) == {"VCPU": 6, "MEMORY_MB": 0}
    assert (await admin.get(f"{P}/allocations/{second}")).json() == {"allocations": {}}
    # Replacing its own allocation, a consumer does not compete with itself.
    r = await put_allocations(
        admin, first, {rp["uuid"]: {"VCPU": 6, "MEMORY_MB": 512}}, generation=1
    )
    assert r.status_code == 204, r.text


async def test_consumer_generation_guards_writes_from_1_28(admin: httpx.AsyncClient) -> None:
    rp = await provider_with(admin, VCPU=8)
    consumer = new_uuid()
    r = await put_allocations(admin, consumer, {rp["uuid"]: {"VCPU": 1}}, generation=3)
    assert_placement_fault(r, 409, "placement.concurrent_update")
    assert (await put_allocations(admin, consumer, {rp["uuid"]: {"VCPU": 1}})).status_code == 204
    r = await put_allocations(admin, consumer, {rp["uuid"]: {"VCPU": 2}})  # expects new
    assert_placement_fault(r, 409, "placement.concurrent_update")
    r = await put_allocations(admin, consumer, {rp["uuid"]: {"VCPU": 2}}, generation=1)
    assert r.status_code == 204
    # 1.28 accepts empty allocations: a safe delete.
    r = await put_allocations(admin, consumer, {}, generation=2)
    assert r.status_code == 204, r.text
    assert (await admin.get(f"{P}/allocations/{consumer}")).json() == {"allocations": {}}
    r = await put_allocations(admin, consumer, {}, minor=27)
    assert_placement_fault(r, 400)
    # 1.38 requires and shows consumer_type.
    r = await put_allocations(admin, consumer, {rp["uuid"]: {"VCPU": 1}}, minor=38)
    assert r.status_code == 204, r.text
    assert (await admin.get(f"{P}/allocations/{consumer}", headers=LATEST)).json()[
        "consumer_type"
    ] == "INSTANCE"


async def test_post_allocations_moves_between_consumers_atomically(
    admin: httpx.AsyncClient,
) -> None:
    rp = await provider_with(admin, VCPU=4)
    instance, migration = new_uuid(), new_uuid()
    assert (await put_allocations(admin, instance, {rp["uuid"]: {"VCPU": 4}})).status_code == 204
    move = {
        migration: {
            "allocations": {rp["uuid"]: {"resources": {"VCPU": 4}}},
            "project_id": "proj",
            "user_id": "user",
            "consumer_generation": None,
        },
        instance: {
            "allocations": {},
            "project_id": "proj",
            "user_id": "user",
            "consumer_generation": 1,
        },
    }
    r = await admin.post(f"{P}/allocations", json=move, headers=mv(28))
    assert r.status_code == 204, r.text
    assert (await admin.get(f"{P}/allocations/{instance}")).json() == {"allocations": {}}
    held = (await admin.get(f"{P}/allocations/{migration}")).json()["allocations"]
    assert held[rp["uuid"]]["resources"] == {"VCPU": 4}
    # One refused consumer refuses the whole request.
    bad = {
        instance: {
            "allocations": {rp["uuid"]: {"resources": {"VCPU": 1}}},
            "project_id": "proj",
            "user_id": "user",
            "consumer_generation": None,
        },
    }
    assert_placement_fault(await admin.post(f"{P}/allocations", json=bad, headers=mv(28)), 409)
    assert_placement_fault(await admin.post(f"{P}/allocations", json={}, headers=mv(28)), 400)
    assert_placement_fault(await admin.post(f"{P}/allocations", json=move, headers=mv(12)), 404)


async def test_project_usages(admin: httpx.AsyncClient) -> None:
    rp = await provider_with(admin, VCPU=8, MEMORY_MB=4096)
    r = await put_allocations(
        admin,
        new_uuid(),
        {rp["uuid"]: {"VCPU": 2, "MEMORY_MB": 256}},
        project_id="p1",
        user_id="alice",
        minor=38,
    )
    assert r.status_code == 204, r.text
    r = await put_allocations(
        admin, new_uuid(), {rp["uuid"]: {"VCPU": 1}}, project_id="p1", user_id="bob"
    )
    assert r.status_code == 204, r.text
    r = await put_allocations(
        admin, new_uuid(), {rp["uuid"]: {"VCPU": 4}}, project_id="p2", user_id="bob"
    )

    async def get(minor: int = 9, **params: str) -> dict:
        r = await admin.get(f"{P}/usages", params=params, headers=mv(minor))
        assert r.status_code == 200, r.text
        return dict(r.json()["usages"])

    assert await get(project_id="p1") == {"VCPU": 3, "MEMORY_MB": 256}
    assert await get(project_id="p1", user_id="bob") == {"VCPU": 1}
    assert await get(project_id="nobody") == {}
    assert await get(38, project_id="p1") == {
        "INSTANCE": {"VCPU": 2, "MEMORY_MB": 256, "consumer_count": 1},
        "unknown": {"VCPU": 1, "consumer_count": 1},
    }
    assert await get(38, project_id="p1", consumer_type="all") == {
        "all": {"VCPU": 3, "MEMORY_MB": 256, "consumer_count": 2},
    }
    assert_placement_fault(await admin.get(f"{P}/usages", headers=mv(9)), 400)
