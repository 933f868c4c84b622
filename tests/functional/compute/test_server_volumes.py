"""os-volume_attachments: volumes attached to and detached from servers, with Nova's answers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackling.compute.drivers.base import VolumeSpec
from stackling.settings import Settings
from tests.conftest import issue_token, make_settings, running_client
from tests.functional.volume.support import V3, create_volume, settle
from tests.support.identity import project_member
from tests.support.servers import (
    V21,
    action,
    assert_nova_fault,
    boot,
    boot_image,
    mv,
    show,
    wait_gone,
    wait_status,
)

MISSING = "8d3b6b5e-6c0e-4b84-9a51-5d7e8c0f3b11"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A single-host cloud with compute and volume (fake hypervisor, fake volume backend)."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "placement", "image", "compute", "volume"],
        volume={"backend": "fake"},
    )


@pytest.fixture
async def image_id(admin: httpx.AsyncClient, tmp_path: Path) -> str:
    """A public bootable image."""
    return await boot_image(admin, tmp_path)


def _url(server_id: str, volume_id: str | None = None) -> str:
    base = f"{V21}/servers/{server_id}/os-volume_attachments"
    return base if volume_id is None else f"{base}/{volume_id}"


async def _attach(
    c: httpx.AsyncClient,
    server_id: str,
    volume_id: str,
    version: str = "2.1",
    token: str | None = None,
    **fields: Any,
) -> httpx.Response:
    body = {"volumeAttachment": {"volumeId": volume_id, **fields}}
    return await c.post(_url(server_id), json=body, headers=mv(version, token))


async def _volume(c: httpx.AsyncClient, volume_id: str) -> dict[str, Any]:
    r = await c.get(f"{V3}/volumes/{volume_id}")
    assert r.status_code == 200, r.text
    return dict(r.json()["volume"])


def _guest_volumes(c: httpx.AsyncClient, server_id: str) -> tuple[VolumeSpec, ...]:
    """The disks the fake hypervisor's guest has."""
    compute = c._transport.app.state.runtime.service("compute")  # type: ignore[attr-defined]
    driver = compute.agents[0].driver
    return tuple(driver._guest(server_id).spec.volumes)


async def _server(c: httpx.AsyncClient, image_id: str) -> str:
    sid = await boot(c, image_id)
    await wait_status(c, sid, "ACTIVE")
    return sid


async def test_attach_list_show_detach(admin: httpx.AsyncClient, image_id: str) -> None:
    sid = await _server(admin, image_id)
    vol = await create_volume(admin)
    r = await _attach(admin, sid, vol["id"], device="/dev/vdz")
    assert r.status_code == 200, r.text
    att = r.json()["volumeAttachment"]
    assert att == {"device": "/dev/vdb", "id": vol["id"], "serverId": sid, "volumeId": vol["id"]}

    shown = await _volume(admin, vol["id"])
    assert shown["status"] == "in-use"
    [entry] = shown["attachments"]
    assert entry["server_id"] == sid and entry["device"] == "/dev/vdb"
    [disk] = _guest_volumes(admin, sid)
    assert disk.volume_id == vol["id"] and disk.target_dev == "vdb"
    assert disk.kind == "fake" and disk.path == f"/dev/fake/{vol['id']}"
    assert disk.readonly is False

    server = await show(admin, sid, version="2.3")
    assert server["os-extended-volumes:volumes_attached"] == [
        {"id": vol["id"], "delete_on_termination": False}
    ]
    r = await admin.get(_url(sid), headers=mv("2.89"))
    [listed] = r.json()["volumeAttachments"]
    assert "id" not in listed and listed["attachment_id"] == entry["attachment_id"]
    assert listed["bdm_uuid"] and listed["tag"] is None
    assert listed["delete_on_termination"] is False
    r = await admin.get(_url(sid, vol["id"]))
    assert r.status_code == 200 and r.json()["volumeAttachment"]["device"] == "/dev/vdb"

    # A second volume takes the next device; the same one again is refused.
    second = await create_volume(admin)
    r = await _attach(
        admin, sid, second["id"], version="2.79", tag="data", delete_on_termination=True
    )
    assert r.status_code == 200, r.text
    body = r.json()["volumeAttachment"]
    assert body["device"] == "/dev/vdc" and body["tag"] == "data"
    assert body["delete_on_termination"] is True
    r = await _attach(admin, sid, vol["id"])
    assert "already attached" in assert_nova_fault(r, 400, "badRequest")["message"]
    assert len(_guest_volumes(admin, sid)) == 2

    r = await admin.delete(_url(sid, vol["id"]))
    assert r.status_code == 202, r.text
    after = await _volume(admin, vol["id"])
    assert after["status"] == "available" and after["attachments"] == []
    assert [d.volume_id for d in _guest_volumes(admin, sid)] == [second["id"]]
    r = await admin.get(_url(sid, vol["id"]))
    assert_nova_fault(r, 404, "itemNotFound")
    r = await admin.delete(_url(sid, vol["id"]))
    assert_nova_fault(r, 404, "itemNotFound")

    # A hard reboot rebuilds the domain with the volume still attached.
    r = await action(admin, sid, {"reboot": {"type": "HARD"}})
    assert r.status_code == 202, r.text
    await wait_status(admin, sid, "ACTIVE")
    assert [d.volume_id for d in _guest_volumes(admin, sid)] == [second["id"]]


