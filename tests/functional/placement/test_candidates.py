"""Allocation candidates: filtered by capacity, traits, aggregates and tree, shaped per version."""

from __future__ import annotations

import httpx

from tests.functional.placement.support import (
    LATEST,
    P,
    create_provider,
    mv,
    new_uuid,
    provider_with,
    put_allocations,
)

AC = f"{P}/allocation_candidates"


async def _candidates(admin: httpx.AsyncClient, minor: int = 39, **params: str) -> dict:
    r = await admin.get(AC, params=params, headers=mv(minor))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _uuids(body: dict) -> set[str]:
    return set(body["provider_summaries"])


async def _traits(admin: httpx.AsyncClient, rp: dict, *traits: str) -> None:
    gen = (await admin.get(f"{P}/resource_providers/{rp['uuid']}")).json()["generation"]
    r = await admin.put(
        f"{P}/resource_providers/{rp['uuid']}/traits",
        headers=LATEST,
        json={"traits": list(traits), "resource_provider_generation": gen},
    )
    assert r.status_code == 200, r.text


async def test_capacity_filters_and_summaries(admin: httpx.AsyncClient) -> None:
    roomy = await provider_with(admin, VCPU={"total": 4, "allocation_ratio": 4.0}, MEMORY_MB=8192)
    full = await provider_with(admin, VCPU=2, MEMORY_MB=8192)
    await provider_with(admin, VCPU=64)  # no memory at all
    assert (
        await put_allocations(admin, new_uuid(), {full["uuid"]: {"VCPU": 2}})
    ).status_code == 204

    body = await _candidates(admin, resources="VCPU:2,MEMORY_MB:1024")
    assert _uuids(body) == {roomy["uuid"]}
    (request,) = body["allocation_requests"]
    assert request["allocations"] == {roomy["uuid"]: {"resources": {"VCPU": 2, "MEMORY_MB": 1024}}}
    assert request["mappings"] == {"": [roomy["uuid"]]}
    summary = body["provider_summaries"][roomy["uuid"]]
    assert summary["resources"] == {
        "VCPU": {"capacity": 16, "used": 0},
        "MEMORY_MB": {"capacity": 8192, "used": 0},
    }
    assert summary["traits"] == [] and summary["root_provider_uuid"] == roomy["uuid"]
    # More than any provider has: no candidates, not an error.
    assert await _candidates(admin, resources="VCPU:65") == {
        "allocation_requests": [],
        "provider_summaries": {},
    }
    # Before 1.12 requests are lists; before 1.27 summaries show only what was asked.
    old = await _candidates(admin, 10, resources="VCPU:1")
    assert {
        a["allocations"][0]["resource_provider"]["uuid"] for a in old["allocation_requests"]
    } == (_uuids(old))
    assert all(set(s["resources"]) == {"VCPU"} for s in old["provider_summaries"].values())
    assert "traits" not in next(iter(old["provider_summaries"].values()))
    assert (
        len((await _candidates(admin, resources="VCPU:1", limit="2"))["allocation_requests"]) == 2
    )


async def test_unit_rules_filter_candidates(admin: httpx.AsyncClient) -> None:
    rp = await provider_with(
        admin, DISK_GB={"total": 100, "min_unit": 10, "max_unit": 50, "step_size": 5}
    )
    assert _uuids(await _candidates(admin, resources="DISK_GB:20")) == {rp["uuid"]}
    for amount in ("5", "55", "22"):
        assert _uuids(await _candidates(admin, resources=f"DISK_GB:{amount}")) == set()


