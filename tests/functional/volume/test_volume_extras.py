"""Volume metadata items, retype, force detach and the empty-id paths, as Cinder answers them."""

from __future__ import annotations

import httpx

from tests.functional.volume.support import V3, assert_fault, auth, create_volume
from tests.support.identity import project_member


async def test_metadata_items(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin, metadata={"a": "1"})
    url = f"{V3}/volumes/{vol['id']}/metadata"
    r = await admin.post(url, json={"metadata": {"b": "2", "a": "9"}})
    assert r.status_code == 200 and r.json() == {"metadata": {"a": "9", "b": "2"}}
    r = await admin.put(url, json={"metadata": {"c": "3"}})
    assert r.json() == {"metadata": {"c": "3"}}
    r = await admin.put(f"{url}/c", json={"meta": {"c": "4"}})
    assert r.status_code == 200 and r.json() == {"meta": {"c": "4"}}
    r = await admin.put(f"{url}/c", json={"meta": {"d": "4"}})
    assert "mismatch" in assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{url}/c")
    assert r.json() == {"meta": {"c": "4"}}
    r = await admin.delete(f"{url}/c")
    assert r.status_code == 200
    r = await admin.get(f"{url}/c")
    assert_fault(r, 404, "itemNotFound")
    r = await admin.delete(f"{url}/c")
    assert_fault(r, 404, "itemNotFound")
    r = await admin.get(url)
    assert r.json() == {"metadata": {}}
    r = await admin.post(url, json={"metadata": "x"})
    assert_fault(r, 400, "badRequest")
    # Another project sees none of it.
    _, _, bob = await project_member(admin)
    r = await admin.get(url, headers=auth(bob))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.post(url, json={"metadata": {"x": "y"}}, headers=auth(bob))
    assert_fault(r, 404, "itemNotFound")


async def test_retype(admin: httpx.AsyncClient) -> None:
    r = await admin.post(f"{V3}/types", json={"volume_type": {"name": "gold"}})
    gold = r.json()["volume_type"]
    vol = await create_volume(admin)
    url = f"{V3}/volumes/{vol['id']}/action"
    r = await admin.post(url, json={"os-retype": {"new_type": "gold", "migration_policy": "never"}})
    assert r.status_code == 202, r.text
    shown = (await admin.get(f"{V3}/volumes/{vol['id']}")).json()["volume"]
    assert shown["volume_type"] == "gold" and shown["migration_status"] is None
    r = await admin.post(url, json={"os-retype": {"new_type": gold["id"]}})
    assert "different volume type" in assert_fault(r, 400, "badRequest")
    r = await admin.post(url, json={"os-retype": {"new_type": "nope"}})
    assert_fault(r, 404, "itemNotFound")
    r = await admin.post(
        url, json={"os-retype": {"new_type": "__DEFAULT__", "migration_policy": "x"}}
    )
    assert_fault(r, 400, "badRequest")


async def test_force_detach_frees_the_volume(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    body = {"attachment": {"volume_uuid": vol["id"], "instance_uuid": vol["id"]}}
    r = await admin.post(f"{V3}/attachments", json=body, headers=auth(None, "3.27"))
    assert r.status_code == 200, r.text
    url = f"{V3}/volumes/{vol['id']}/action"
    _, _, alice = await project_member(admin)
    r = await admin.post(url, json={"os-force_detach": {}}, headers=auth(alice))
    assert r.status_code in (403, 404)
    r = await admin.post(url, json={"os-force_detach": {"attachment_id": "nope"}})
    assert_fault(r, 404, "itemNotFound")
    # As Tempest does: the volume is put in error first, and is available once free.
    r = await admin.post(url, json={"os-reset_status": {"status": "error"}})
    assert r.status_code == 202, r.text
    r = await admin.post(url, json={"os-force_detach": {}})
    assert r.status_code == 202, r.text
    shown = (await admin.get(f"{V3}/volumes/{vol['id']}")).json()["volume"]
    assert shown["status"] == "available" and shown["attachments"] == []


async def test_empty_ids_name_nothing(admin: httpx.AsyncClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        r = await admin.request(method, f"{V3}/volumes/", json={"volume": {}})
        assert_fault(r, 404, "itemNotFound")
    r = await admin.post(f"{V3}/snapshots", json={"snapshot": {"volume_id": None}})
    assert_fault(r, 404, "itemNotFound")
    r = await admin.post(f"{V3}/snapshots", json={"snapshot": {"volume_id": 5}})
    assert_fault(r, 400, "badRequest")


async def test_legacy_detach_of_an_unattached_volume_leaves_it_available(
    admin: httpx.AsyncClient,
) -> None:
    vol = await create_volume(admin)
    url = f"{V3}/volumes/{vol['id']}/action"
    r = await admin.post(url, json={"os-detach": {}})
    assert r.status_code == 202, r.text
    shown = (await admin.get(f"{V3}/volumes/{vol['id']}")).json()["volume"]
    assert shown["status"] == "available"
