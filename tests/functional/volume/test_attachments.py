"""Volume attachments: the 3.27+ attachments API, the legacy attach actions, races, isolation."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.functional.volume.support import V3, assert_fault, auth, create_volume
from tests.support.identity import project_member

SERVER = "2b8b4f0e-8d9c-4c1e-9a55-0b7e1a2c3d4e"
OTHER_SERVER = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
CONNECTOR = {"host": "compute-1", "initiator": None, "platform": "x86_64", "os_type": "linux"}


def _mv(version: str = "3.54", token: str | None = None) -> dict[str, str]:
    return auth(token, version)


async def _create(
    c: httpx.AsyncClient,
    volume_id: str,
    server: str = SERVER,
    token: str | None = None,
    **more: Any,
) -> httpx.Response:
    body = {"attachment": {"volume_uuid": volume_id, "instance_uuid": server, **more}}
    return await c.post(f"{V3}/attachments", json=body, headers=_mv(token=token))


async def _volume(c: httpx.AsyncClient, volume_id: str, token: str | None = None) -> dict[str, Any]:
    r = await c.get(f"{V3}/volumes/{volume_id}", headers=auth(token))
    assert r.status_code == 200, r.text
    return dict(r.json()["volume"])


async def _action(
    c: httpx.AsyncClient, volume_id: str, body: dict[str, Any], token: str | None = None
) -> httpx.Response:
    return await c.post(f"{V3}/volumes/{volume_id}/action", json=body, headers=auth(token))


async def test_attach_flow_reserve_connect_complete_delete(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    r = await _create(admin, vol["id"])
    assert r.status_code == 200, r.text
    att = r.json()["attachment"]
    assert att["status"] == "reserved" and att["instance"] == SERVER
    assert att["volume_id"] == vol["id"] and att["attach_mode"] == "rw"
    assert att["connection_info"] == {}
    assert (await _volume(admin, vol["id"]))["status"] == "reserved"
    # Deleting a volume someone holds is refused.
    r = await admin.delete(f"{V3}/volumes/{vol['id']}")
    assert_fault(r, 400, "badRequest")

    r = await admin.put(
        f"{V3}/attachments/{att['id']}",
        json={"attachment": {"connector": {**CONNECTOR, "mountpoint": "/dev/vdb"}}},
        headers=_mv(),
    )
    assert r.status_code == 200, r.text
    shown = r.json()["attachment"]
    info = shown["connection_info"]
    assert shown["status"] == "attaching"
    assert info["driver_volume_type"] == "fake"
    assert info["data"]["device_path"] == f"/dev/fake/{vol['id']}"
    assert info["data"]["access_mode"] == "rw" and info["data"]["qos_specs"] is None
    assert info["attachment_id"] == att["id"] and info["serial"] == vol["id"]
    assert (await _volume(admin, vol["id"]))["status"] == "attaching"

    r = await admin.post(
        f"{V3}/attachments/{att['id']}/action", json={"os-complete": None}, headers=_mv()
    )
    assert r.status_code == 204, r.text
    done = await _volume(admin, vol["id"])
    assert done["status"] == "in-use"
    [entry] = done["attachments"]
    assert entry["server_id"] == SERVER and entry["attachment_id"] == att["id"]
    assert entry["device"] == "/dev/vdb" and entry["host_name"] == "compute-1"
    assert entry["volume_id"] == entry["id"] == vol["id"] and entry["attached_at"]
    r = await admin.get(f"{V3}/attachments/{att['id']}", headers=_mv())
    assert r.json()["attachment"]["status"] == "attached"
    assert r.json()["attachment"]["attached_at"]

    r = await admin.get(f"{V3}/attachments?volume_id={vol['id']}", headers=_mv())
    assert [a["id"] for a in r.json()["attachments"]] == [att["id"]]
    assert set(r.json()["attachments"][0]) == {"id", "status", "instance", "volume_id"}
    r = await admin.get(f"{V3}/attachments/detail?instance_id={OTHER_SERVER}", headers=_mv())
    assert r.json()["attachments"] == []
    r = await admin.get(f"{V3}/attachments/detail?status=attached", headers=_mv())
    assert att["id"] in [a["id"] for a in r.json()["attachments"]]

    r = await admin.delete(f"{V3}/attachments/{att['id']}", headers=_mv())
    assert r.status_code == 200, r.text
    after = await _volume(admin, vol["id"])
    assert after["status"] == "available" and after["attachments"] == []
    r = await admin.get(f"{V3}/attachments/{att['id']}", headers=_mv())
    assert_fault(r, 404, "itemNotFound")


async def test_attachments_api_needs_its_microversion(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    body = {"attachment": {"volume_uuid": vol["id"], "instance_uuid": SERVER}}
    r = await admin.post(f"{V3}/attachments", json=body, headers=auth(None, "3.26"))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.get(f"{V3}/attachments", headers=auth(None, "3.0"))
    assert_fault(r, 404, "itemNotFound")
    assert (await _volume(admin, vol["id"]))["status"] == "available"
    r = await admin.post(f"{V3}/attachments", json={"attachment": {}}, headers=_mv())
    assert_fault(r, 400, "badRequest")
    r = await _create(admin, "0c1d2e3f-0000-4000-8000-000000000000")
    assert_fault(r, 404, "itemNotFound")


async def test_concurrent_creates_one_wins(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    answers = await asyncio.gather(*(_create(admin, vol["id"]) for _ in range(10)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [400] * 9, [r.text for r in answers]
    for r in answers:
        if r.status_code == 400:
            assert "Invalid volume" in assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{V3}/attachments?volume_id={vol['id']}", headers=_mv())
    assert len(r.json()["attachments"]) == 1


async def test_multiattach_volume_takes_two(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin, multiattach=True)
    first = await _create(admin, vol["id"], connector=CONNECTOR)
    assert first.status_code == 200, first.text
    assert first.json()["attachment"]["status"] == "attaching"
    att1 = first.json()["attachment"]["id"]
    r = await admin.post(
        f"{V3}/attachments/{att1}/action", json={"os-complete": None}, headers=_mv()
    )
    assert r.status_code == 204
    second = await _create(admin, vol["id"], OTHER_SERVER)
    assert second.status_code == 200, second.text
    assert (await _volume(admin, vol["id"]))["status"] == "in-use"
    # Not multiattach: a second create is refused.
    plain = await create_volume(admin)
    assert (await _create(admin, plain["id"])).status_code == 200
    r = await _create(admin, plain["id"], OTHER_SERVER)
    assert "status must be available" in assert_fault(r, 400, "badRequest")
    # One of two gone: still in-use; both gone: available.
    r = await admin.delete(f"{V3}/attachments/{second.json()['attachment']['id']}", headers=_mv())
    assert r.status_code == 200
    assert (await _volume(admin, vol["id"]))["status"] == "in-use"
    await admin.delete(f"{V3}/attachments/{att1}", headers=_mv())
    assert (await _volume(admin, vol["id"]))["status"] == "available"


async def test_tenant_isolation(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    vol = await create_volume(admin, alice)
    r = await _create(admin, vol["id"], token=bob)
    assert_fault(r, 404, "itemNotFound")
    r = await _create(admin, vol["id"], token=alice)
    assert r.status_code == 200, r.text
    att = r.json()["attachment"]["id"]
    r = await admin.get(f"{V3}/attachments", headers=_mv(token=bob))
    assert r.json()["attachments"] == []
    r = await admin.get(f"{V3}/attachments/{att}", headers=_mv(token=bob))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.delete(f"{V3}/attachments/{att}", headers=_mv(token=bob))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.get(f"{V3}/attachments", headers=_mv(token=alice))
    assert [a["id"] for a in r.json()["attachments"]] == [att]
    # The admin sees it only when asking for all projects.
    r = await admin.get(f"{V3}/attachments?all_tenants=1", headers=_mv())
    assert att in [a["id"] for a in r.json()["attachments"]]


async def test_legacy_actions(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    vid = vol["id"]
    assert (await _action(admin, vid, {"os-reserve": None})).status_code == 202
    assert (await _volume(admin, vid))["status"] == "attaching"
    assert_fault(await _action(admin, vid, {"os-reserve": None}), 400, "badRequest")
    assert (await _action(admin, vid, {"os-unreserve": None})).status_code == 202
    assert (await _volume(admin, vid))["status"] == "available"

    r = await _action(admin, vid, {"os-initialize_connection": {"connector": CONNECTOR}})
    assert r.status_code == 200, r.text
    info = r.json()["connection_info"]
    assert info["driver_volume_type"] == "fake" and info["data"]["access_mode"] == "rw"
    assert_fault(await _action(admin, vid, {"os-initialize_connection": {}}), 400, "badRequest")

    r = await _action(
        admin, vid, {"os-attach": {"instance_uuid": SERVER, "mountpoint": "/dev/vdc", "mode": "rw"}}
    )
    assert r.status_code == 202, r.text
    shown = await _volume(admin, vid)
    assert shown["status"] == "in-use"
    assert shown["attachments"][0]["device"] == "/dev/vdc"
    assert_fault(
        await _action(admin, vid, {"os-update_readonly_flag": {"readonly": True}}),
        400,
        "badRequest",
    )
    assert (await _action(admin, vid, {"os-begin_detaching": None})).status_code == 202
    assert (await _volume(admin, vid))["status"] == "detaching"
    assert (await _action(admin, vid, {"os-roll_detaching": None})).status_code == 202
    assert (await _volume(admin, vid))["status"] == "in-use"
    r = await _action(admin, vid, {"os-terminate_connection": {"connector": CONNECTOR}})
    assert r.status_code == 202
    r = await _action(admin, vid, {"os-detach": {"attachment_id": shown["attachments"][0]["id"]}})
    assert_fault(r, 404, "itemNotFound")
    attachment_id = shown["attachments"][0]["attachment_id"]
    r = await _action(admin, vid, {"os-detach": {"attachment_id": attachment_id}})
    assert r.status_code == 202, r.text
    after = await _volume(admin, vid)
    assert after["status"] == "available" and after["attachments"] == []
    assert_fault(await _action(admin, vid, {"os-begin_detaching": None}), 400, "badRequest")


async def test_readonly_flag_gives_ro_mode(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    r = await _action(admin, vol["id"], {"os-update_readonly_flag": {"readonly": "true"}})
    assert r.status_code == 202, r.text
    r = await _action(admin, vol["id"], {"os-update_readonly_flag": {"readonly": "maybe"}})
    assert_fault(r, 400, "badRequest")
    # Shown among the metadata, as Cinder shows its admin metadata.
    assert (await _volume(admin, vol["id"]))["metadata"] == {"readonly": "True"}
    r = await _create(admin, vol["id"], connector=CONNECTOR)
    assert r.status_code == 200, r.text
    att = r.json()["attachment"]
    assert att["attach_mode"] == "ro"
    assert att["connection_info"]["data"]["access_mode"] == "ro"
    r = await _action(admin, vol["id"], {"os-attach": {"instance_uuid": SERVER, "mode": "rw"}})
    assert_fault(r, 400, "badRequest")


async def test_multiattach_type_makes_multiattach_volumes(admin: httpx.AsyncClient) -> None:
    r = await admin.post(f"{V3}/types", json={"volume_type": {"name": "shared"}})
    assert r.status_code == 200, r.text
    type_id = r.json()["volume_type"]["id"]
    r = await admin.post(
        f"{V3}/types/{type_id}/extra_specs", json={"extra_specs": {"multiattach": "<is> True"}}
    )
    assert r.status_code == 200, r.text
    vol = await create_volume(admin, volume_type="shared")
    assert vol["multiattach"] is True
    assert (await _create(admin, vol["id"])).status_code == 200
    assert (await _create(admin, vol["id"], OTHER_SERVER)).status_code == 200
    plain = await create_volume(admin)
    assert plain["multiattach"] is False
