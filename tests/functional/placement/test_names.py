"""Resource classes and traits: standard ones fixed, custom ones created, listed and deleted."""

from __future__ import annotations

import httpx

from tests.functional.placement.support import (
    LATEST,
    P,
    assert_placement_fault,
    mv,
    provider_with,
)

RC = f"{P}/resource_classes"


async def test_resource_classes(admin: httpx.AsyncClient) -> None:
    listed = (await admin.get(RC, headers=mv(2))).json()["resource_classes"]
    names = [c["name"] for c in listed]
    assert names[:3] == ["VCPU", "MEMORY_MB", "DISK_GB"] and "IPV4_ADDRESS" in names
    assert listed[0]["links"] == [{"rel": "self", "href": f"{RC}/VCPU"}]
    r = await admin.post(RC, json={"name": "CUSTOM_FPGA_X"}, headers=mv(2))
    assert r.status_code == 201 and r.headers["location"].endswith("/CUSTOM_FPGA_X")
    r = await admin.post(RC, json={"name": "CUSTOM_FPGA_X"}, headers=LATEST)
    assert_placement_fault(r, 409, "placement.duplicate_name")
    for bad in ("FPGA_X", "CUSTOM_lower", "CUSTOM_"):
        assert_placement_fault(await admin.post(RC, json={"name": bad}, headers=mv(2)), 400)
    assert (await admin.get(f"{RC}/CUSTOM_FPGA_X", headers=mv(2))).json()["name"] == "CUSTOM_FPGA_X"
    assert_placement_fault(await admin.get(f"{RC}/CUSTOM_NOPE", headers=mv(2)), 404)
    # 1.7: PUT creates or confirms.
    assert (await admin.put(f"{RC}/CUSTOM_NEW", headers=mv(7))).status_code == 201
    assert (await admin.put(f"{RC}/CUSTOM_NEW", headers=mv(7))).status_code == 204
    assert (await admin.put(f"{RC}/VCPU", headers=mv(7))).status_code == 204
    # Before 1.7: PUT renames a custom class.
    r = await admin.put(f"{RC}/CUSTOM_NEW", json={"name": "CUSTOM_RENAMED"}, headers=mv(2))
    assert r.status_code == 200 and r.json()["name"] == "CUSTOM_RENAMED"
    assert_placement_fault(await admin.get(f"{RC}/CUSTOM_NEW", headers=mv(2)), 404)
    # Custom classes work as inventory; in use they cannot go; standard ones never can.
    rp = await provider_with(admin, CUSTOM_FPGA_X=2)
    r = await admin.delete(f"{RC}/CUSTOM_FPGA_X", headers=mv(2))
    assert_placement_fault(r, 409)
    assert_placement_fault(await admin.delete(f"{RC}/VCPU", headers=mv(2)), 400)
    r = await admin.delete(f"{P}/resource_providers/{rp['uuid']}/inventories", headers=mv(5))
    assert r.status_code == 204
    assert (await admin.delete(f"{RC}/CUSTOM_FPGA_X", headers=mv(2))).status_code == 204
    assert_placement_fault(await admin.delete(f"{RC}/CUSTOM_FPGA_X", headers=mv(2)), 404)


async def test_traits(admin: httpx.AsyncClient) -> None:
    traits = f"{P}/traits"
    listed = (await admin.get(traits, headers=mv(6))).json()["traits"]
    assert "COMPUTE_NODE" in listed and "HW_CPU_X86_AVX2" in listed and listed == sorted(listed)
    assert (await admin.put(f"{traits}/CUSTOM_RAID", headers=mv(6))).status_code == 201
    assert (await admin.put(f"{traits}/CUSTOM_RAID", headers=mv(6))).status_code == 204
    assert (await admin.put(f"{traits}/COMPUTE_NODE", headers=mv(6))).status_code == 204
    assert_placement_fault(await admin.put(f"{traits}/NOT_CUSTOM", headers=mv(6)), 400)
    assert (await admin.get(f"{traits}/CUSTOM_RAID", headers=mv(6))).status_code == 204
    assert_placement_fault(await admin.get(f"{traits}/CUSTOM_NONE", headers=mv(6)), 404)
    r = await admin.get(traits, params={"name": "startswith:CUSTOM_"}, headers=mv(6))
    assert r.json() == {"traits": ["CUSTOM_RAID"]}
    r = await admin.get(traits, params={"name": "in:CUSTOM_RAID,COMPUTE_NODE,NOPE"}, headers=mv(6))
    assert r.json() == {"traits": ["COMPUTE_NODE", "CUSTOM_RAID"]}
    assert_placement_fault(await admin.get(traits, params={"name": "CUSTOM"}, headers=mv(6)), 400)
    r = await admin.get(traits, params={"associated": "true"}, headers=mv(6))
    assert r.json() == {"traits": []}
    assert_placement_fault(await admin.delete(f"{traits}/COMPUTE_NODE", headers=mv(6)), 400)
    assert (await admin.delete(f"{traits}/CUSTOM_RAID", headers=mv(6))).status_code == 204
    assert_placement_fault(await admin.delete(f"{traits}/CUSTOM_RAID", headers=mv(6)), 404)
