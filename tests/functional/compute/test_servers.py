"""Servers through the Nova API on the fake driver: life cycle, actions, views, bad input."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.support.identity import project_member
from tests.support.servers import (
    V21,
    action,
    assert_nova_fault,
    boot,
    boot_image,
    create_server,
    mv,
    show,
    wait_gone,
    wait_status,
)


@pytest.fixture
async def image_id(admin: httpx.AsyncClient, tmp_path: Path) -> str:
    """A public bootable image."""
    return await boot_image(admin, tmp_path)


async def test_boot_reaches_active_and_shows_novas_fields(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    r = await create_server(admin, image_id, metadata={"k": "v"}, version="2.1")
    assert r.status_code == 202, r.text
    created = r.json()["server"]
    assert r.headers["location"].endswith(f"/servers/{created['id']}")
    assert created["adminPass"] and created["OS-DCF:diskConfig"] == "MANUAL"
    server = await wait_status(admin, created["id"], "ACTIVE")
    assert server["OS-EXT-STS:vm_state"] == "active"
    assert server["OS-EXT-STS:power_state"] == 1
    assert server["metadata"] == {"k": "v"}
    assert server["image"]["id"] == image_id
    assert server["flavor"]["id"] == "100"
    assert server["hostId"] and server["OS-EXT-SRV-ATTR:host"]
    assert server["OS-SRV-USG:launched_at"]
    latest = await show(admin, created["id"], version="2.96")
    assert latest["flavor"]["original_name"] == "s1.nano"
    assert latest["tags"] == [] and latest["locked"] is False
    assert "pinned_availability_zone" in latest
    r = await admin.get(f"{V21}/servers/{created['id']}", headers=mv("2.96"))
    assert r.headers["openstack-api-version"] == "compute 2.96"


async def test_list_detail_filters_and_pagination(admin: httpx.AsyncClient, image_id: str) -> None:
    ids = [await boot(admin, image_id, name=f"page-{n}") for n in range(5)]
    for sid in ids:
        await wait_status(admin, sid, "ACTIVE")
    r = await admin.get(f"{V21}/servers", params={"name": "^page-", "limit": 2})
    assert r.status_code == 200, r.text
    first = r.json()
    assert len(first["servers"]) == 2 and first["servers_links"][0]["rel"] == "next"
    seen = [s["id"] for s in first["servers"]]
    marker = seen[-1]
    while True:
        r = await admin.get(
            f"{V21}/servers", params={"name": "^page-", "limit": 2, "marker": marker}
        )
        page = r.json()["servers"]
        seen += [s["id"] for s in page]
        if len(page) < 2:
            break
        marker = page[-1]["id"]
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    r = await admin.get(f"{V21}/servers/detail", params={"status": "ACTIVE", "name": "page-3"})
    assert [s["id"] for s in r.json()["servers"]] == [ids[3]]
    r = await admin.get(f"{V21}/servers", params={"marker": "not-a-server"})
    assert_nova_fault(r, 400, "badRequest")


async def test_actions_walk_the_state_machine(admin: httpx.AsyncClient, image_id: str) -> None:
    sid = await boot(admin, image_id)
    await wait_status(admin, sid, "ACTIVE")
    for body, status in (
        ({"os-stop": None}, "SHUTOFF"),
        ({"os-start": None}, "ACTIVE"),
        ({"reboot": {"type": "HARD"}}, "ACTIVE"),
        ({"reboot": {"type": "SOFT"}}, "ACTIVE"),
        ({"pause": None}, "PAUSED"),
        ({"unpause": None}, "ACTIVE"),
        ({"suspend": None}, "SUSPENDED"),
        ({"resume": None}, "ACTIVE"),
        ({"rescue": {}}, "RESCUE"),
        ({"unrescue": None}, "ACTIVE"),
        ({"rebuild": {"imageRef": image_id, "name": "rebuilt"}}, "ACTIVE"),
        ({"resize": {"flavorRef": "1"}}, "VERIFY_RESIZE"),
        ({"confirmResize": None}, "ACTIVE"),
        ({"resize": {"flavorRef": "2"}}, "VERIFY_RESIZE"),
        ({"revertResize": None}, "ACTIVE"),
    ):
        r = await action(admin, sid, body)
        assert r.status_code in (200, 202, 204), (body, r.text)
        server = await wait_status(admin, sid, status)
    assert server["name"] == "rebuilt"
    assert server["flavor"]["id"] == "1"
    r = await admin.get(f"{V21}/servers/{sid}/os-instance-actions")
    names = [a["action"] for a in r.json()["instanceActions"]]
    assert names[0] == "revertResize" and names[-1] == "create"
    # Pausing a stopped server is refused with Nova's conflict.
    await action(admin, sid, {"os-stop": None})
    await wait_status(admin, sid, "SHUTOFF")
    assert_nova_fault(await action(admin, sid, {"pause": None}), 409, "conflictingRequest")


async def test_console_lock_snapshot_and_delete(admin: httpx.AsyncClient, image_id: str) -> None:
    sid = await boot(admin, image_id)
    await wait_status(admin, sid, "ACTIVE")
    r = await action(admin, sid, {"os-getConsoleOutput": {"length": 5}})
    assert r.status_code == 200 and "STACKLING-GUEST-READY" in r.json()["output"], r.text
    r = await action(admin, sid, {"createImage": {"name": "snap"}}, version="2.45")
    assert r.status_code == 202, r.text
    snap = r.json()["image_id"]
    await wait_status(admin, sid, "ACTIVE")
    r = await admin.get(f"/image/v2/images/{snap}")
    assert r.json()["status"] == "active" and r.json()["image_type"] == "snapshot"
    r = await action(admin, sid, {"lock": {"locked_reason": "hands off"}}, version="2.73")
    assert r.status_code == 202
    assert (await show(admin, sid, version="2.73"))["locked_reason"] == "hands off"
    r = await admin.delete(f"{V21}/servers/{sid}")
    assert r.status_code == 204
    await wait_gone(admin, sid)


async def test_bad_input_gets_novas_faults(admin: httpx.AsyncClient, image_id: str) -> None:
    assert_nova_fault(await create_server(admin, image_id, flavorRef="nope"), 400, "badRequest")
    unknown = "6d3a4b8e-0000-4000-8000-000000000000"
    assert_nova_fault(await create_server(admin, unknown), 400, "badRequest")
    assert_nova_fault(await create_server(admin, image_id, name="x" * 256), 400)
    big = base64.b64encode(b"x" * 65536).decode()
    assert_nova_fault(await create_server(admin, image_id, user_data=big), 400)
    assert_nova_fault(await create_server(admin, image_id, version="2.57", personality=[]), 400)
    r = await admin.get(f"{V21}/servers", headers=mv("2.999"))
    assert_nova_fault(r, 406)
    r = await admin.post(
        f"{V21}/servers", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_nova_fault(r, 400)
    r = await admin.get(f"{V21}/servers/{unknown}")
    assert_nova_fault(r, 404, "itemNotFound")


async def test_projects_never_see_each_others_servers(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    _project, _user, token = await project_member(admin)
    sid = await boot(admin, image_id)
    await wait_status(admin, sid, "ACTIVE")
    hdr = {"X-Auth-Token": token}
    assert_nova_fault(await admin.get(f"{V21}/servers/{sid}", headers=hdr), 404)
    assert_nova_fault(await admin.delete(f"{V21}/servers/{sid}", headers=hdr), 404)
    assert_nova_fault(await action(admin, sid, {"os-stop": None}, token=token), 404)
    r = await admin.get(f"{V21}/servers", headers=hdr)
    assert sid not in [s["id"] for s in r.json()["servers"]]
    r = await admin.get(f"{V21}/servers", params={"all_tenants": "1"}, headers=hdr)
    assert_nova_fault(r, 403)
    mine = await boot(admin, image_id, token=token)
    r = await admin.get(f"{V21}/servers", params={"all_tenants": "1"})
    assert {sid, mine} <= {s["id"] for s in r.json()["servers"]}


async def test_shelve_offloads_and_unshelve_boots_from_the_snapshot(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    sid = await boot(admin, image_id, name="shelf")
    await wait_status(admin, sid, "ACTIVE")
    assert (await action(admin, sid, {"shelve": None})).status_code == 202
    server = await wait_status(admin, sid, "SHELVED_OFFLOADED")
    assert server["OS-EXT-SRV-ATTR:host"] is None
    r = await admin.get("/image/v2/images", params={"name": "shelf-shelved"})
    shelved = r.json()["images"]
    assert len(shelved) == 1 and shelved[0]["status"] == "active"
    r = await admin.get(f"/placement/allocations/{sid}")
    assert r.json()["allocations"] == {}
    assert_nova_fault(await action(admin, sid, {"shelve": None}), 409)
    assert (await action(admin, sid, {"unshelve": None})).status_code == 202
    server = await wait_status(admin, sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"]
    r = await admin.get(f"/image/v2/images/{shelved[0]['id']}")
    assert r.status_code == 404
    r = await admin.get(f"/placement/allocations/{sid}")
    assert r.json()["allocations"], r.text


async def test_backups_rotate(admin: httpx.AsyncClient, image_id: str) -> None:
    sid = await boot(admin, image_id)
    await wait_status(admin, sid, "ACTIVE")
    made = []
    for n in range(3):
        r = await action(
            admin,
            sid,
            {"createBackup": {"name": f"b{n}", "backup_type": "daily", "rotation": 2}},
            version="2.45",
        )
        assert r.status_code == 202, r.text
        made.append(r.json()["image_id"])
        await wait_status(admin, sid, "ACTIVE")
    r = await admin.get("/image/v2/images", params={"instance_uuid": sid, "image_type": "backup"})
    kept = {i["id"] for i in r.json()["images"]}
    assert len(kept) == 2 and made[2] in kept, (made, kept)
    bad = {"createBackup": {"name": "x", "backup_type": "daily", "rotation": -1}}
    assert_nova_fault(await action(admin, sid, bad), 400)
