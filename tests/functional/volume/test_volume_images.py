"""Volumes and images: volumes made from images, volumes uploaded to images, image metadata.

The image service runs in the same process with its file store; the volume
backend is the fake one, which keeps each volume's bytes in memory, so what an
image holds can be compared with what the volume holds, both ways.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.settings import Settings
from stackling.volume import models as m
from stackling.volume.drivers.fake import FakeBackend
from tests.conftest import issue_token, make_settings, running_client
from tests.functional.volume.support import V3, assert_fault, auth, create_volume, settle
from tests.support.identity import project_member
from tests.support.image import V2, active_image, create_image, make_qcow2, show_image


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A cloud serving identity, image and volume, with the in-memory volume backend."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "image", "volume"],
        volume={"backend": "fake"},
    )


def _backend(c: httpx.AsyncClient) -> FakeBackend:
    backend = c._transport.app.state.runtime.service("volume").svc.backend  # type: ignore[attr-defined]
    assert isinstance(backend, FakeBackend)
    return backend


def _leftovers(tmp_path: Path) -> list[str]:
    """Scratch files of image transfers still in the volume directory."""
    root = tmp_path / "data" / "volume"
    return sorted(p.name for p in root.glob(".volume-*")) if root.exists() else []


async def _create(c: httpx.AsyncClient, token: str | None = None, **fields: Any) -> httpx.Response:
    return await c.post(
        f"{V3}/volumes", json={"volume": {"size": 1, **fields}}, headers=auth(token)
    )


async def _action(
    c: httpx.AsyncClient,
    volume_id: str,
    body: dict[str, Any],
    token: str | None = None,
    version: str | None = None,
) -> httpx.Response:
    return await c.post(f"{V3}/volumes/{volume_id}/action", json=body, headers=auth(token, version))


async def _wait_status(c: httpx.AsyncClient, volume_id: str, status: str) -> dict[str, Any]:
    """The volume once the agent is idle and it shows `status` (bounded)."""
    agent = c._transport.app.state.runtime.service("volume").agent  # type: ignore[attr-defined]
    vol: dict[str, Any] = {}
    for _ in range(200):
        await agent.drain()
        vol = (await c.get(f"{V3}/volumes/{volume_id}")).json()["volume"]
        if vol["status"] == status:
            return vol
        import asyncio

        await asyncio.sleep(0)
    raise AssertionError(f"volume {volume_id} stayed {vol.get('status')}, not {status}")


# -- volumes from images ------------------------------------------------------------------------


async def test_volume_from_image_holds_its_data_and_is_bootable(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    data = os.urandom(256 * 1024)
    image = await active_image(admin, data, name="base", hw_disk_bus="scsi", min_ram=64)
    r = await _create(admin, imageRef=image["id"], name="boot")
    assert r.status_code == 202, r.text
    created = r.json()["volume"]
    assert created["status"] == "creating" and created["bootable"] == "false"
    vol = await settle(admin, created["id"])
    assert vol["status"] == "available"
    assert vol["bootable"] == "true"
    meta = vol["volume_image_metadata"]
    assert meta["image_id"] == image["id"] and meta["image_name"] == "base"
    assert meta["disk_format"] == "raw" and meta["container_format"] == "bare"
    assert meta["size"] == str(len(data)) and meta["checksum"] == image["checksum"]
    assert meta["min_disk"] == "0" and meta["min_ram"] == "64"
    assert meta["hw_disk_bus"] == "scsi"
    backend = _backend(admin)
    assert backend.contents(vol["id"]) == data
    assert backend.imported[vol["id"]] == "raw"
    assert _leftovers(tmp_path) == []
    # A volume not made from an image shows no image metadata at all.
    plain = await create_volume(admin)
    assert "volume_image_metadata" not in plain and plain["bootable"] == "false"


async def test_image_id_and_links_are_accepted_as_imageref(admin: httpx.AsyncClient) -> None:
    image = await active_image(admin, b"abc" * 1000)
    r = await _create(admin, image_id=image["id"])
    assert r.status_code == 202, r.text
    assert (await settle(admin, r.json()["volume"]["id"]))["bootable"] == "true"
    r = await _create(admin, imageRef=f"http://glance.example/v2/images/{image['id']}")
    assert r.status_code == 202, r.text
    vol = await settle(admin, r.json()["volume"]["id"])
    assert vol["volume_image_metadata"]["image_id"] == image["id"]


async def test_qcow2_image_must_fit_by_virtual_size(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    qcow2 = make_qcow2(tmp_path / "big.qcow2", 2 * (1 << 30))
    image = await active_image(admin, qcow2, disk_format="qcow2")
    assert image["virtual_size"] == 2 * (1 << 30)
    r = await _create(admin, imageRef=image["id"], size=1)
    message = assert_fault(r, 400, "badRequest")
    assert "doesn't fit in a volume of size 1GB" in message
    r = await _create(admin, imageRef=image["id"], size=2)
    assert r.status_code == 202, r.text
    vol = await settle(admin, r.json()["volume"]["id"])
    assert vol["status"] == "available" and vol["bootable"] == "true"
    assert _backend(admin).imported[vol["id"]] == "qcow2"


async def test_unusable_images_are_refused(admin: httpx.AsyncClient) -> None:
    missing = "5a6b7c8d-0000-4000-8000-000000000000"
    r = await _create(admin, imageRef=missing)
    assert assert_fault(r, 400, "badRequest") == f"Image {missing} could not be found."
    queued = await create_image(admin, name="no-data")
    r = await _create(admin, imageRef=queued["id"])
    assert f"Image {queued['id']} is not active." in assert_fault(r, 400, "badRequest")
    big = await active_image(admin, b"x" * 4096, min_disk=3)
    r = await _create(admin, imageRef=big["id"], size=2)
    message = assert_fault(r, 400, "badRequest")
    assert "cannot be smaller than the image minDisk size 3GB" in message
    r = await admin.post(f"{V2}/images/{big['id']}/actions/deactivate")
    assert r.status_code == 204, r.text
    r = await _create(admin, imageRef=big["id"], size=3)
    assert "is not active" in assert_fault(r, 400, "badRequest")
    r = await _create(admin, imageRef="")
    assert_fault(r, 400, "badRequest")
    # Nothing was recorded for the refused requests.
    r = await admin.get(f"{V3}/volumes")
    assert r.json()["volumes"] == []


async def test_a_project_cannot_use_another_projects_private_image(
    admin: httpx.AsyncClient,
) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    private = await active_image(admin, b"alice's", token=alice, visibility="private")
    r = await _create(admin, bob, imageRef=private["id"])
    assert assert_fault(r, 400, "badRequest") == f"Image {private['id']} could not be found."
    r = await _create(admin, alice, imageRef=private["id"])
    assert r.status_code == 202, r.text
    vol = await settle(admin, r.json()["volume"]["id"], alice)
    assert vol["status"] == "available" and vol["bootable"] == "true"
    public = await active_image(admin, b"for everyone", visibility="public")
    r = await _create(admin, bob, imageRef=public["id"])
    assert r.status_code == 202, r.text
    vol = await settle(admin, r.json()["volume"]["id"], bob)
    assert vol["status"] == "available"
    assert _backend(admin).contents(vol["id"]) == b"for everyone"


async def test_a_failed_copy_leaves_the_volume_in_error(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    image = await active_image(admin, b"data" * 100)
    _backend(admin).fail_next = "import_image"
    r = await _create(admin, imageRef=image["id"])
    assert r.status_code == 202, r.text
    vol = await settle(admin, r.json()["volume"]["id"])
    assert vol["status"] == "error" and vol["bootable"] == "false"
    assert vol["id"] not in _backend(admin).volumes
    assert _leftovers(tmp_path) == []
    r = await admin.delete(f"{V3}/volumes/{vol['id']}")
    assert r.status_code == 202
    assert await settle(admin, vol["id"]) == {}


# -- upload to image ----------------------------------------------------------------------------


async def test_upload_to_image_makes_an_active_image_of_the_volume_data(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    vol = await create_volume(admin, name="src", description="to upload")
    r = await _action(admin, vol["id"], {"os-volume_upload_image": {"image_name": "from-vol"}})
    assert r.status_code == 202, r.text
    body = r.json()["os-volume_upload_image"]
    assert body["id"] == vol["id"] and body["status"] == "uploading"
    assert body["image_name"] == "from-vol" and body["display_description"] == "to upload"
    assert body["disk_format"] == "raw" and body["container_format"] == "bare"
    assert body["size"] == 1 and body["volume_type"]["name"] == "__DEFAULT__"
    assert body["updated_at"] and "visibility" not in body
    r = await admin.get(f"{V3}/volumes/{vol['id']}")
    assert r.json()["volume"]["status"] == "uploading"
    done = await settle(admin, vol["id"])
    assert done["status"] == "available"
    image = await show_image(admin, body["image_id"])
    assert image["status"] == "active" and image["name"] == "from-vol"
    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.status_code == 200
    expected = _backend(admin).contents(vol["id"])
    assert r.content == expected and image["size"] == len(expected)
    assert _backend(admin).exported[vol["id"]] == "raw"
    assert _leftovers(tmp_path) == []


async def test_an_image_volume_uploads_its_data_and_properties_back(
    admin: httpx.AsyncClient,
) -> None:
    data = os.urandom(64 * 1024)
    source = await active_image(admin, data, name="origin", os_distro="cirros")
    r = await _create(admin, imageRef=source["id"])
    vol = await settle(admin, r.json()["volume"]["id"])
    r = await _action(
        admin,
        vol["id"],
        {
            "os-volume_upload_image": {
                "image_name": "copy",
                "visibility": "shared",
                "protected": True,
            }
        },
        version="3.1",
    )
    assert r.status_code == 202, r.text
    body = r.json()["os-volume_upload_image"]
    assert body["visibility"] == "shared" and body["protected"] is True
    await settle(admin, vol["id"])
    image = await show_image(admin, body["image_id"])
    assert image["status"] == "active" and image["protected"] is True
    assert image["visibility"] == "shared"
    assert image["os_distro"] == "cirros" and "image_name" not in image
    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.content == data


async def test_upload_checks_state_body_and_rights(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    vid = vol["id"]
    r = await _action(admin, vid, {"os-volume_upload_image": {}})
    assert "image_name" in assert_fault(r, 400, "badRequest")
    r = await _action(
        admin, vid, {"os-volume_upload_image": {"image_name": "x", "disk_format": "iso"}}
    )
    assert "disk_format" in assert_fault(r, 400, "badRequest")
    r = await _action(
        admin, vid, {"os-volume_upload_image": {"image_name": "x", "container_format": "ova"}}
    )
    assert "container_format" in assert_fault(r, 400, "badRequest")
    # In use: only with force, and the volume goes back to in-use.
    r = await _action(admin, vid, {"os-reset_status": {"status": "in-use"}})
    assert r.status_code == 202, r.text
    r = await _action(admin, vid, {"os-volume_upload_image": {"image_name": "x"}})
    assert "status must be available" in assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{V2}/images", params={"name": "x"})
    assert r.json()["images"] == []
    r = await _action(admin, vid, {"os-volume_upload_image": {"image_name": "x", "force": True}})
    assert r.status_code == 202, r.text
    done = await _wait_status(admin, vid, "in-use")
    assert done["status"] == "in-use"
    assert (await show_image(admin, r.json()["os-volume_upload_image"]["image_id"]))[
        "status"
    ] == "active"
    # Error volumes are not uploaded; other projects' volumes are not found.
    r = await _action(admin, vid, {"os-reset_status": {"status": "error"}})
    r = await _action(admin, vid, {"os-volume_upload_image": {"image_name": "y", "force": True}})
    assert "status must be available or in-use" in assert_fault(r, 400, "badRequest")
    _, _, bob = await project_member(admin)
    r = await _action(admin, vid, {"os-volume_upload_image": {"image_name": "z"}}, bob)
    assert_fault(r, 404, "itemNotFound")


async def test_only_admins_upload_public_images(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    vol = await create_volume(admin, alice)
    r = await _action(
        admin,
        vol["id"],
        {"os-volume_upload_image": {"image_name": "pub", "visibility": "public"}},
        alice,
        "3.1",
    )
    assert_fault(r, 403, "forbidden")
    r = await admin.get(f"{V3}/volumes/{vol['id']}", headers=auth(alice))
    assert r.json()["volume"]["status"] == "available"
    r = await _action(
        admin, vol["id"], {"os-volume_upload_image": {"image_name": "mine"}}, alice, "3.1"
    )
    assert r.status_code == 202, r.text
    assert r.json()["os-volume_upload_image"]["visibility"] == "private"
    await settle(admin, vol["id"], alice)
    image = await show_image(admin, r.json()["os-volume_upload_image"]["image_id"], alice)
    assert image["status"] == "active" and image["owner"] != ""


async def test_a_failed_upload_removes_the_image_and_restores_the_volume(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    vol = await create_volume(admin)
    _backend(admin).fail_next = "export_image"
    r = await _action(
        admin,
        vol["id"],
        {"os-volume_upload_image": {"image_name": "doomed", "protected": True}},
        version="3.1",
    )
    assert r.status_code == 202, r.text
    image_id = r.json()["os-volume_upload_image"]["image_id"]
    done = await settle(admin, vol["id"])
    assert done["status"] == "available"
    r = await admin.get(f"{V2}/images/{image_id}")
    assert r.status_code == 404
    assert _leftovers(tmp_path) == []


# -- image metadata actions ---------------------------------------------------------------------


async def test_image_metadata_actions(admin: httpx.AsyncClient) -> None:
    image = await active_image(admin, b"meta" * 10, name="m")
    r = await _create(admin, imageRef=image["id"])
    vid = (await settle(admin, r.json()["volume"]["id"]))["id"]
    r = await _action(admin, vid, {"os-show_image_metadata": None})
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["image_name"] == "m"
    r = await _action(
        admin, vid, {"os-set_image_metadata": {"metadata": {"image_name": "n", "extra": "1"}}}
    )
    assert r.status_code == 200, r.text
    meta = r.json()["metadata"]
    assert meta["image_name"] == "n" and meta["extra"] == "1" and meta["image_id"] == image["id"]
    r = await _action(admin, vid, {"os-unset_image_metadata": {"key": "extra"}})
    assert r.status_code == 200, r.text
    r = await _action(admin, vid, {"os-unset_image_metadata": {"key": "extra"}})
    assert_fault(r, 404, "itemNotFound")
    r = await admin.get(f"{V3}/volumes/{vid}")
    shown = r.json()["volume"]["volume_image_metadata"]
    assert shown["image_name"] == "n" and "extra" not in shown
    r = await _action(admin, vid, {"os-set_image_metadata": {"metadata": {"k": 1}}})
    assert_fault(r, 400, "badRequest")
    r = await _action(admin, vid, {"os-set_image_metadata": {}})
    assert_fault(r, 400, "badRequest")
    # Another project sees neither the volume nor its image metadata.
    _, _, bob = await project_member(admin)
    r = await _action(admin, vid, {"os-show_image_metadata": None}, bob)
    assert_fault(r, 404, "itemNotFound")
    r = await _action(admin, vid, {"os-set_image_metadata": {"metadata": {"a": "b"}}}, bob)
    assert_fault(r, 404, "itemNotFound")
    # A reader of the volume's project may look but not change.
    r = await admin.get(f"{V3}/volumes/{vid}")
    project_id = r.json()["volume"]["os-vol-tenant-attr:tenant_id"]
    _, _, reader = await project_member(admin, "reader", project_id)
    r = await _action(admin, vid, {"os-show_image_metadata": None}, reader)
    assert r.status_code == 200 and r.json()["metadata"]["image_name"] == "n"
    r = await _action(admin, vid, {"os-unset_image_metadata": {"key": "image_name"}}, reader)
    assert_fault(r, 403, "forbidden")


# -- restarts -----------------------------------------------------------------------------------


async def test_an_upload_interrupted_by_a_restart_is_finished_at_start(
    admin: httpx.AsyncClient,
) -> None:
    vol = await create_volume(admin)
    image = await create_image(admin, name="resumed")
    plugin = admin._transport.app.state.runtime.service("volume")  # type: ignore[attr-defined]

    async def _crashed_mid_upload(s: AsyncSession) -> None:
        # What a crash after the API's transaction, before the agent's work, leaves.
        await s.execute(
            update(m.Volume)
            .where(m.Volume.id == vol["id"])
            .values(status="uploading", previous_status="available", upload_image_id=image["id"])
        )

    await plugin.svc.tx(_crashed_mid_upload)
    await plugin.agent.start()
    r = await admin.get(f"{V3}/volumes/{vol['id']}")
    assert r.json()["volume"]["status"] == "available"
    assert (await show_image(admin, image["id"]))["status"] == "active"
    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.content == _backend(admin).contents(vol["id"])


async def test_without_an_image_service_imageref_is_refused(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "volume"],
        volume={"backend": "fake"},
    )
    async with running_client(settings) as c:
        c.headers["X-Auth-Token"] = await issue_token(c)
        r = await _create(c, imageRef="5a6b7c8d-0000-4000-8000-000000000000")
        assert "no image service" in assert_fault(r, 400, "badRequest")