async def test_refusals(admin: httpx.AsyncClient, image_id: str) -> None:
    sid = await _server(admin, image_id)
    r = await _attach(admin, sid, MISSING)
    assert assert_nova_fault(r, 404, "itemNotFound")["message"] == (
        f"Volume {MISSING} could not be found."
    )
    r = await _attach(admin, sid, "not-a-uuid")
    assert_nova_fault(r, 400, "badRequest")
    vol = await create_volume(admin)
    r = await _attach(admin, sid, vol["id"], device="sdb!")
    assert_nova_fault(r, 400, "badRequest")
    r = await _attach(admin, sid, vol["id"], tag="t")
    assert_nova_fault(r, 400, "badRequest")
    r = await _attach(admin, MISSING, vol["id"])
    assert_nova_fault(r, 404, "itemNotFound")
    r = await admin.post(_url(sid), json={"volumeAttachment": {}})
    assert_nova_fault(r, 400, "badRequest")

    # A volume that is not available is refused, and stays as it was.
    other = await _server(admin, image_id)
    assert (await _attach(admin, other, vol["id"])).status_code == 200
    r = await _attach(admin, sid, vol["id"])
    assert "Invalid volume" in assert_nova_fault(r, 400, "badRequest")["message"]
    assert (await _volume(admin, vol["id"]))["attachments"][0]["server_id"] == other

    # Locked: 409 for its owner.
    _, _, token = await project_member(admin)
    mine = await boot(admin, image_id, token)
    await wait_status(admin, mine, "ACTIVE", token)
    own_vol = await create_volume(admin, token)
    assert (await action(admin, mine, {"lock": None}, token)).status_code == 202
    r = await _attach(admin, mine, own_vol["id"], token=token)
    assert_nova_fault(r, 409, "conflictingRequest")
    assert (await action(admin, mine, {"unlock": None}, token)).status_code == 202
    # Another project's volume is not found.
    r = await _attach(admin, mine, vol["id"], token=token)
    assert_nova_fault(r, 404, "itemNotFound")
    r = await _attach(admin, mine, own_vol["id"], token=token)
    assert r.status_code == 200, r.text

    # The host failing to plug the disk leaves the volume available and no mapping.
    compute = admin._transport.app.state.runtime.service("compute")  # type: ignore[attr-defined]
    driver = compute.agents[0].driver
    spare = await create_volume(admin)

    async def broken(uuid: str, volume: VolumeSpec) -> None:
        from stackling.compute.drivers.base import DriverError

        raise DriverError("the hypervisor refused the disk")

    driver.attach_volume = broken
    r = await _attach(admin, sid, spare["id"])
    assert r.status_code == 500, r.text
    assert (await _volume(admin, spare["id"]))["status"] == "available"
    r = await admin.get(_url(sid))
    assert r.json()["volumeAttachments"] == []
    r = await admin.get(f"{V21}/servers/{sid}/os-instance-actions", headers=mv("2.1"))
    assert "attach_volume" in [a["action"] for a in r.json()["instanceActions"]]


async def test_two_servers_race_for_one_volume(admin: httpx.AsyncClient, image_id: str) -> None:
    first, second = await _server(admin, image_id), await _server(admin, image_id)
    vol = await create_volume(admin)
    answers = await asyncio.gather(
        _attach(admin, first, vol["id"]), _attach(admin, second, vol["id"])
    )
    codes = sorted(r.status_code for r in answers)
    assert codes[0] == 200 and codes[1] in (400, 409), [r.text for r in answers]
    winner = first if answers[0].status_code == 200 else second
    shown = await _volume(admin, vol["id"])
    assert shown["status"] == "in-use"
    assert [a["server_id"] for a in shown["attachments"]] == [winner]
    loser = second if winner == first else first
    r = await admin.get(_url(loser))
    assert r.json()["volumeAttachments"] == []


