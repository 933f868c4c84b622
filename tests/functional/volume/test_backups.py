"""Volume backups through the Cinder API with the fake backend: lifecycle, isolation, quota."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

import httpx
import openstack

from stackling.settings import Settings
from stackling.volume import models as m
from tests.conftest import ADMIN_PASSWORD
from tests.functional.network.test_openstacksdk import serving
from tests.functional.volume.support import V3, assert_fault, auth, create_volume, settle
from tests.support.identity import project_member

BACKUPS = f"{V3}/backups"
DONE = ("available", "error", "error_deleting")


def _plugin(c: httpx.AsyncClient) -> Any:
    return c._transport.app.state.runtime.service("volume")  # type: ignore[attr-defined]


async def settle_backup(
    c: httpx.AsyncClient, backup_id: str, token: str | None = None
) -> dict[str, Any]:
    """The backup once the agents are done with it ({} when it is gone); a bounded wait."""
    plugin = _plugin(c)
    for _ in range(200):
        await plugin.backup_agent.drain()
        await plugin.agent.drain()
        r = await c.get(f"{BACKUPS}/{backup_id}", headers=auth(token, "3.64"))
        if r.status_code == 404:
            return {}
        backup: dict[str, Any] = r.json()["backup"]
        if backup["status"] in DONE:
            return backup
        await asyncio.sleep(0)
    raise AssertionError(f"backup {backup_id} did not settle")


async def _backup(
    c: httpx.AsyncClient, volume_id: str, token: str | None = None, **extra: Any
) -> dict[str, Any]:
    body = {"backup": {"volume_id": volume_id, **extra}}
    r = await c.post(BACKUPS, json=body, headers=auth(token, "3.64"))
    assert r.status_code == 202, r.text
    assert set(r.json()["backup"]) == {"id", "name", "links"}
    return await settle_backup(c, r.json()["backup"]["id"], token)


async def _volume(c: httpx.AsyncClient, volume_id: str) -> dict[str, Any]:
    r = await c.get(f"{V3}/volumes/{volume_id}")
    assert r.status_code == 200, r.text
    return dict(r.json()["volume"])


async def test_backup_restore_and_delete(admin: httpx.AsyncClient) -> None:
    backend = _plugin(admin).svc.backend
    vol = await create_volume(admin, size=1, name="src")
    backend.data[vol["id"]] = b"first contents " * 1000
    backup = await _backup(admin, vol["id"], name="nightly", description="d", metadata={"k": "v"})
    assert backup["status"] == "available", backup
    assert backup["name"] == "nightly" and backup["description"] == "d"
    assert backup["volume_id"] == vol["id"] and backup["size"] == 1
    assert backup["container"] == "volumebackups" and backup["object_count"] == 1
    assert backup["is_incremental"] is False and backup["has_dependent_backups"] is False
    assert backup["metadata"] == {"k": "v"} and backup["encryption_key_id"] is None
    assert backup["fail_reason"] is None and backup["snapshot_id"] is None
    assert backup["availability_zone"] == "nova" and backup["user_id"]
    assert backup["os-backup-project-attr:project_id"]
    assert backup["links"][0]["href"].endswith(f"/backups/{backup['id']}")
    for key in ("created_at", "updated_at", "data_timestamp"):
        assert backup[key]
    assert (await _volume(admin, vol["id"]))["status"] == "available"

    # Older microversions show fewer fields.
    r = await admin.get(f"{BACKUPS}/{backup['id']}")
    old = r.json()["backup"]
    assert "metadata" not in old and "user_id" not in old
    assert "os-backup-project-attr:project_id" not in old

    # Restore into a new volume: it gets the backup's data.
    r = await admin.post(f"{BACKUPS}/{backup['id']}/restore", json={"restore": {"name": "new"}})
    assert r.status_code == 202, r.text
    restore = r.json()["restore"]
    assert restore["backup_id"] == backup["id"] and restore["volume_name"] == "new"
    assert (await settle_backup(admin, backup["id"]))["status"] == "available"
    new = await settle(admin, restore["volume_id"])
    assert new["status"] == "available" and new["size"] == 1
    assert backend.data[restore["volume_id"]] == b"first contents " * 1000

    # Restore into an existing volume replaces its data.
    backend.data[vol["id"]] = b"changed"
    r = await admin.post(
        f"{BACKUPS}/{backup['id']}/restore", json={"restore": {"volume_id": vol["id"]}}
    )
    assert r.status_code == 202, r.text
    assert r.json()["restore"] == {
        "backup_id": backup["id"],
        "volume_id": vol["id"],
        "volume_name": "src",
    }
    assert (await _volume(admin, vol["id"]))["status"] == "restoring-backup"
    await settle_backup(admin, backup["id"])
    assert (await _volume(admin, vol["id"]))["status"] == "available"
    assert backend.data[vol["id"]] == b"first contents " * 1000

    r = await admin.delete(f"{BACKUPS}/{backup['id']}")
    assert r.status_code == 202, r.text
    assert await settle_backup(admin, backup["id"]) == {}
    assert_fault(await admin.get(f"{BACKUPS}/{backup['id']}"), 404, "itemNotFound")


async def test_restore_gives_back_the_volume_metadata(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin, metadata={"vol-meta1": "value1", "vol-meta2": "value2"})
    backup = await _backup(admin, vol["id"])
    assert backup["status"] == "available", backup
    # Later changes to the source do not reach the backup.
    r = await admin.put(f"{V3}/volumes/{vol['id']}/metadata", json={"metadata": {"late": "1"}})
    assert r.status_code == 200, r.text

    r = await admin.post(f"{BACKUPS}/{backup['id']}/restore", json={"restore": {}})
    assert r.status_code == 202, r.text
    await settle_backup(admin, backup["id"])
    new = await settle(admin, r.json()["restore"]["volume_id"])
    assert new["metadata"] == {"vol-meta1": "value1", "vol-meta2": "value2"}

    # Into an existing volume: merged into its own, the backup's values winning.
    other = await create_volume(admin, metadata={"vol-meta1": "mine", "own": "kept"})
    r = await admin.post(
        f"{BACKUPS}/{backup['id']}/restore", json={"restore": {"volume_id": other["id"]}}
    )
    assert r.status_code == 202, r.text
    await settle_backup(admin, backup["id"])
    assert (await _volume(admin, other["id"]))["metadata"] == {
        "vol-meta1": "value1",
        "vol-meta2": "value2",
        "own": "kept",
    }


async def test_export_and_import_records(admin: httpx.AsyncClient) -> None:
    backend = _plugin(admin).svc.backend
    vol = await create_volume(admin, metadata={"m": "1"})
    backend.data[vol["id"]] = b"exported " * 500
    backup = await _backup(admin, vol["id"], name="exp", metadata={"k": "v"})
    r = await admin.get(f"{BACKUPS}/{backup['id']}/export_record")
    assert r.status_code == 200, r.text
    record = r.json()["backup-record"]
    assert set(record) == {"backup_service", "backup_url"}
    assert record["backup_service"].startswith("cinder.backup.drivers.")
    decoded = json.loads(base64.b64decode(record["backup_url"]))
    assert decoded["id"] == backup["id"] and decoded["size"] == 1

    # Imported under another id (as Tempest does): available, restorable.
    new_id = str(uuid.uuid4())
    url = base64.b64encode(json.dumps({**decoded, "id": new_id}).encode()).decode()
    body = {"backup-record": {"backup_service": record["backup_service"], "backup_url": url}}
    r = await admin.post(f"{BACKUPS}/import_record", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["backup"]["id"] == new_id and r.json()["backup"]["name"] == "exp"
    assert set(r.json()["backup"]) == {"id", "name", "links"}
    imported = await settle_backup(admin, new_id)
    assert imported["status"] == "available" and imported["metadata"] == {"k": "v"}
    assert imported["size"] == 1 and imported["volume_id"] == vol["id"]
    r = await admin.get(BACKUPS)
    assert new_id in {b["id"] for b in r.json()["backups"]}
    # The same record again is refused.
    assert_fault(await admin.post(f"{BACKUPS}/import_record", json=body), 400, "badRequest")

    r = await admin.post(f"{BACKUPS}/{new_id}/restore", json={"restore": {}})
    assert r.status_code == 202, r.text
    await settle_backup(admin, new_id)
    restored = await settle(admin, r.json()["restore"]["volume_id"])
    assert restored["status"] == "available" and restored["metadata"] == {"m": "1"}
    assert backend.data[restored["id"]] == b"exported " * 500

    # The exported backup holds the data: it outlives the imported one.
    r = await admin.delete(f"{BACKUPS}/{backup['id']}")
    assert_fault(r, 400, "badRequest")
    r = await admin.delete(f"{BACKUPS}/{new_id}")
    assert r.status_code == 202, r.text
    assert await settle_backup(admin, new_id) == {}
    r = await admin.delete(f"{BACKUPS}/{backup['id']}")
    assert r.status_code == 202, r.text
    assert await settle_backup(admin, backup["id"]) == {}

    # A record whose data is gone imports as an errored backup.
    r = await admin.post(f"{BACKUPS}/import_record", json=body)
    assert r.status_code == 201, r.text
    gone = await settle_backup(admin, new_id)
    assert gone["status"] == "error" and gone["fail_reason"]


async def test_export_and_import_refusals(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    vol = await create_volume(admin, token)
    backup = await _backup(admin, vol["id"], token)
    r = await admin.get(f"{BACKUPS}/{backup['id']}/export_record", headers=auth(token))
    assert_fault(r, 403, "forbidden")
    r = await admin.get(f"{BACKUPS}/{backup['id']}/export_record")
    record = r.json()["backup-record"]
    body = {"backup-record": record}
    r = await admin.post(f"{BACKUPS}/import_record", json=body, headers=auth(token))
    assert_fault(r, 403, "forbidden")
    # Same id as a backup that exists.
    assert_fault(await admin.post(f"{BACKUPS}/import_record", json=body), 400, "badRequest")
    for bad in (
        {"backup_service": record["backup_service"]},
        {"backup_service": "cinder.backup.drivers.swift", "backup_url": record["backup_url"]},
        {"backup_service": record["backup_service"], "backup_url": "not base64!"},
        {
            "backup_service": record["backup_service"],
            "backup_url": base64.b64encode(b'{"id": "x"}').decode(),
        },
    ):
        r = await admin.post(f"{BACKUPS}/import_record", json={"backup-record": bad})
        assert_fault(r, 400, "badRequest")
    assert_fault(await admin.get(f"{BACKUPS}/nosuch/export_record"), 404, "itemNotFound")
    await _reset_backup(admin, backup["id"], "error")
    r = await admin.get(f"{BACKUPS}/{backup['id']}/export_record")
    assert_fault(r, 400, "badRequest")


async def _reset_backup(c: httpx.AsyncClient, backup_id: str, status: str) -> None:
    r = await c.post(f"{BACKUPS}/{backup_id}/action", json={"os-reset_status": {"status": status}})
    assert r.status_code == 202, r.text


async def test_lists_filters_and_pages(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    other = await create_volume(admin)
    made = [await _backup(admin, vol["id"], name=f"b{i}") for i in range(3)]
    made.append(await _backup(admin, other["id"], name="b0"))
    r = await admin.get(BACKUPS)
    listed = r.json()["backups"]
    assert [b["id"] for b in listed] == [b["id"] for b in reversed(made)]
    assert set(listed[0]) == {"id", "name", "links"}
    r = await admin.get(f"{BACKUPS}/detail", params={"name": "b0"})
    assert sorted(b["id"] for b in r.json()["backups"]) == sorted([made[0]["id"], made[3]["id"]])
    r = await admin.get(f"{BACKUPS}/detail", params={"volume_id": other["id"]})
    assert [b["id"] for b in r.json()["backups"]] == [made[3]["id"]]
    r = await admin.get(f"{BACKUPS}/detail", params={"status": "error"})
    assert r.json()["backups"] == []
    assert_fault(await admin.get(BACKUPS, params={"bogus": "1"}), 400, "badRequest")
    assert_fault(await admin.get(BACKUPS, params={"sort": "nope:asc"}), 400, "badRequest")

    # Pages: a full page names the next one; with_count needs 3.45.
    r = await admin.get(BACKUPS, params={"limit": "2", "sort": "name:asc"})
    page = r.json()
    assert [b["name"] for b in page["backups"]] == ["b0", "b0"]
    assert page["backups_links"][0]["rel"] == "next"
    r = await admin.get(
        BACKUPS, params={"limit": "2", "sort": "name:asc", "marker": page["backups"][-1]["id"]}
    )
    assert [b["name"] for b in r.json()["backups"]] == ["b1", "b2"]
    r = await admin.get(BACKUPS, params={"with_count": "true"}, headers=auth(None, "3.45"))
    assert r.json()["count"] == 4
    r = await admin.get(BACKUPS, params={"with_count": "true"})
    assert "count" not in r.json()


async def test_update_needs_3_9_and_metadata_3_43(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    backup = await _backup(admin, vol["id"], name="a")
    url = f"{BACKUPS}/{backup['id']}"
    r = await admin.put(url, json={"backup": {"name": "b"}})
    assert_fault(r, 404, "itemNotFound")
    r = await admin.put(url, json={"backup": {"name": "b"}}, headers=auth(None, "3.9"))
    assert r.status_code == 200, r.text
    # Cinder answers an update with the summary only.
    assert r.json()["backup"] == {"id": backup["id"], "name": "b", "links": backup["links"]}
    r = await admin.put(url, json={"backup": {"metadata": {"x": "1"}}}, headers=auth(None, "3.9"))
    assert_fault(r, 400, "badRequest")
    r = await admin.put(
        url,
        json={"backup": {"metadata": {"x": "1"}, "description": "z"}},
        headers=auth(None, "3.43"),
    )
    assert set(r.json()["backup"]) == {"id", "name", "links"}
    r = await admin.get(url, headers=auth(None, "3.43"))
    assert r.json()["backup"]["metadata"] == {"x": "1"}
    assert r.json()["backup"]["description"] == "z" and r.json()["backup"]["name"] == "b"


async def test_incremental_and_dependents(admin: httpx.AsyncClient) -> None:
    backend = _plugin(admin).svc.backend
    vol = await create_volume(admin)
    r = await admin.post(BACKUPS, json={"backup": {"volume_id": vol["id"], "incremental": True}})
    assert "incremental" in assert_fault(r, 400, "badRequest")
    backend.data[vol["id"]] = b"A" * 100
    full = await _backup(admin, vol["id"])
    backend.data[vol["id"]] = b"B" * 100
    incr = await _backup(admin, vol["id"], incremental=True)
    assert incr["is_incremental"] is True and incr["status"] == "available"
    r = await admin.get(f"{BACKUPS}/{full['id']}")
    assert r.json()["backup"]["has_dependent_backups"] is True

    r = await admin.delete(f"{BACKUPS}/{full['id']}")
    assert "Incremental backups exist" in assert_fault(r, 400, "badRequest")
    r = await admin.post(f"{BACKUPS}/{full['id']}/action", json={"os-force_delete": {}})
    assert_fault(r, 400, "badRequest")

    # The incremental backup restores its own data, the full one the older data.
    target = await create_volume(admin)
    r = await admin.post(
        f"{BACKUPS}/{incr['id']}/restore", json={"restore": {"volume_id": target["id"]}}
    )
    assert r.status_code == 202
    await settle_backup(admin, incr["id"])
    assert backend.data[target["id"]] == b"B" * 100
    r = await admin.post(
        f"{BACKUPS}/{full['id']}/restore", json={"restore": {"volume_id": target["id"]}}
    )
    await settle_backup(admin, full["id"])
    assert backend.data[target["id"]] == b"A" * 100

    assert (await admin.delete(f"{BACKUPS}/{incr['id']}")).status_code == 202
    assert await settle_backup(admin, incr["id"]) == {}
    assert (await admin.delete(f"{BACKUPS}/{full['id']}")).status_code == 202
    assert await settle_backup(admin, full["id"]) == {}


async def test_tenant_isolation(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    vol = await create_volume(admin, alice)
    backup = await _backup(admin, vol["id"], alice)
    assert backup["status"] == "available"
    assert "os-backup-project-attr:project_id" not in backup
    url = f"{BACKUPS}/{backup['id']}"
    assert_fault(await admin.get(url, headers=auth(bob)), 404, "itemNotFound")
    r = await admin.get(f"{BACKUPS}/detail", headers=auth(bob))
    assert r.json()["backups"] == []
    r = await admin.get(f"{BACKUPS}/detail", headers=auth(bob), params={"all_tenants": "1"})
    assert r.json()["backups"] == []
    assert_fault(await admin.delete(url, headers=auth(bob)), 404, "itemNotFound")
    r = await admin.post(f"{url}/restore", json={"restore": {}}, headers=auth(bob))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.post(BACKUPS, json={"backup": {"volume_id": vol["id"]}}, headers=auth(bob))
    assert_fault(r, 404, "itemNotFound")
    # Bob cannot restore Alice's backup into his own volume either.
    own = await create_volume(admin, bob)
    r = await admin.post(
        f"{url}/restore", json={"restore": {"volume_id": own["id"]}}, headers=auth(bob)
    )
    assert_fault(r, 404, "itemNotFound")
    # Only an admin resets or forces.
    r = await admin.post(
        f"{url}/action", json={"os-reset_status": {"status": "error"}}, headers=auth(alice)
    )
    assert_fault(r, 403, "forbidden")
    # The admin sees it among all projects' backups, not in its own.
    r = await admin.get(f"{BACKUPS}/detail", params={"all_tenants": "1"})
    assert backup["id"] in [b["id"] for b in r.json()["backups"]]
    r = await admin.get(f"{BACKUPS}/detail")
    assert backup["id"] not in [b["id"] for b in r.json()["backups"]]


async def test_quota(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.put(
        f"{V3}/os-quota-sets/{project['id']}",
        json={"quota_set": {"backups": 1, "backup_gigabytes": 3}},
    )
    assert r.status_code == 200, r.text
    small = await create_volume(admin, token, size=1)
    big = await create_volume(admin, token, size=3)
    await _backup(admin, small["id"], token)
    r = await admin.post(BACKUPS, json={"backup": {"volume_id": small["id"]}}, headers=auth(token))
    assert "backups" in assert_fault(r, 413, "overLimit")
    r = await admin.put(f"{V3}/os-quota-sets/{project['id']}", json={"quota_set": {"backups": 5}})
    r = await admin.post(BACKUPS, json={"backup": {"volume_id": big["id"]}}, headers=auth(token))
    assert "gigabytes" in assert_fault(r, 413, "overLimit")
    r = await admin.get(f"{V3}/os-quota-sets/{project['id']}", params={"usage": "True"})
    usage = r.json()["quota_set"]
    assert usage["backups"]["in_use"] == 1 and usage["backup_gigabytes"]["in_use"] == 1
    # The refused backups left the volumes as they were.
    assert (await _volume(admin, big["id"]))["status"] == "available"


async def test_states_refused(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin, size=2)
    small = await create_volume(admin, size=1)
    # A volume in error cannot be backed up; in-use needs force.
    r = await admin.post(
        f"{V3}/volumes/{small['id']}/action", json={"os-reset_status": {"status": "error"}}
    )
    assert r.status_code == 202
    r = await admin.post(BACKUPS, json={"backup": {"volume_id": small["id"]}})
    assert_fault(r, 400, "badRequest")
    r = await admin.post(BACKUPS, json={"backup": {}})
    assert_fault(r, 400, "badRequest")
    r = await admin.post(BACKUPS, json={"backup": {"volume_id": vol["id"], "container": "../x"}})
    assert_fault(r, 400, "badRequest")
    r = await admin.post(BACKUPS, json={"backup": {"volume_id": "missing"}})
    assert_fault(r, 404, "itemNotFound")

    backup = await _backup(admin, vol["id"])
    url = f"{BACKUPS}/{backup['id']}"
    # Too small, or not available, volumes are no restore target.
    r = await admin.post(f"{url}/restore", json={"restore": {"volume_id": small["id"]}})
    assert_fault(r, 400, "badRequest")
    r = await admin.post(
        f"{V3}/volumes/{small['id']}/action", json={"os-reset_status": {"status": "available"}}
    )
    r = await admin.post(f"{url}/restore", json={"restore": {"volume_id": small["id"]}})
    assert "smaller" in assert_fault(r, 400, "badRequest")

    # A backup in error cannot be restored, but can be deleted; reset status is checked.
    r = await admin.post(f"{url}/action", json={"os-reset_status": {"status": "bogus"}})
    assert_fault(r, 400, "badRequest")
    r = await admin.post(f"{url}/action", json={"os-reset_status": {"status": "error"}})
    assert r.status_code == 202
    r = await admin.post(f"{url}/restore", json={"restore": {}})
    assert_fault(r, 400, "badRequest")

    # A backup being created cannot be deleted unless forced.
    svc = _plugin(admin).svc

    async def _creating(s: Any) -> None:
        row = await s.get(m.Backup, backup["id"])
        row.status = "creating"

    await svc.tx(_creating)
    assert_fault(await admin.delete(url), 400, "badRequest")
    r = await admin.post(f"{url}/action", json={"os-force_delete": {}})
    assert r.status_code == 202, r.text
    assert await settle_backup(admin, backup["id"]) == {}


async def test_backend_failure_marks_error(admin: httpx.AsyncClient) -> None:
    backend = _plugin(admin).svc.backend
    vol = await create_volume(admin)
    backend.fail_next = "export_image"
    backup = await _backup(admin, vol["id"])
    assert backup["status"] == "error"
    assert "export_image failed" in backup["fail_reason"]
    assert (await _volume(admin, vol["id"]))["status"] == "available"
    # A failed restore: the volume goes to error_restoring, the backup stays usable.
    backend.data[vol["id"]] = b"good"
    good = await _backup(admin, vol["id"])
    backend.fail_next = "import_image"
    r = await admin.post(
        f"{BACKUPS}/{good['id']}/restore", json={"restore": {"volume_id": vol["id"]}}
    )
    assert r.status_code == 202
    after = await settle_backup(admin, good["id"])
    assert after["status"] == "available" and "import_image failed" in after["fail_reason"]
    assert (await _volume(admin, vol["id"]))["status"] == "error_restoring"


async def test_snapshot_backup(admin: httpx.AsyncClient) -> None:
    backend = _plugin(admin).svc.backend
    vol = await create_volume(admin)
    backend.data[vol["id"]] = b"at snapshot time"
    r = await admin.post(f"{V3}/snapshots", json={"snapshot": {"volume_id": vol["id"]}})
    assert r.status_code == 202, r.text
    snap_id = r.json()["snapshot"]["id"]
    for _ in range(100):
        await _plugin(admin).agent.drain()
        r = await admin.get(f"{V3}/snapshots/{snap_id}")
        if r.json()["snapshot"]["status"] == "available":
            break
        await asyncio.sleep(0)
    assert r.json()["snapshot"]["status"] == "available"
    backend.data[vol["id"]] = b"later"
    backup = await _backup(admin, vol["id"], snapshot_id=snap_id)
    assert backup["status"] == "available" and backup["snapshot_id"] == snap_id
    r = await admin.get(f"{V3}/snapshots/{snap_id}")
    assert r.json()["snapshot"]["status"] == "available"
    # The temporary volume the snapshot was read through is gone.
    assert backup["id"] not in backend.volumes
    target = await create_volume(admin)
    r = await admin.post(
        f"{BACKUPS}/{backup['id']}/restore", json={"restore": {"volume_id": target["id"]}}
    )
    await settle_backup(admin, backup["id"])
    assert backend.data[target["id"]] == b"at snapshot time"


def test_openstacksdk_drives_backups(settings: Settings) -> None:
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
        try:
            bs = conn.block_storage
            vol = bs.create_volume(size=1, name="sdk-src")
            vol = bs.wait_for_status(vol, "available", interval=0.05, wait=60)
            backup = bs.create_backup(volume_id=vol.id, name="sdk-backup")
            backup = bs.wait_for_status(backup, "available", interval=0.05, wait=60)
            assert backup.name == "sdk-backup" and backup.volume_id == vol.id
            assert backup.size == 1 and backup.is_incremental is False
            assert [b.id for b in bs.backups(name="sdk-backup")] == [backup.id]
            restored = bs.restore_backup(backup, name="sdk-restored")
            new = bs.wait_for_status(
                bs.get_volume(restored["volume_id"]), "available", interval=0.05, wait=60
            )
            assert new.name == "sdk-restored"
            bs.wait_for_status(backup, "available", interval=0.05, wait=60)
            bs.delete_backup(backup)
            bs.wait_for_delete(backup, interval=0.05, wait=60)
        finally:
            conn.close()