async def test_trait_aggregate_and_tree_filters(admin: httpx.AsyncClient) -> None:
    agg = new_uuid()
    ssd = await provider_with(admin, DISK_GB=100)
    hdd = await provider_with(admin, DISK_GB=100)
    await _traits(admin, ssd, "STORAGE_DISK_SSD")
    await _traits(admin, hdd, "STORAGE_DISK_HDD", "COMPUTE_STATUS_DISABLED")
    r = await admin.put(
        f"{P}/resource_providers/{hdd['uuid']}/aggregates", json=[agg], headers=mv(1)
    )
    assert r.status_code == 200
    both = {ssd["uuid"], hdd["uuid"]}
    assert _uuids(await _candidates(admin, resources="DISK_GB:1")) == both
    assert _uuids(await _candidates(admin, resources="DISK_GB:1", required="STORAGE_DISK_SSD")) == {
        ssd["uuid"]
    }
    only_hdd = await _candidates(admin, resources="DISK_GB:1", required="!STORAGE_DISK_SSD")
    assert _uuids(only_hdd) == {hdd["uuid"]}
    assert only_hdd["provider_summaries"][hdd["uuid"]]["traits"] == [
        "COMPUTE_STATUS_DISABLED",
        "STORAGE_DISK_HDD",
    ]
    assert _uuids(await _candidates(admin, resources="DISK_GB:1", member_of=agg)) == {hdd["uuid"]}
    assert _uuids(await _candidates(admin, resources="DISK_GB:1", member_of=f"!{agg}")) == {
        ssd["uuid"]
    }
    assert _uuids(
        await _candidates(admin, resources="DISK_GB:1", member_of=f"in:{agg},{new_uuid()}")
    ) == {hdd["uuid"]}
    assert _uuids(
        await _candidates(admin, resources="DISK_GB:1", root_required="!COMPUTE_STATUS_DISABLED")
    ) == {ssd["uuid"]}
    assert _uuids(await _candidates(admin, resources="DISK_GB:1", in_tree=ssd["uuid"])) == {
        ssd["uuid"]
    }
    # A child counts its root's aggregates as its own.
    child = await create_provider(admin, parent_provider_uuid=hdd["uuid"])
    r = await admin.put(
        f"{P}/resource_providers/{child['uuid']}/inventories",
        json={
            "resource_provider_generation": 0,
            "inventories": {"VGPU": {"total": 2}},
        },
    )
    assert r.status_code == 200, r.text
    assert _uuids(await _candidates(admin, resources="VGPU:1", member_of=agg)) == {child["uuid"]}


async def test_service_layer_candidates(
    cloud: tuple[httpx.AsyncClient, object],
) -> None:
    admin, svc = cloud
    agg = new_uuid()
    a = await provider_with(admin, VCPU=8, MEMORY_MB=4096)
    b = await provider_with(admin, VCPU=2, MEMORY_MB=4096)
    await _traits(admin, b, "HW_CPU_X86_AVX2")
    r = await admin.put(f"{P}/resource_providers/{a['uuid']}/aggregates", json=[agg], headers=mv(1))
    assert r.status_code == 200
    found = await svc.allocation_candidates(resources={"VCPU": 2, "MEMORY_MB": 512})  # type: ignore[attr-defined]
    assert {c.provider_uuid for c in found} == {a["uuid"], b["uuid"]}
    by_uuid = {c.provider_uuid: c for c in found}
    assert by_uuid[a["uuid"]].provider_name == a["name"]
    assert by_uuid[a["uuid"]].summaries["VCPU"] == {"capacity": 8, "used": 0}
    found = await svc.allocation_candidates(  # type: ignore[attr-defined]
        resources={"VCPU": 1}, required_traits={"HW_CPU_X86_AVX2"}
    )
    assert [c.provider_uuid for c in found] == [b["uuid"]]
    found = await svc.allocation_candidates(  # type: ignore[attr-defined]
        resources={"VCPU": 1}, forbidden_traits={"HW_CPU_X86_AVX2"}, member_of=[{agg}]
    )
    assert [c.provider_uuid for c in found] == [a["uuid"]]
    found = await svc.allocation_candidates(resources={"VCPU": 3})  # type: ignore[attr-defined]
    assert [c.provider_uuid for c in found] == [a["uuid"]]
    assert len(await svc.allocation_candidates(resources={"VCPU": 1}, limit=1)) == 1  # type: ignore[attr-defined]