async def test_server_delete_frees_or_deletes_volumes(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    sid = await _server(admin, image_id)
    kept, dropped = await create_volume(admin), await create_volume(admin)
    assert (await _attach(admin, sid, kept["id"])).status_code == 200
    r = await _attach(admin, sid, dropped["id"], version="2.79", delete_on_termination=True)
    assert r.status_code == 200, r.text
    r = await admin.delete(f"{V21}/servers/{sid}")
    assert r.status_code == 204, r.text
    await wait_gone(admin, sid)
    left = await settle(admin, kept["id"])
    assert left["status"] == "available" and left["attachments"] == []
    assert await settle(admin, dropped["id"]) == {}


async def _extend(c: httpx.AsyncClient, volume_id: str, size: int, version: str) -> httpx.Response:
    headers = {"OpenStack-API-Version": f"volume {version}"}
    body = {"os-extend": {"new_size": size}}
    return await c.post(f"{V3}/volumes/{volume_id}/action", json=body, headers=headers)


async def _settled_in_use(c: httpx.AsyncClient, volume_id: str) -> dict[str, Any]:
    agent = c._transport.app.state.runtime.service("volume").agent  # type: ignore[attr-defined]
    for _ in range(200):
        await agent.drain()
        vol = await _volume(c, volume_id)
        if vol["status"] != "extending":
            return vol
        await asyncio.sleep(0)
    raise AssertionError(f"volume {volume_id} is still extending")


async def test_online_extend_grows_the_guest_disk(admin: httpx.AsyncClient, image_id: str) -> None:
    sid = await _server(admin, image_id)
    vol = await create_volume(admin)
    assert (await _attach(admin, sid, vol["id"])).status_code == 200
    compute = admin._transport.app.state.runtime.service("compute")  # type: ignore[attr-defined]
    driver = compute.agents[0].driver
    grown: list[tuple[str, str, int]] = []

    async def extend_volume(uuid: str, volume: VolumeSpec, new_size_bytes: int) -> None:
        grown.append((uuid, volume.volume_id, new_size_bytes))

    driver.extend_volume = extend_volume
    r = await _extend(admin, vol["id"], 3, "3.41")
    assert r.status_code == 400, r.text
    assert (await _volume(admin, vol["id"]))["size"] == 1
    r = await _extend(admin, vol["id"], 3, "3.42")
    assert r.status_code == 202, r.text
    done = await _settled_in_use(admin, vol["id"])
    assert done["status"] == "in-use" and done["size"] == 3
    assert grown == [(sid, vol["id"], 3 * 1024**3)]

    async def refuse(uuid: str, volume: VolumeSpec, new_size_bytes: int) -> None:
        from stackling.compute.drivers.base import DriverError

        raise DriverError("blockResize failed")

    driver.extend_volume = refuse
    r = await _extend(admin, vol["id"], 4, "3.42")
    assert r.status_code == 202, r.text
    failed = await _settled_in_use(admin, vol["id"])
    assert failed["status"] == "error_extending" and failed["size"] == 3


async def test_failed_detach_rolls_back(admin: httpx.AsyncClient, image_id: str) -> None:
    sid = await _server(admin, image_id)
    vol = await create_volume(admin)
    assert (await _attach(admin, sid, vol["id"])).status_code == 200
    compute = admin._transport.app.state.runtime.service("compute")  # type: ignore[attr-defined]
    driver = compute.agents[0].driver

    async def stuck(uuid: str, volume: VolumeSpec) -> None:
        from stackling.compute.drivers.base import DriverError

        raise DriverError("the guest did not release the disk")

    driver.detach_volume = stuck
    r = await admin.delete(_url(sid, vol["id"]))
    assert r.status_code == 202, r.text
    shown = await _volume(admin, vol["id"])
    assert shown["status"] == "in-use" and shown["attachments"][0]["server_id"] == sid
    r = await admin.get(_url(sid))
    assert [a["volumeId"] for a in r.json()["volumeAttachments"]] == [vol["id"]]
    r = await admin.get(f"{V21}/servers/{sid}/os-instance-actions", headers=mv("2.1"))
    detaches = [a for a in r.json()["instanceActions"] if a["action"] == "detach_volume"]
    assert detaches and detaches[0]["message"] == "Error"


async def test_multiattach_needs_2_60(admin: httpx.AsyncClient, image_id: str) -> None:
    first, second = await _server(admin, image_id), await _server(admin, image_id)
    vol = await create_volume(admin, multiattach=True)
    r = await _attach(admin, first, vol["id"])
    assert "2.60" in assert_nova_fault(r, 400, "badRequest")["message"]
    assert (await _volume(admin, vol["id"]))["status"] == "available"
    assert (await _attach(admin, first, vol["id"], version="2.60")).status_code == 200
    assert (await _attach(admin, second, vol["id"], version="2.60")).status_code == 200
    shown = await _volume(admin, vol["id"])
    assert shown["status"] == "in-use"
    assert sorted(a["server_id"] for a in shown["attachments"]) == sorted([first, second])
    assert (await admin.delete(_url(first, vol["id"]))).status_code == 202
    shown = await _volume(admin, vol["id"])
    assert shown["status"] == "in-use" and len(shown["attachments"]) == 1


async def test_without_a_volume_service(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "placement", "image", "compute"],
    )
    async with running_client(settings) as c:
        c.headers["X-Auth-Token"] = await issue_token(c)
        image = await boot_image(c, tmp_path)
        sid = await _server(c, image)
        r = await c.get(_url(sid))
        assert r.status_code == 200 and r.json() == {"volumeAttachments": []}
        r = await _attach(c, sid, MISSING)
        assert "block storage" in assert_nova_fault(r, 404, "itemNotFound")["message"]
        assert (await show(c, sid))["os-extended-volumes:volumes_attached"] == []


