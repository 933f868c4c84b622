"""Glance's object store and Cinder's object backup target keep their data in the object service."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackling.image.drivers.object_store import ACCOUNT as IMAGE_ACCOUNT
from stackling.image.drivers.object_store import CONTAINER as IMAGE_CONTAINER
from stackling.object.internal import InternalObjects, internal_objects
from stackling.runtime.state import Runtime
from stackling.settings import Settings
from stackling.volume.backup.object_target import ACCOUNT as BACKUP_ACCOUNT
from tests.conftest import make_settings
from tests.functional.volume.support import V3, create_volume, settle
from tests.functional.volume.test_backups import BACKUPS, settle_backup
from tests.support.image import V2, active_image, hashes, upload


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Images and backups kept in the object service; the in-memory volume backend."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "image", "volume", "object"],
        image={"stores": {"objects": {"driver": "object", "description": "object service"}}},
        volume={"backend": "fake", "backup_driver": "object"},
        object={"reaper_interval_s": 0.2},
    )


def _runtime(c: httpx.AsyncClient) -> Any:
    return c._transport.app.state.runtime  # type: ignore[attr-defined]


def _objects(c: httpx.AsyncClient) -> InternalObjects:
    return internal_objects(_runtime(c))


async def _object_bytes(objects: InternalObjects, account: str, container: str, name: str) -> bytes:
    return b"".join([chunk async for chunk in objects.read(account, container, name)])


async def test_image_data_is_an_object_of_the_internal_account(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    data = os.urandom(3 * 1024 * 1024 + 11)
    image = await active_image(admin, data)
    md5, sha512 = hashes(data)
    assert image["checksum"] == md5
    assert image["os_hash_algo"] == "sha512" and image["os_hash_value"] == sha512
    assert image["size"] == len(data) and image["stores"] == "objects"

    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-md5"] == md5
    r = await admin.get(f"{V2}/images/{image['id']}/file", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]

    objects = _objects(admin)
    assert await objects.list_names(IMAGE_ACCOUNT, IMAGE_CONTAINER) == [image["id"]]
    assert await _object_bytes(objects, IMAGE_ACCOUNT, IMAGE_CONTAINER, image["id"]) == data
    # The bytes are in the object service's store only, not in an image directory.
    assert not any(p.is_file() for p in (tmp_path / "data" / "images" / "objects").rglob("*"))
    # The admin's own Swift account does not hold it: the image account is no project's.
    assert IMAGE_ACCOUNT not in {p["id"] for p in await _projects(admin)}

    r = await admin.delete(f"{V2}/images/{image['id']}")
    assert r.status_code == 204, r.text
    assert not await objects.exists(IMAGE_ACCOUNT, IMAGE_CONTAINER, image["id"])
    assert await objects.list_names(IMAGE_ACCOUNT, IMAGE_CONTAINER) == []


async def _projects(c: httpx.AsyncClient) -> list[dict[str, Any]]:
    r = await c.get("/identity/v3/projects")
    assert r.status_code == 200, r.text
    return list(r.json()["projects"])


async def test_refused_image_data_leaves_no_object(admin: httpx.AsyncClient) -> None:
    r = await admin.post(f"{V2}/images", json={"disk_format": "raw", "container_format": "bare"})
    image_id = r.json()["id"]

    async def short() -> AsyncIterator[bytes]:
        yield b"only five"

    # The client announces more than it sends: the upload fails and nothing is kept.
    r = await admin.put(
        f"{V2}/images/{image_id}/file",
        content=short(),
        headers={"Content-Type": "application/octet-stream", "Content-Length": "100"},
    )
    assert r.status_code == 400, r.text
    objects = _objects(admin)
    assert await objects.list_names(IMAGE_ACCOUNT, IMAGE_CONTAINER) == []
    assert await objects.svc.store.unpublished() == []
    # The image can take its data afterwards.
    await upload(admin, image_id, b"complete data")
    assert await _object_bytes(objects, IMAGE_ACCOUNT, IMAGE_CONTAINER, image_id) == (
        b"complete data"
    )


async def test_backup_and_restore_through_the_object_target(admin: httpx.AsyncClient) -> None:
    backend = _runtime(admin).service("volume").svc.backend
    vol = await create_volume(admin, size=1, name="src")
    backend.data[vol["id"]] = b"backed up into objects " * 2000
    r = await admin.post(BACKUPS, json={"backup": {"volume_id": vol["id"], "name": "b"}})
    assert r.status_code == 202, r.text
    backup = await settle_backup(admin, r.json()["backup"]["id"])
    assert backup["status"] == "available", backup
    assert backup["container"] == "volumebackups" and backup["object_count"] == 1

    objects = _objects(admin)
    names = await objects.list_names(BACKUP_ACCOUNT, "volumebackups")
    assert names == [f"{backup['id']}/chunk-0", f"{backup['id']}/manifest.json"]
    manifest = json.loads(await _object_bytes(objects, BACKUP_ACCOUNT, "volumebackups", names[1]))
    assert manifest["chunks"][0]["kind"] == "data"

    # Cinder names the driver a backup record was made by: here, the swift one.
    r = await admin.get(f"{BACKUPS}/{backup['id']}/export_record")
    assert r.status_code == 200, r.text
    record = r.json()["backup-record"]
    assert record["backup_service"] == "cinder.backup.drivers.swift.SwiftBackupDriver"
    assert json.loads(base64.b64decode(record["backup_url"]))["id"] == backup["id"]

    r = await admin.post(f"{BACKUPS}/{backup['id']}/restore", json={"restore": {"name": "new"}})
    assert r.status_code == 202, r.text
    await settle_backup(admin, backup["id"])
    restored = await settle(admin, r.json()["restore"]["volume_id"])
    assert restored["status"] == "available"
    assert backend.data[restored["id"]] == b"backed up into objects " * 2000

    r = await admin.delete(f"{BACKUPS}/{backup['id']}")
    assert r.status_code == 202, r.text
    assert await settle_backup(admin, backup["id"]) == {}
    assert await objects.list_names(BACKUP_ACCOUNT, "volumebackups") == []
    r = await admin.get(f"{V3}/volumes/{vol['id']}")
    assert r.json()["volume"]["status"] == "available"


def test_object_drivers_need_the_object_service(tmp_path: Path) -> None:
    image = make_settings(
        tmp_path / "a",
        services=["identity", "image"],
        image={"stores": {"objects": {"driver": "object"}}},
    )
    with pytest.raises(ValueError, match="object service is not enabled"):
        Runtime(image)
    volume = make_settings(
        tmp_path / "b",
        services=["identity", "volume"],
        volume={"backend": "fake", "backup_driver": "object"},
    )
    with pytest.raises(ValueError, match="object service is not enabled"):
        Runtime(volume)
