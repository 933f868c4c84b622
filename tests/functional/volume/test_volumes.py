"""Volumes through the Cinder v3 API: create, show, list, update, actions, delete."""

from __future__ import annotations

import httpx

from tests.functional.volume.support import V3, assert_fault, auth, create_volume, settle


async def test_create_show_update_delete(admin: httpx.AsyncClient) -> None:
    r = await admin.post(
        f"{V3}/volumes",
        json={"volume": {"size": 2, "name": "data", "description": "d", "metadata": {"a": "1"}}},
    )
    assert r.status_code == 202, r.text
    assert r.headers["OpenStack-API-Version"] == "volume 3.0"
    assert r.headers["Vary"] == "OpenStack-API-Version"
    vol = r.json()["volume"]
    assert vol["status"] == "creating" and vol["size"] == 2
    assert vol["bootable"] == "false" and vol["attachments"] == []
    assert vol["volume_type"] == "__DEFAULT__" and vol["availability_zone"] == "nova"
    assert vol["metadata"] == {"a": "1"}
    assert "os-vol-host-attr:host" not in vol and "volume_type_id" not in vol
    assert vol["links"][0]["rel"] == "self"
    done = await settle(admin, vol["id"])
    assert done["status"] == "available"
    r = await admin.put(
        f"{V3}/volumes/{vol['id']}", json={"volume": {"name": "renamed", "metadata": {"b": "2"}}}
    )
    assert r.status_code == 200 and r.json()["volume"]["name"] == "renamed"
    assert r.json()["volume"]["metadata"] == {"b": "2"}
    r = await admin.get(f"{V3}/volumes/{vol['id']}", headers=auth(None, "3.65"))
    shown = r.json()["volume"]
    assert shown["volume_type_id"] and shown["consumes_quota"] is True
    assert shown["group_id"] is None and shown["shared_targets"] is False
    r = await admin.delete(f"{V3}/volumes/{vol['id']}")
    assert r.status_code == 202
    assert await settle(admin, vol["id"]) == {}
    r = await admin.get(f"{V3}/volumes/{vol['id']}")
    assert_fault(r, 404, "itemNotFound")


async def test_routes_answer_with_and_without_project(admin: httpx.AsyncClient) -> None:
    r = await admin.post(f"{V3}/volumes", json={"volume": {"size": 1}})
    # As Cinder's, the create answer lacks what only show and list carry.
    assert r.status_code == 202 and "os-vol-tenant-attr:tenant_id" not in r.json()["volume"]
    assert "os-vol-host-attr:host" not in r.json()["volume"]
    vol = await settle(admin, r.json()["volume"]["id"])
    project = vol["os-vol-tenant-attr:tenant_id"]
    r = await admin.get(f"{V3}/{project}/volumes/{vol['id']}")
    assert r.status_code == 200 and r.json()["volume"]["id"] == vol["id"]
    r = await admin.get(f"{V3}/0123456789abcdef0123456789abcdef/volumes")
    assert assert_fault(r, 400, "badRequest") == "Malformed request url"


async def test_validation_is_cinders(admin: httpx.AsyncClient) -> None:
    for body, fragment in (
        ({"size": 0}, "less than the minimum of 1"),
        ({"size": "x"}, "size"),
        ({"size": True}, "size"),
        ({}, "'size' is a required property"),
        ({"size": 1, "snapshot_id": "x"}, "uuid"),
        ({"size": 1, "imageRef": "x"}, "not supported"),
        ({"size": 1, "name": "n" * 256}, "too long"),
        ({"size": 1, "metadata": {"k": 1}}, "string"),
        ({"size": 1, "availability_zone": "elsewhere"}, "Availability zone"),
    ):
        r = await admin.post(f"{V3}/volumes", json={"volume": body})
        assert fragment in assert_fault(r, 400, "badRequest"), body
    r = await admin.post(f"{V3}/volumes", json={"volume": {"size": 1, "volume_type": "nope"}})
    assert_fault(r, 404, "itemNotFound")
    r = await admin.post(
        f"{V3}/volumes", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{V3}/volumes/7a1f3e2b-0000-4000-8000-000000000000")
    assert "could not be found" in assert_fault(r, 404, "itemNotFound")


async def test_actions_follow_the_states(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin, size=1)
    url = f"{V3}/volumes/{vol['id']}/action"
    r = await admin.post(url, json={"os-extend": {"new_size": 1}})
    assert "greater than current size" in assert_fault(r, 400, "badRequest")
    r = await admin.post(url, json={"os-extend": {"new_size": 3}})
    assert r.status_code == 202
    extended = await settle(admin, vol["id"])
    assert extended["status"] == "available" and extended["size"] == 3
    r = await admin.post(url, json={"os-set_bootable": {"bootable": True}})
    assert r.status_code == 200
    assert (await settle(admin, vol["id"]))["bootable"] == "true"
    r = await admin.post(url, json={"os-reset_status": {"status": "error_deleting"}})
    assert r.status_code == 202
    r = await admin.post(url, json={"os-extend": {"new_size": 4}})
    assert "Invalid volume" in assert_fault(r, 400, "badRequest")
    r = await admin.delete(f"{V3}/volumes/{vol['id']}")
    assert "Invalid volume" in assert_fault(r, 400, "badRequest")
    r = await admin.post(url, json={"os-unknown": {}})
    assert_fault(r, 400, "badRequest")
    r = await admin.post(url, json={"os-force_delete": {}})
    assert r.status_code == 202
    assert await settle(admin, vol["id"]) == {}


async def test_backend_failure_leaves_the_volume_in_error(admin: httpx.AsyncClient) -> None:
    backend = admin._transport.app.state.runtime.service("volume").svc.backend  # type: ignore[attr-defined]
    backend.fail_next = "create"
    vol = await create_volume(admin)
    assert vol["status"] == "error"
    r = await admin.delete(f"{V3}/volumes/{vol['id']}")
    assert r.status_code == 202
    assert await settle(admin, vol["id"]) == {}


async def test_summary_from_3_12(admin: httpx.AsyncClient) -> None:
    await create_volume(admin, size=2, metadata={"k": "v"})
    await create_volume(admin, size=3)
    r = await admin.get(f"{V3}/volumes/summary")
    assert_fault(r, 404, "itemNotFound")
    r = await admin.get(f"{V3}/volumes/summary", headers=auth(None, "3.12"))
    assert r.json() == {"volume-summary": {"total_size": 5, "total_count": 2}}
    r = await admin.get(f"{V3}/volumes/summary", headers=auth(None, "3.36"))
    assert r.json()["volume-summary"]["metadata"] == {"k": ["v"]}