async def test_start_up_rolls_back_an_interrupted_attach(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    from sqlalchemy import select, update

    from stackling.compute import models as cm
    from stackling.compute.agent import volumes as host_volumes
    from stackling.volume import models as vm

    sid = await _server(admin, image_id)
    done, cut = await create_volume(admin), await create_volume(admin)
    assert (await _attach(admin, sid, done["id"])).status_code == 200
    assert (await _attach(admin, sid, cut["id"])).status_code == 200
    compute = admin._transport.app.state.runtime.service("compute")  # type: ignore[attr-defined]
    agent = compute.agents[0]

    # As if the host died between connecting and completing the second attach.
    async def _interrupt(s: Any) -> None:
        await s.execute(
            update(vm.Attachment)
            .where(vm.Attachment.volume_id == cut["id"])
            .values(attach_status="attaching")
        )
        await s.execute(
            update(vm.Volume).where(vm.Volume.id == cut["id"]).values(status="attaching")
        )

    await agent.svc.tx(_interrupt)
    async with agent.svc.db.session() as s:
        instance = await s.scalar(select(cm.Instance).where(cm.Instance.uuid == sid))
    await host_volumes.recover(agent, instance)

    assert (await _volume(admin, cut["id"]))["status"] == "available"
    assert (await _volume(admin, done["id"]))["status"] == "in-use"
    r = await admin.get(_url(sid))
    assert [a["volumeId"] for a in r.json()["volumeAttachments"]] == [done["id"]]
    assert [d.volume_id for d in _guest_volumes(admin, sid)] == [done["id"]]


async def test_update_delete_on_termination(admin: httpx.AsyncClient, image_id: str) -> None:
    sid = await _server(admin, image_id)
    vol = await create_volume(admin)
    assert (await _attach(admin, sid, vol["id"], version="2.70", tag="db")).status_code == 200
    body = {"volumeAttachment": {"volumeId": vol["id"], "delete_on_termination": True}}
    r = await admin.put(_url(sid, vol["id"]), json=body, headers=mv("2.84"))
    assert_nova_fault(r, 400, "badRequest")
    r = await admin.put(_url(sid, vol["id"]), json=body, headers=mv("2.85"))
    assert r.status_code == 202, r.text
    r = await admin.get(_url(sid, vol["id"]), headers=mv("2.85"))
    shown = r.json()["volumeAttachment"]
    assert shown["delete_on_termination"] is True and shown["tag"] == "db"
    server = await show(admin, sid, version="2.3")
    assert server["os-extended-volumes:volumes_attached"][0]["delete_on_termination"] is True
    swap = {"volumeAttachment": {"volumeId": MISSING}}
    r = await admin.put(_url(sid, vol["id"]), json=swap, headers=mv("2.85"))
    assert_nova_fault(r, 409, "conflictingRequest")
    r = await admin.put(
        _url(sid, MISSING), json={"volumeAttachment": {"volumeId": MISSING}}, headers=mv("2.85")
    )
    assert_nova_fault(r, 404, "itemNotFound")
