"""Snapshots, volumes copied from snapshots and volumes, cascade delete and revert."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import openstack
import pytest
from openstack import exceptions

from stackling.settings import Settings
from tests.conftest import ADMIN_PASSWORD, issue_token, make_settings, running_client
from tests.functional.network.test_openstacksdk import serving
from tests.functional.volume.support import V3, assert_fault, auth, create_volume, settle
from tests.support.identity import project_member

SNAP_TERMINAL = ("available", "error", "error_deleting")


def _backend(c: httpx.AsyncClient) -> Any:
    return c._transport.app.state.runtime.service("volume").svc.backend  # type: ignore[attr-defined]


async def settle_snapshot(
    c: httpx.AsyncClient, snapshot_id: str, token: str | None = None
) -> dict[str, Any]:
    """The snapshot once the agent is done with it ({} when it is gone); a bounded wait."""
    agent = c._transport.app.state.runtime.service("volume").agent  # type: ignore[attr-defined]
    for _ in range(200):
        await agent.drain()
        r = await c.get(f"{V3}/snapshots/{snapshot_id}", headers=auth(token))
        if r.status_code == 404:
            return {}
        snap: dict[str, Any] = r.json()["snapshot"]
        if snap["status"] in SNAP_TERMINAL:
            return snap
        await asyncio.sleep(0)
    raise AssertionError(f"snapshot {snapshot_id} did not settle")


async def snapshot(
    c: httpx.AsyncClient, volume_id: str, token: str | None = None, **fields: Any
) -> dict[str, Any]:
    """Snapshot a volume and wait until the snapshot is available."""
    body = {"volume_id": volume_id, **fields}
    r = await c.post(f"{V3}/snapshots", json={"snapshot": body}, headers=auth(token))
    assert r.status_code == 202, r.text
    return await settle_snapshot(c, r.json()["snapshot"]["id"], token)


async def _reset(c: httpx.AsyncClient, kind: str, ident: str, status: str) -> None:
    r = await c.post(f"{V3}/{kind}/{ident}/action", json={"os-reset_status": {"status": status}})
    assert r.status_code == 202, r.text


async def test_snapshot_lifecycle_and_views(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin, size=2)
    r = await admin.post(
        f"{V3}/snapshots",
        json={"snapshot": {"volume_id": vol["id"], "name": "s1", "metadata": {"k": "v"}}},
    )
    assert r.status_code == 202, r.text
    made = r.json()["snapshot"]
    assert made["status"] == "creating" and made["size"] == 2
    assert made["volume_id"] == vol["id"] and made["metadata"] == {"k": "v"}
    assert "user_id" not in made and "consumes_quota" not in made
    snap = await settle_snapshot(admin, made["id"])
    assert snap["status"] == "available"
    assert snap["os-extended-snapshot-attributes:progress"] == "100%"
    assert snap["os-extended-snapshot-attributes:project_id"] == vol["os-vol-tenant-attr:tenant_id"]
    assert made["id"] in await _backend(admin).list_snapshots()

    r = await admin.get(f"{V3}/snapshots/{snap['id']}", headers=auth(None, "3.65"))
    shown = r.json()["snapshot"]
    assert shown["user_id"] and shown["group_snapshot_id"] is None
    assert shown["consumes_quota"] is True

    r = await admin.put(
        f"{V3}/snapshots/{snap['id']}", json={"snapshot": {"name": "renamed", "description": "d"}}
    )
    assert r.status_code == 200
    assert r.json()["snapshot"]["name"] == "renamed"
    assert r.json()["snapshot"]["description"] == "d"
    r = await admin.put(f"{V3}/snapshots/{snap['id']}", json={"snapshot": {}})
    assert_fault(r, 400, "badRequest")

    r = await admin.get(f"{V3}/snapshots")
    listed = r.json()["snapshots"]
    assert [s["id"] for s in listed] == [snap["id"]]
    assert "os-extended-snapshot-attributes:progress" not in listed[0]
    r = await admin.get(f"{V3}/snapshots/detail")
    assert r.json()["snapshots"][0]["os-extended-snapshot-attributes:progress"] == "100%"

    r = await admin.delete(f"{V3}/snapshots/{snap['id']}")
    assert r.status_code == 202
    assert await settle_snapshot(admin, snap["id"]) == {}
    assert await _backend(admin).list_snapshots() == set()
    r = await admin.get(f"{V3}/snapshots/{snap['id']}")
    assert_fault(r, 404, "itemNotFound")
    r = await admin.delete(f"{V3}/snapshots/{snap['id']}")
    assert_fault(r, 404, "itemNotFound")


async def test_snapshot_metadata(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    snap = await snapshot(admin, vol["id"], metadata={"a": "1"})
    url = f"{V3}/snapshots/{snap['id']}/metadata"
    r = await admin.get(url)
    assert r.status_code == 200 and r.json() == {"metadata": {"a": "1"}}
    r = await admin.post(url, json={"metadata": {"b": "2"}})
    assert r.json() == {"metadata": {"a": "1", "b": "2"}}
    r = await admin.put(url, json={"metadata": {"c": "3"}})
    assert r.json() == {"metadata": {"c": "3"}}
    r = await admin.get(f"{url}/c")
    assert r.json() == {"meta": {"c": "3"}}
    r = await admin.put(f"{url}/d", json={"meta": {"d": "4"}})
    assert r.status_code == 200 and r.json() == {"meta": {"d": "4"}}
    r = await admin.put(f"{url}/d", json={"meta": {"e": "4"}})
    assert_fault(r, 400, "badRequest")
    r = await admin.delete(f"{url}/c")
    assert r.status_code == 200
    r = await admin.get(url)
    assert r.json() == {"metadata": {"d": "4"}}
    for missing in (admin.get(f"{url}/c"), admin.delete(f"{url}/c")):
        assert_fault(await missing, 404, "itemNotFound")
    r = await admin.post(url, json={"metadata": {"x": 1}})
    assert_fault(r, 400, "badRequest")


async def test_list_filters_sort_and_pages(admin: httpx.AsyncClient) -> None:
    one = await create_volume(admin)
    two = await create_volume(admin)
    a = await snapshot(admin, one["id"], name="a", metadata={"tier": "gold"})
    b = await snapshot(admin, one["id"], name="b")
    c = await snapshot(admin, two["id"], name="c")
    r = await admin.get(f"{V3}/snapshots", params={"volume_id": one["id"], "sort": "name:asc"})
    assert [s["id"] for s in r.json()["snapshots"]] == [a["id"], b["id"]]
    r = await admin.get(f"{V3}/snapshots", params={"name": "c"})
    assert [s["id"] for s in r.json()["snapshots"]] == [c["id"]]
    r = await admin.get(f"{V3}/snapshots", params={"metadata": "{'tier': 'gold'}"})
    assert [s["id"] for s in r.json()["snapshots"]] == [a["id"]]
    r = await admin.get(f"{V3}/snapshots", params={"status": "error"})
    assert r.json()["snapshots"] == []
    r = await admin.get(f"{V3}/snapshots", params={"bogus": "1"})
    assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{V3}/snapshots", params={"sort": "bogus:asc"})
    assert_fault(r, 400, "badRequest")

    r = await admin.get(f"{V3}/snapshots", params={"sort": "name:asc", "limit": "2"})
    page = r.json()
    assert [s["id"] for s in page["snapshots"]] == [a["id"], b["id"]]
    assert page["snapshots_links"][0]["rel"] == "next"
    r = await admin.get(
        f"{V3}/snapshots", params={"sort": "name:asc", "limit": "2", "marker": b["id"]}
    )
    assert [s["id"] for s in r.json()["snapshots"]] == [c["id"]]
    assert "snapshots_links" not in r.json()

    r = await admin.get(f"{V3}/snapshots", params={"with_count": "true"})
    assert_fault(r, 400, "badRequest")
    r = await admin.get(
        f"{V3}/snapshots/detail",
        params={"with_count": "true", "limit": "1"},
        headers=auth(None, "3.45"),
    )
    assert r.json()["count"] == 3 and len(r.json()["snapshots"]) == 1


async def test_create_refusals(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    r = await admin.post(f"{V3}/snapshots", json={"snapshot": {"volume_id": str(uuid.uuid4())}})
    assert_fault(r, 404, "itemNotFound")
    r = await admin.post(f"{V3}/snapshots", json={"snapshot": {}})
    assert_fault(r, 400, "badRequest")
    r = await admin.post(f"{V3}/snapshots", json={"volume_id": vol["id"]})
    assert_fault(r, 400, "badRequest")

    await _reset(admin, "volumes", vol["id"], "in-use")
    body: dict[str, Any] = {"snapshot": {"volume_id": vol["id"]}}
    r = await admin.post(f"{V3}/snapshots", json=body)
    assert "must be available" in assert_fault(r, 400, "badRequest")
    body["snapshot"]["force"] = True
    r = await admin.post(f"{V3}/snapshots", json=body)
    assert r.status_code == 202, r.text
    forced = await settle_snapshot(admin, r.json()["snapshot"]["id"])
    assert forced["status"] == "available"
    r = await admin.post(
        f"{V3}/snapshots",
        json={"snapshot": {"volume_id": vol["id"]}},
        headers=auth(None, "3.66"),
    )
    assert r.status_code == 202, r.text
    await settle_snapshot(admin, r.json()["snapshot"]["id"])
    r = await admin.post(
        f"{V3}/snapshots",
        json={"snapshot": {"volume_id": vol["id"], "force": False}},
        headers=auth(None, "3.66"),
    )
    assert_fault(r, 400, "badRequest")

    for status in ("error", "deleting", "creating"):
        await _reset(admin, "volumes", vol["id"], status)
        r = await admin.post(
            f"{V3}/snapshots", json={"snapshot": {"volume_id": vol["id"], "force": True}}
        )
        assert status in assert_fault(r, 400, "badRequest")


async def test_backend_failure_and_admin_actions(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    _backend(admin).fail_next = "create_snapshot"
    failed = await snapshot(admin, vol["id"])
    assert failed["status"] == "error"
    # An errored snapshot may be deleted.
    r = await admin.delete(f"{V3}/snapshots/{failed['id']}")
    assert r.status_code == 202
    assert await settle_snapshot(admin, failed["id"]) == {}

    snap = await snapshot(admin, vol["id"])
    await _reset(admin, "snapshots", snap["id"], "creating")
    r = await admin.get(f"{V3}/snapshots/{snap['id']}")
    assert r.json()["snapshot"]["status"] == "creating"
    r = await admin.delete(f"{V3}/snapshots/{snap['id']}")
    assert "creating" in assert_fault(r, 400, "badRequest")
    r = await admin.post(
        f"{V3}/snapshots/{snap['id']}/action", json={"os-reset_status": {"status": "bogus"}}
    )
    assert_fault(r, 400, "badRequest")
    r = await admin.post(f"{V3}/snapshots/{snap['id']}/action", json={"os-bogus": {}})
    assert_fault(r, 400, "badRequest")
    r = await admin.post(f"{V3}/snapshots/{snap['id']}/action", json={"os-force_delete": {}})
    assert r.status_code == 202
    assert await settle_snapshot(admin, snap["id"]) == {}
    assert await _backend(admin).list_snapshots() == set()


async def test_update_snapshot_status(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    vol = await create_volume(admin, token)
    snap = await snapshot(admin, vol["id"], token)
    url = f"{V3}/snapshots/{snap['id']}/action"

    def update(body: dict[str, Any]) -> Any:
        return admin.post(url, json={"os-update_snapshot_status": body}, headers=auth(token))

    # Only a creating or deleting snapshot takes updates.
    assert_fault(await update({"status": "error"}), 400, "badRequest")
    await _reset(admin, "snapshots", snap["id"], "creating")
    assert_fault(await update({"status": "deleting"}), 400, "badRequest")
    assert_fault(await update({"progress": "80%"}), 400, "badRequest")
    for progress in ("80", "101%", "x%", 80):
        assert_fault(await update({"status": "error", "progress": progress}), 400, "badRequest")
    r = await update({"status": "error", "progress": "80%"})
    assert r.status_code == 202, r.text
    shown = (await admin.get(f"{V3}/snapshots/{snap['id']}")).json()["snapshot"]
    assert shown["status"] == "error"
    assert shown["os-extended-snapshot-attributes:progress"] == "80%"

    await _reset(admin, "snapshots", snap["id"], "deleting")
    r = await update({"status": "error_deleting"})
    assert r.status_code == 202, r.text
    shown = (await admin.get(f"{V3}/snapshots/{snap['id']}")).json()["snapshot"]
    assert shown["status"] == "error_deleting"
    assert shown["os-extended-snapshot-attributes:progress"] == "80%"

    # Another project's member cannot see the snapshot at all.
    await _reset(admin, "snapshots", snap["id"], "creating")
    _, _, other = await project_member(admin)
    r = await admin.post(
        url, json={"os-update_snapshot_status": {"status": "error"}}, headers=auth(other)
    )
    assert_fault(r, 404, "itemNotFound")


async def test_quota_counts_snapshots(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin, size=2)
    pid = vol["os-vol-tenant-attr:tenant_id"]
    r = await admin.put(
        f"{V3}/os-quota-sets/{pid}", json={"quota_set": {"snapshots": 1, "gigabytes": 5}}
    )
    assert r.status_code == 200, r.text
    first = await snapshot(admin, vol["id"])
    r = await admin.post(f"{V3}/snapshots", json={"snapshot": {"volume_id": vol["id"]}})
    assert "snapshots" in assert_fault(r, 413, "overLimit")
    r = await admin.put(f"{V3}/os-quota-sets/{pid}", json={"quota_set": {"snapshots": 5}})
    assert r.status_code == 200
    # 2 GiB of volume and 2 of snapshot used: another 2 GiB snapshot passes 5.
    r = await admin.post(f"{V3}/snapshots", json={"snapshot": {"volume_id": vol["id"]}})
    assert "gigabytes" in assert_fault(r, 413, "overLimit")
    r = await admin.post(f"{V3}/volumes", json={"volume": {"size": 2}})
    assert_fault(r, 413, "overLimit")
    r = await admin.get(f"{V3}/os-quota-sets/{pid}", params={"usage": "true"})
    used = r.json()["quota_set"]
    assert used["snapshots"]["in_use"] == 1 and used["gigabytes"]["in_use"] == 4
    r = await admin.delete(f"{V3}/snapshots/{first['id']}")
    assert await settle_snapshot(admin, first["id"]) == {}
    r = await admin.post(f"{V3}/volumes", json={"volume": {"size": 2}})
    assert r.status_code == 202, r.text
    await settle(admin, r.json()["volume"]["id"])


async def test_projects_cannot_reach_each_others_snapshots(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    _, _, reader = await project_member(admin, role="reader")
    vol = await create_volume(admin, alice)
    snap = await snapshot(admin, vol["id"], alice)
    url = f"{V3}/snapshots/{snap['id']}"
    for r in (
        await admin.get(url, headers=auth(bob)),
        await admin.put(url, json={"snapshot": {"name": "x"}}, headers=auth(bob)),
        await admin.delete(url, headers=auth(bob)),
        await admin.get(f"{url}/metadata", headers=auth(bob)),
        await admin.post(f"{url}/metadata", json={"metadata": {"a": "b"}}, headers=auth(bob)),
        await admin.post(
            f"{V3}/snapshots", json={"snapshot": {"volume_id": vol["id"]}}, headers=auth(bob)
        ),
        await admin.post(
            f"{V3}/volumes",
            json={"volume": {"snapshot_id": snap["id"]}},
            headers=auth(bob),
        ),
    ):
        assert_fault(r, 404, "itemNotFound")
    r = await admin.get(f"{V3}/snapshots", params={"all_tenants": "1"}, headers=auth(bob))
    assert r.json()["snapshots"] == []
    r = await admin.post(
        f"{url}/action", json={"os-reset_status": {"status": "error"}}, headers=auth(alice)
    )
    assert_fault(r, 403, "forbidden")
    r = await admin.get(f"{V3}/snapshots", headers=auth(alice))
    assert [s["id"] for s in r.json()["snapshots"]] == [snap["id"]]
    r = await admin.get(f"{V3}/snapshots")
    assert r.json()["snapshots"] == []
    r = await admin.get(f"{V3}/snapshots", params={"all_tenants": "1"})
    assert [s["id"] for s in r.json()["snapshots"]] == [snap["id"]]
    assert (await admin.get(url)).status_code == 200
    # A reader of another project sees nothing; the owner's snapshot is untouched.
    r = await admin.get(url, headers=auth(reader))
    assert_fault(r, 404, "itemNotFound")
    assert (await settle_snapshot(admin, snap["id"], alice))["status"] == "available"


async def test_delete_with_snapshots_needs_cascade(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    snaps = [await snapshot(admin, vol["id"]) for _ in range(2)]
    r = await admin.delete(f"{V3}/volumes/{vol['id']}")
    assert "have snapshots" in assert_fault(r, 400, "badRequest")
    r = await admin.post(f"{V3}/volumes/{vol['id']}/action", json={"os-force_delete": {}})
    assert_fault(r, 400, "badRequest")
    await _reset(admin, "snapshots", snaps[0]["id"], "creating")
    r = await admin.delete(f"{V3}/volumes/{vol['id']}", params={"cascade": "true"})
    assert "creating" in assert_fault(r, 400, "badRequest")
    await _reset(admin, "snapshots", snaps[0]["id"], "available")
    r = await admin.delete(f"{V3}/volumes/{vol['id']}", params={"cascade": "true"})
    assert r.status_code == 202, r.text
    assert await settle(admin, vol["id"]) == {}
    for snap in snaps:
        assert await settle_snapshot(admin, snap["id"]) == {}
    backend = _backend(admin)
    assert await backend.list_snapshots() == set() and await backend.list_volumes() == set()
    # A snapshot cannot start on a volume that is being deleted.
    other = await create_volume(admin)
    r = await admin.delete(f"{V3}/volumes/{other['id']}")
    assert r.status_code == 202
    r = await admin.post(f"{V3}/snapshots", json={"snapshot": {"volume_id": other["id"]}})
    assert r.status_code in (400, 404)


async def test_volumes_from_snapshots_and_volumes(admin: httpx.AsyncClient) -> None:
    backend = _backend(admin)
    src = await create_volume(admin, size=2)
    backend.data[src["id"]] = b"first"
    snap = await snapshot(admin, src["id"])
    backend.data[src["id"]] = b"second"

    r = await admin.post(f"{V3}/volumes", json={"volume": {"snapshot_id": snap["id"]}})
    assert r.status_code == 202, r.text
    assert r.json()["volume"]["snapshot_id"] == snap["id"]
    from_snap = await settle(admin, r.json()["volume"]["id"])
    assert from_snap["status"] == "available" and from_snap["size"] == 2
    assert from_snap["snapshot_id"] == snap["id"] and from_snap["source_volid"] is None
    assert backend.data[from_snap["id"]] == b"first"

    r = await admin.post(f"{V3}/volumes", json={"volume": {"source_volid": src["id"], "size": 3}})
    assert r.status_code == 202, r.text
    clone = await settle(admin, r.json()["volume"]["id"])
    assert clone["size"] == 3 and clone["source_volid"] == src["id"]
    assert backend.data[clone["id"]] == b"second"
    assert await backend.size_of(clone["id"]) == 3

    for body, fragment in (
        ({"snapshot_id": snap["id"], "size": 1}, "cannot be smaller than the snapshot size"),
        ({"source_volid": src["id"], "size": 1}, "cannot be smaller than original volume size"),
        ({"snapshot_id": "not-a-uuid"}, "snapshot_id"),
        ({"snapshot_id": snap["id"], "source_volid": src["id"]}, "only one of"),
    ):
        r = await admin.post(f"{V3}/volumes", json={"volume": body})
        assert fragment in assert_fault(r, 400, "badRequest"), body
    for body in ({"snapshot_id": str(uuid.uuid4())}, {"source_volid": str(uuid.uuid4())}):
        r = await admin.post(f"{V3}/volumes", json={"volume": body})
        assert_fault(r, 404, "itemNotFound")
    await _reset(admin, "snapshots", snap["id"], "error")
    r = await admin.post(f"{V3}/volumes", json={"volume": {"snapshot_id": snap["id"]}})
    assert_fault(r, 400, "badRequest")
    await _reset(admin, "volumes", src["id"], "error")
    r = await admin.post(f"{V3}/volumes", json={"volume": {"source_volid": src["id"]}})
    assert_fault(r, 400, "badRequest")

    # A failing copy leaves the new volume in error.
    await _reset(admin, "volumes", src["id"], "available")
    backend.fail_next = "clone"
    r = await admin.post(f"{V3}/volumes", json={"volume": {"source_volid": src["id"]}})
    assert (await settle(admin, r.json()["volume"]["id"]))["status"] == "error"


async def test_revert_to_the_latest_snapshot(admin: httpx.AsyncClient) -> None:
    backend = _backend(admin)
    vol = await create_volume(admin)
    backend.data[vol["id"]] = b"old"
    older = await snapshot(admin, vol["id"])
    backend.data[vol["id"]] = b"middle"
    latest = await snapshot(admin, vol["id"])
    backend.data[vol["id"]] = b"new"
    url = f"{V3}/volumes/{vol['id']}/action"
    v340 = auth(None, "3.40")

    r = await admin.post(url, json={"revert": {"snapshot_id": latest["id"]}})
    assert_fault(r, 400, "badRequest")  # before 3.40 there is no such action
    r = await admin.post(url, json={"revert": {"snapshot_id": older["id"]}}, headers=v340)
    assert "not the latest" in assert_fault(r, 400, "badRequest")
    r = await admin.post(url, json={"revert": {}}, headers=v340)
    assert_fault(r, 400, "badRequest")
    r = await admin.post(url, json={"revert": {"snapshot_id": str(uuid.uuid4())}}, headers=v340)
    assert_fault(r, 404, "itemNotFound")

    r = await admin.post(url, json={"revert": {"snapshot_id": latest["id"]}}, headers=v340)
    assert r.status_code == 202, r.text
    done = await settle(admin, vol["id"])
    assert done["status"] == "available"
    assert backend.data[vol["id"]] == b"middle"
    assert (await settle_snapshot(admin, latest["id"]))["status"] == "available"

    # A failed revert: the volume in error, the snapshot available again.
    backend.fail_next = "revert_to_snapshot"
    r = await admin.post(url, json={"revert": {"snapshot_id": latest["id"]}}, headers=v340)
    assert r.status_code == 202
    assert (await settle(admin, vol["id"]))["status"] == "error"
    assert (await settle_snapshot(admin, latest["id"]))["status"] == "available"
    await _reset(admin, "volumes", vol["id"], "available")

    r = await admin.post(url, json={"os-extend": {"new_size": 2}})
    assert r.status_code == 202
    await settle(admin, vol["id"])
    r = await admin.post(url, json={"revert": {"snapshot_id": latest["id"]}}, headers=v340)
    assert "size" in assert_fault(r, 400, "badRequest")


async def test_restart_converges_snapshots(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(
        tmp_path / "data", database={"url": db_url}, services=["identity", "volume"]
    )
    root = tmp_path / "data" / "volume"
    async with running_client(settings) as c:
        c.headers["X-Auth-Token"] = await issue_token(c)
        vol = await create_volume(c)
        stuck = await snapshot(c, vol["id"])
        gone = await snapshot(c, vol["id"])
        assert (root / f"snapshot-{stuck['id']}.qcow2").is_file()
        # As a crash would leave them: one back in `creating` with no file yet,
        # another in `deleting` with its file still there.
        await _reset(c, "snapshots", stuck["id"], "creating")
        (root / f"snapshot-{stuck['id']}.qcow2").unlink()
        await _reset(c, "snapshots", gone["id"], "deleting")
    orphan = str(uuid.uuid4())
    (root / f"snapshot-{orphan}.qcow2").write_bytes(b"left over")
    (root / f".snapshot-{orphan}.qcow2.partial").write_bytes(b"half")
    async with running_client(settings) as c:
        c.headers["X-Auth-Token"] = await issue_token(c)
        r = await c.get(f"{V3}/snapshots/{stuck['id']}")
        assert r.json()["snapshot"]["status"] == "available"
        r = await c.get(f"{V3}/snapshots/{gone['id']}")
        assert_fault(r, 404, "itemNotFound")
        names = sorted(p.name for p in root.iterdir())
        assert names == sorted([f"volume-{vol['id']}.qcow2", f"snapshot-{stuck['id']}.qcow2"])
        # The file backend's copies end to end: a clone and a volume from the snapshot.
        r = await c.post(f"{V3}/volumes", json={"volume": {"snapshot_id": stuck["id"], "size": 2}})
        made = await settle(c, r.json()["volume"]["id"])
        assert made["status"] == "available" and made["size"] == 2
        assert await _backend(c).size_of(made["id"]) == 2
        r = await c.delete(f"{V3}/volumes/{vol['id']}", params={"cascade": "1"})
        assert r.status_code == 202
        assert await settle(c, vol["id"]) == {}
        names = sorted(p.name for p in root.iterdir())
        assert names == [f"volume-{made['id']}.qcow2"]


def test_openstacksdk_drives_snapshots(settings: Settings) -> None:
    with serving(settings) as url:
        conn = openstack.connect(
            auth_url=f"{url}/identity/v3",
            username="admin",
            password=ADMIN_PASSWORD,
            project_name="admin",
            user_domain_name="Default",
            project_domain_name="Default",
            block_storage_endpoint_override=f"{url}/volume/v3",
        )
        bs = conn.block_storage
        try:
            vol = bs.wait_for_status(bs.create_volume(size=1), "available", interval=0.05, wait=60)
            snap = bs.create_snapshot(volume_id=vol.id, name="sdk-snap", metadata={"a": "b"})
            snap = bs.wait_for_status(snap, "available", interval=0.05, wait=60)
            assert snap.size == 1 and snap.volume_id == vol.id
            assert [s.id for s in bs.snapshots(details=True, name="sdk-snap")] == [snap.id]
            assert bs.get_snapshot(snap.id).metadata == {"a": "b"}
            clone = bs.create_volume(snapshot_id=snap.id, name="from-snap")
            clone = bs.wait_for_status(clone, "available", interval=0.05, wait=60)
            assert clone.size == 1 and clone.snapshot_id == snap.id
            with pytest.raises(exceptions.BadRequestException):
                bs.delete_volume(vol)
            bs.delete_snapshot(snap)
            bs.wait_for_delete(snap, interval=0.05, wait=60)
            for v in (clone, vol):
                bs.delete_volume(v)
                bs.wait_for_delete(v, interval=0.05, wait=60)
        finally:
            conn.close()
