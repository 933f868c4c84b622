"""Private volume types: access lists, visibility and use."""

from __future__ import annotations

import httpx

from tests.functional.volume.support import V3, assert_fault, auth, create_volume
from tests.support.identity import project_member


async def test_private_type_access(admin: httpx.AsyncClient) -> None:
    alice_project, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    r = await admin.post(
        f"{V3}/types", json={"volume_type": {"name": "secret", "is_public": False}}
    )
    assert r.status_code == 200, r.text
    tid = r.json()["volume_type"]["id"]
    access = f"{V3}/types/{tid}/os-volume-type-access"
    action = f"{V3}/types/{tid}/action"

    r = await admin.get(access)
    assert r.json() == {"volume_type_access": []}
    # Without access, the type is invisible and unusable.
    r = await admin.get(f"{V3}/types", headers=auth(alice))
    assert "secret" not in [t["name"] for t in r.json()["volume_types"]]
    r = await admin.get(f"{V3}/types/{tid}", headers=auth(alice))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.post(
        f"{V3}/volumes", json={"volume": {"size": 1, "volume_type": tid}}, headers=auth(alice)
    )
    assert_fault(r, 404, "itemNotFound")

    r = await admin.post(action, json={"addProjectAccess": {"project": alice_project["id"]}})
    assert r.status_code == 202, r.text
    r = await admin.post(action, json={"addProjectAccess": {"project": alice_project["id"]}})
    assert_fault(r, 409, "conflictingRequest")
    r = await admin.get(access)
    assert r.json() == {
        "volume_type_access": [{"volume_type_id": tid, "project_id": alice_project["id"]}]
    }
    r = await admin.get(f"{V3}/types", headers=auth(alice))
    assert "secret" in [t["name"] for t in r.json()["volume_types"]]
    r = await admin.get(f"{V3}/types/{tid}", headers=auth(alice))
    assert r.status_code == 200 and r.json()["volume_type"]["is_public"] is False
    vol = await create_volume(admin, alice, volume_type="secret")
    assert vol["volume_type"] == "secret"
    # Another project still cannot see or use it.
    r = await admin.get(f"{V3}/types/{tid}", headers=auth(bob))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.post(
        f"{V3}/volumes", json={"volume": {"size": 1, "volume_type": "secret"}}, headers=auth(bob)
    )
    assert_fault(r, 404, "itemNotFound")

    r = await admin.post(action, json={"removeProjectAccess": {"project": alice_project["id"]}})
    assert r.status_code == 202
    r = await admin.post(action, json={"removeProjectAccess": {"project": alice_project["id"]}})
    assert_fault(r, 404, "itemNotFound")
    r = await admin.get(f"{V3}/types/{tid}", headers=auth(alice))
    assert_fault(r, 404, "itemNotFound")


async def test_admin_listing_and_errors(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    r = await admin.post(
        f"{V3}/types", json={"volume_type": {"name": "hidden", "is_public": False}}
    )
    tid = r.json()["volume_type"]["id"]
    r = await admin.get(f"{V3}/types", params={"is_public": "None"})
    assert "hidden" in [t["name"] for t in r.json()["volume_types"]]
    r = await admin.get(f"{V3}/types")
    assert "hidden" not in [t["name"] for t in r.json()["volume_types"]]
    r = await admin.get(f"{V3}/types", params={"is_public": "false"})
    assert [t["name"] for t in r.json()["volume_types"]] == ["hidden"]

    r = await admin.get(f"{V3}/types/{tid}/os-volume-type-access", headers=auth(alice))
    assert_fault(r, 403, "forbidden")
    r = await admin.post(
        f"{V3}/types/{tid}/action", json={"addProjectAccess": {"project": "p"}}, headers=auth(alice)
    )
    assert_fault(r, 403, "forbidden")
    r = await admin.post(f"{V3}/types/{tid}/action", json={"addProjectAccess": {}})
    assert_fault(r, 400, "badRequest")
    r = await admin.post(f"{V3}/types/{tid}/action", json={"bogus": {}})
    assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{V3}/types/default")
    public = r.json()["volume_type"]["id"]
    r = await admin.get(f"{V3}/types/{public}/os-volume-type-access")
    assert_fault(r, 404, "itemNotFound")
    r = await admin.post(f"{V3}/types/{public}/action", json={"addProjectAccess": {"project": "p"}})
    assert_fault(r, 400, "badRequest")
    r = await admin.post(f"{V3}/types/nope/action", json={"addProjectAccess": {"project": "p"}})
    assert_fault(r, 404, "itemNotFound")
