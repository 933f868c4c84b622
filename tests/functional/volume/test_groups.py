"""Generic volume groups: group types and specs, groups, group snapshots, create-from-src."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.functional.volume.support import V3, assert_fault, auth, settle
from tests.support.identity import project_member

MV = "3.20"


def _agent(c: httpx.AsyncClient) -> Any:
    return c._transport.app.state.runtime.service("volume").agent  # type: ignore[attr-defined]


async def _settle_snapshot(c: httpx.AsyncClient, snapshot_id: str, token: str) -> dict[str, Any]:
    """The snapshot once the agent is done with it ({} when it is gone); a bounded wait."""
    for _ in range(200):
        await _agent(c).drain()
        r = await c.get(f"{V3}/snapshots/{snapshot_id}", headers=auth(token, "3.14"))
        if r.status_code == 404:
            return {}
        snap: dict[str, Any] = r.json()["snapshot"]
        if snap["status"] in ("available", "error", "error_deleting"):
            return snap
        await asyncio.sleep(0)
    raise AssertionError(f"snapshot {snapshot_id} did not settle")


async def _volume_type(admin: httpx.AsyncClient) -> str:
    r = await admin.post(f"{V3}/types", json={"volume_type": {"name": f"vt-{uuid.uuid4().hex}"}})
    assert r.status_code == 200, r.text
    return str(r.json()["volume_type"]["id"])


async def _group_type(admin: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": f"gt-{uuid.uuid4().hex}", **fields}
    r = await admin.post(f"{V3}/group_types", json={"group_type": body}, headers=auth(None, MV))
    assert r.status_code == 202, r.text
    return dict(r.json()["group_type"])


async def _group(c: httpx.AsyncClient, token: str, gtype: str, vtype: str, **fields: Any) -> str:
    body = {"group_type": gtype, "volume_types": [vtype], "name": "g", **fields}
    r = await c.post(f"{V3}/groups", json={"group": body}, headers=auth(token, MV))
    assert r.status_code == 202, r.text
    assert set(r.json()["group"]) == {"id", "name"}
    return str(r.json()["group"]["id"])


async def _member(c: httpx.AsyncClient, token: str, group_id: str, vtype: str) -> dict[str, Any]:
    body = {"size": 1, "volume_type": vtype, "group_id": group_id}
    r = await c.post(f"{V3}/volumes", json={"volume": body}, headers=auth(token, MV))
    assert r.status_code == 202, r.text
    assert r.json()["volume"]["group_id"] == group_id
    vol = await settle(c, r.json()["volume"]["id"], token)
    assert vol["status"] == "available"
    return vol


async def _show(c: httpx.AsyncClient, token: str, path: str, version: str = MV) -> httpx.Response:
    return await c.get(f"{V3}/{path}", headers=auth(token, version))


async def _group_volumes(c: httpx.AsyncClient, token: str, group_id: str) -> list[str]:
    r = await c.get(f"{V3}/volumes/detail", headers=auth(token, MV))
    return sorted(v["id"] for v in r.json()["volumes"] if v["group_id"] == group_id)


async def test_group_type_lifecycle_and_specs(admin: httpx.AsyncClient) -> None:
    made = await _group_type(
        admin, description="d", is_public=True, group_specs={"consistent": "<is> False"}
    )
    assert made["description"] == "d" and made["is_public"] is True
    assert made["group_specs"] == {"consistent": "<is> False"}
    r = await admin.put(
        f"{V3}/group_types/{made['id']}",
        json={"group_type": {"name": "renamed-" + made["id"], "description": "new"}},
        headers=auth(None, MV),
    )
    assert r.status_code == 200 and r.json()["group_type"]["description"] == "new"
    shown = (await _show(admin, "", f"group_types/{made['id']}")).json()["group_type"]
    assert shown["name"] == "renamed-" + made["id"] and shown["is_public"] is True

    specs = f"group_types/{made['id']}/group_specs"
    r = await admin.post(
        f"{V3}/{specs}", json={"group_specs": {"k1": "v1", "k2": "v2"}}, headers=auth(None, MV)
    )
    assert r.status_code == 202 and r.json()["group_specs"] == {"k1": "v1", "k2": "v2"}
    r = await admin.put(f"{V3}/{specs}/k2", json={"k2": "v2b"}, headers=auth(None, MV))
    assert r.status_code == 200 and r.json() == {"k2": "v2b"}
    r = await admin.put(f"{V3}/{specs}/k2", json={"k3": "x"}, headers=auth(None, MV))
    assert_fault(r, 400, "badRequest")
    assert (await _show(admin, "", f"{specs}/k2")).json() == {"k2": "v2b"}
    listed = (await _show(admin, "", specs)).json()["group_specs"]
    assert listed == {"consistent": "<is> False", "k1": "v1", "k2": "v2b"}
    r = await admin.delete(f"{V3}/{specs}/k1", headers=auth(None, MV))
    assert r.status_code == 202
    assert_fault(await _show(admin, "", f"{specs}/k1"), 404, "itemNotFound")

    # Before 3.11 there are no group types at all.
    assert_fault(await _show(admin, "", "group_types", "3.10"), 404, "itemNotFound")
    assert_fault(await _show(admin, "", "group_types/default"), 404, "itemNotFound")
    r = await admin.delete(f"{V3}/group_types/{made['id']}", headers=auth(None, MV))
    assert r.status_code == 202
    assert_fault(await _show(admin, "", f"group_types/{made['id']}"), 404, "itemNotFound")


async def test_group_type_list_filters_sort_and_policy(admin: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex
    public = await _group_type(admin, name=f"a_{tag}", is_public=True)
    private = await _group_type(admin, name=f"b_{tag}", is_public=False)

    async def names(query: str, token: str = "") -> list[str]:
        r = await admin.get(f"{V3}/group_types?{query}", headers=auth(token or None, MV))
        assert r.status_code == 200, r.text
        return [t["name"] for t in r.json()["group_types"] if tag in t["name"]]

    assert await names("sort=name:asc&is_public=None") == [public["name"], private["name"]]
    assert await names("sort=name:desc&is_public=None") == [private["name"], public["name"]]
    assert await names("is_public=False") == [private["name"]]
    assert await names("is_public=True") == [public["name"]]

    _, _, alice = await project_member(admin)
    # Members see public types only, without their specs, and may not change them.
    assert await names("is_public=None", alice) == [public["name"]]
    shown = (await _show(admin, alice, f"group_types/{public['id']}")).json()["group_type"]
    assert "group_specs" not in shown
    assert_fault(await _show(admin, alice, f"group_types/{private['id']}"), 404, "itemNotFound")
    r = await admin.post(
        f"{V3}/group_types", json={"group_type": {"name": "nope"}}, headers=auth(alice, MV)
    )
    assert_fault(r, 403, "forbidden")
    r = await admin.post(
        f"{V3}/group_types", json={"group_type": {"name": public["name"]}}, headers=auth(None, MV)
    )
    assert_fault(r, 409, "conflictingRequest")


async def test_group_create_update_delete(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    vtype = await _volume_type(admin)
    gtype = (await _group_type(admin))["id"]
    g1 = await _group(admin, alice, gtype, vtype, name="one", description="first")
    g2 = await _group(admin, alice, gtype, vtype, name="two")
    shown = (await _show(admin, alice, f"groups/{g1}")).json()["group"]
    assert shown["status"] == "available" and shown["name"] == "one"
    assert shown["group_type"] == gtype and shown["volume_types"] == [vtype]
    assert shown["group_snapshot_id"] is None and shown["source_group_id"] is None
    assert "volumes" not in shown and "project_id" not in shown

    vols = [await _member(admin, alice, g1, vtype) for _ in range(2)]
    ids = sorted(v["id"] for v in vols)
    assert await _group_volumes(admin, alice, g1) == ids
    r = await _show(admin, alice, f"groups/{g1}?list_volume=True", "3.25")
    assert sorted(r.json()["group"]["volumes"]) == ids
    detail = (await _show(admin, alice, "groups/detail")).json()["groups"]
    assert {g["id"] for g in detail} == {g1, g2}
    assert all(g["volume_types"] == [vtype] for g in detail)

    # Remove one volume and rename, then add it back.
    r = await admin.put(
        f"{V3}/groups/{g1}",
        json={"group": {"name": "new", "description": "nd", "remove_volumes": ids[1]}},
        headers=auth(alice, MV),
    )
    assert r.status_code == 202, r.text
    shown = (await _show(admin, alice, f"groups/{g1}")).json()["group"]
    assert (shown["name"], shown["description"], shown["status"]) == ("new", "nd", "available")
    assert await _group_volumes(admin, alice, g1) == ids[:1]
    r = await admin.put(
        f"{V3}/groups/{g1}", json={"group": {"add_volumes": ids[1]}}, headers=auth(alice, MV)
    )
    assert r.status_code == 202, r.text
    assert await _group_volumes(admin, alice, g1) == ids
    r = await admin.put(f"{V3}/groups/{g1}", json={"group": {}}, headers=auth(alice, MV))
    assert_fault(r, 400, "badRequest")

    # A volume of another type may not join; a group with volumes needs delete-volumes.
    other = await _volume_type(admin)
    body = {"size": 1, "volume_type": other, "group_id": g1}
    r = await admin.post(f"{V3}/volumes", json={"volume": body}, headers=auth(alice, MV))
    assert_fault(r, 400, "badRequest")
    r = await admin.post(
        f"{V3}/groups/{g1}/action",
        json={"delete": {"delete-volumes": False}},
        headers=auth(alice, MV),
    )
    assert_fault(r, 400, "badRequest")

    r = await admin.post(
        f"{V3}/groups/{g1}/action",
        json={"delete": {"delete-volumes": True}},
        headers=auth(alice, MV),
    )
    assert r.status_code == 202, r.text
    for vid in ids:
        assert await settle(admin, vid, alice) == {}
    assert_fault(await _show(admin, alice, f"groups/{g1}"), 404, "itemNotFound")
    r = await admin.post(
        f"{V3}/groups/{g2}/action",
        json={"delete": {"delete-volumes": False}},
        headers=auth(alice, MV),
    )
    assert r.status_code == 202, r.text
    assert (await _show(admin, alice, "groups/detail")).json()["groups"] == []
    # With its groups gone the group type may go too; before, it was in use.
    r = await admin.delete(f"{V3}/group_types/{gtype}", headers=auth(None, MV))
    assert r.status_code == 202, r.text


async def test_group_type_in_use_and_reset_status(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    vtype = await _volume_type(admin)
    gtype = (await _group_type(admin))["id"]
    gid = await _group(admin, alice, gtype, vtype)
    r = await admin.delete(f"{V3}/group_types/{gtype}", headers=auth(None, MV))
    assert_fault(r, 400, "badRequest")

    for status in ("creating", "available", "error"):
        r = await admin.post(
            f"{V3}/groups/{gid}/action",
            json={"reset_status": {"status": status}},
            headers=auth(None, MV),
        )
        assert r.status_code == 202, r.text
        assert (await _show(admin, alice, f"groups/{gid}")).json()["group"]["status"] == status
    r = await admin.post(
        f"{V3}/groups/{gid}/action",
        json={"reset_status": {"status": "available"}},
        headers=auth(alice, MV),
    )
    assert_fault(r, 403, "forbidden")
    r = await admin.post(
        f"{V3}/groups/{gid}/action",
        json={"reset_status": {"status": "available"}},
        headers=auth(None, "3.19"),
    )
    assert_fault(r, 400, "badRequest")


async def test_groups_are_isolated_between_projects(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    vtype = await _volume_type(admin)
    gtype = (await _group_type(admin))["id"]
    gid = await _group(admin, alice, gtype, vtype)
    vol = await _member(admin, alice, gid, vtype)

    assert_fault(await _show(admin, bob, f"groups/{gid}"), 404, "itemNotFound")
    assert (await _show(admin, bob, "groups")).json()["groups"] == []
    r = await admin.post(
        f"{V3}/groups/{gid}/action",
        json={"delete": {"delete-volumes": True}},
        headers=auth(bob, MV),
    )
    assert_fault(r, 404, "itemNotFound")
    r = await admin.put(f"{V3}/groups/{gid}", json={"group": {"name": "x"}}, headers=auth(bob, MV))
    assert_fault(r, 404, "itemNotFound")
    # Bob may neither put a volume into Alice's group nor snapshot it.
    body = {"size": 1, "volume_type": vtype, "group_id": gid}
    r = await admin.post(f"{V3}/volumes", json={"volume": body}, headers=auth(bob, MV))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.post(
        f"{V3}/group_snapshots", json={"group_snapshot": {"group_id": gid}}, headers=auth(bob, MV)
    )
    assert_fault(r, 404, "itemNotFound")

    gsnap = await _group_snapshot(admin, alice, gid)
    assert_fault(await _show(admin, bob, f"group_snapshots/{gsnap}"), 404, "itemNotFound")
    assert (await _show(admin, bob, "group_snapshots/detail")).json()["group_snapshots"] == []
    r = await admin.delete(f"{V3}/group_snapshots/{gsnap}", headers=auth(bob, MV))
    assert_fault(r, 404, "itemNotFound")
    # The admin sees Alice's with all_tenants.
    r = await _show(admin, "", "groups?all_tenants=1")
    assert gid in [g["id"] for g in r.json()["groups"]]
    assert (await _show(admin, alice, f"groups/{gid}")).json()["group"]["status"] == "available"
    assert await _group_volumes(admin, alice, gid) == [vol["id"]]


async def _group_snapshot(c: httpx.AsyncClient, token: str, gid: str, **fields: Any) -> str:
    body = {"group_id": gid, "name": "gs", **fields}
    r = await c.post(
        f"{V3}/group_snapshots", json={"group_snapshot": body}, headers=auth(token, MV)
    )
    assert r.status_code == 202, r.text
    made = r.json()["group_snapshot"]
    assert set(made) == {"id", "name", "group_type_id"}
    return str(made["id"])


async def _members(c: httpx.AsyncClient, token: str, gsnap: str) -> list[dict[str, Any]]:
    r = await c.get(f"{V3}/snapshots/detail", headers=auth(token, "3.14"))
    return [s for s in r.json()["snapshots"] if s["group_snapshot_id"] == gsnap]


async def test_group_snapshot_lifecycle(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    vtype = await _volume_type(admin)
    gtype = (await _group_type(admin))["id"]
    gid = await _group(admin, alice, gtype, vtype)
    vols = sorted([(await _member(admin, alice, gid, vtype))["id"] for _ in range(2)])

    gsnap = await _group_snapshot(admin, alice, gid, description="both")
    members = await _members(admin, alice, gsnap)
    assert sorted(s["volume_id"] for s in members) == vols
    for snap in members:
        assert (await _settle_snapshot(admin, snap["id"], alice))["status"] == "available"
    shown = (await _show(admin, alice, f"group_snapshots/{gsnap}")).json()["group_snapshot"]
    assert shown["status"] == "available" and shown["group_id"] == gid
    assert shown["group_type_id"] == gtype and shown["description"] == "both"
    assert set(shown) == {
        "id",
        "group_id",
        "group_type_id",
        "status",
        "created_at",
        "name",
        "description",
    }
    listed = (await _show(admin, alice, "group_snapshots")).json()["group_snapshots"]
    assert listed == [{"id": gsnap, "name": "gs"}]
    # Before 3.14 there are no group snapshots; the group cannot go while it has one.
    assert_fault(await _show(admin, alice, "group_snapshots", "3.13"), 404, "itemNotFound")
    r = await admin.post(
        f"{V3}/groups/{gid}/action",
        json={"delete": {"delete-volumes": True}},
        headers=auth(alice, MV),
    )
    assert_fault(r, 400, "badRequest")

    for status in ("creating", "available", "error", "available"):
        r = await admin.post(
            f"{V3}/group_snapshots/{gsnap}/action",
            json={"reset_status": {"status": status}},
            headers=auth(None, MV),
        )
        assert r.status_code == 202, r.text
        got = (await _show(admin, alice, f"group_snapshots/{gsnap}")).json()["group_snapshot"]
        assert got["status"] == status

    r = await admin.delete(f"{V3}/group_snapshots/{gsnap}", headers=auth(alice, MV))
    assert r.status_code == 202, r.text
    for snap in members:
        assert await _settle_snapshot(admin, snap["id"], alice) == {}
    assert_fault(await _show(admin, alice, f"group_snapshots/{gsnap}"), 404, "itemNotFound")
    r = await admin.post(
        f"{V3}/groups/{gid}/action",
        json={"delete": {"delete-volumes": True}},
        headers=auth(alice, MV),
    )
    assert r.status_code == 202, r.text
    for vid in vols:
        assert await settle(admin, vid, alice) == {}


async def test_create_group_from_snapshot_and_from_group(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    vtype = await _volume_type(admin)
    gtype = (await _group_type(admin))["id"]
    gid = await _group(admin, alice, gtype, vtype)
    vol = await _member(admin, alice, gid, vtype)
    gsnap = await _group_snapshot(admin, alice, gid)
    (member,) = await _members(admin, alice, gsnap)
    await _settle_snapshot(admin, member["id"], alice)

    r = await admin.post(
        f"{V3}/groups/action",
        json={"create-from-src": {"group_snapshot_id": gsnap, "name": "from-snap"}},
        headers=auth(alice, MV),
    )
    assert r.status_code == 202, r.text
    g2 = r.json()["group"]
    assert g2["name"] == "from-snap"
    (copy,) = await _group_volumes(admin, alice, g2["id"])
    made = await settle(admin, copy, alice)
    assert made["status"] == "available" and made["snapshot_id"] == member["id"]
    shown = (await _show(admin, alice, f"groups/{g2['id']}")).json()["group"]
    assert shown["status"] == "available" and shown["group_snapshot_id"] == gsnap
    assert shown["volume_types"] == [vtype] and shown["group_type"] == gtype

    r = await admin.post(
        f"{V3}/groups/action",
        json={"create-from-src": {"source_group_id": gid, "name": "from-group"}},
        headers=auth(alice, MV),
    )
    assert r.status_code == 202, r.text
    g3 = r.json()["group"]["id"]
    (clone,) = await _group_volumes(admin, alice, g3)
    made = await settle(admin, clone, alice)
    assert made["status"] == "available" and made["source_volid"] == vol["id"]
    shown = (await _show(admin, alice, f"groups/{g3}")).json()["group"]
    assert shown["source_group_id"] == gid and shown["status"] == "available"

    r = await admin.post(
        f"{V3}/groups/action",
        json={"create-from-src": {"source_group_id": gid, "group_snapshot_id": gsnap}},
        headers=auth(alice, MV),
    )
    assert_fault(r, 400, "badRequest")
    r = await admin.post(
        f"{V3}/groups/action",
        json={"create-from-src": {"source_group_id": gid}},
        headers=auth(alice, "3.13"),
    )
    assert_fault(r, 404, "itemNotFound")
