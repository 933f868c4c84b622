"""Image data as Glance v2 moves it: upload, download, ranges, inspection, quotas, imports.

Proves that bytes uploaded (streamed chunked or with a Content-Length) come
back identical with the md5/sha512/size Glance reports; that data which is not
what its disk_format says, or which references host files, never becomes
active; that quota overruns are 413 and leave the image retryable; that the
stage + glance-direct import and copy-image flows end where Glance's do, with
their task recorded; and that deleting an image or a store's copy removes the
data file itself.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import issue_token, make_settings, running_client
from tests.support.image import (
    MIB,
    OCTETS,
    V2,
    active_image,
    assert_glance_fault,
    create_image,
    hashes,
    make_qcow2,
    other_project,
    patch,
    put_data,
    show_image,
    upload,
    wait_for_status,
)


@asynccontextmanager
async def admin_cloud(
    tmp_path: Path, db_url: str, **image: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client on a cloud whose image settings are overridden by `image`."""
    settings = make_settings(tmp_path / "data", database={"url": db_url}, image=image)
    async with running_client(settings) as c:
        c.headers["X-Auth-Token"] = await issue_token(c)
        yield c


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _store_dir(tmp_path: Path, store: str = "file") -> Path:
    return tmp_path / "data" / "images" / store


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.is_file()} if directory.exists() else set()


# -- upload and download ------------------------------------------------------------------------


async def _settled_tasks(admin: httpx.AsyncClient, image_id: str) -> list[dict[str, Any]]:
    """The image's tasks once none is running: the task ends a commit after the image does."""
    tasks: list[dict[str, Any]] = []
    for _ in range(500):
        r = await admin.get(f"{V2}/images/{image_id}/tasks")
        assert r.status_code == 200, r.text
        tasks = r.json()["tasks"]
        if not any(t["status"] in ("pending", "processing") for t in tasks):
            break
        await asyncio.sleep(0.02)
    return tasks


async def test_streamed_chunked_upload_then_download_is_identical(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    data = os.urandom(3 * MIB + 12345)
    image = await create_image(admin, name="streamed")
    r = await put_data(admin, image["id"], _chunks(data, 65521))
    assert r.status_code == 204, r.text
    assert "content-length" not in r.request.headers
    got = await show_image(admin, image["id"])
    md5, sha512 = hashes(data)
    assert got["status"] == "active"
    assert got["size"] == len(data) and got["virtual_size"] == len(data)
    assert got["checksum"] == md5
    assert got["os_hash_algo"] == "sha512" and got["os_hash_value"] == sha512
    assert got["stores"] == "file"
    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-length"] == str(len(data))
    assert r.headers["content-md5"] == md5
    assert r.content == data
    assert _files(_store_dir(tmp_path)) == {image["id"]}
    assert _files(_store_dir(tmp_path) / ".partial") == set()


async def test_upload_with_content_length(admin: httpx.AsyncClient) -> None:
    data = b"\x00\x01fixed-length" * 1000
    image = await create_image(admin)
    r = await put_data(admin, image["id"], data)
    assert r.request.headers["content-length"] == str(len(data))
    assert r.status_code == 204 and r.content == b""
    got = await show_image(admin, image["id"])
    assert (got["size"], got["checksum"], got["os_hash_value"]) == (len(data), *hashes(data))
    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.content == data


async def test_empty_upload_makes_an_active_empty_image(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin)
    got = await upload(admin, image["id"], b"")
    assert got["size"] == 0 and got["checksum"] == hashes(b"")[0]


async def test_short_body_for_its_content_length_is_400_and_retryable(
    admin: httpx.AsyncClient,
) -> None:
    image = await create_image(admin)
    r = await admin.put(
        f"{V2}/images/{image['id']}/file",
        content=_chunks(b"12345", 2),
        headers={**OCTETS, "Content-Length": "10"},
    )
    assert_glance_fault(r, 400)
    assert (await show_image(admin, image["id"]))["status"] == "queued"
    await upload(admin, image["id"], b"0123456789")


async def test_ranges(admin: httpx.AsyncClient) -> None:
    data = bytes(range(256)) * 40
    image = await active_image(admin, data)
    url = f"{V2}/images/{image['id']}/file"
    size = len(data)
    cases = {
        "bytes=0-9": (0, 9),
        "bytes=100-355": (100, 355),
        "bytes=-16": (size - 16, size - 1),
        f"bytes=-{size + 10}": (0, size - 1),
        "bytes=10000-": (10000, size - 1),
        f"bytes={size - 1}-": (size - 1, size - 1),
        f"bytes=5-{size + 100}": (5, size - 1),
    }
    for header, (first, last) in cases.items():
        r = await admin.get(url, headers={"Range": header})
        assert r.status_code == 206, f"{header}: {r.status_code} {r.text}"
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}", header
        assert r.headers["content-length"] == str(last - first + 1), header
        assert r.content == data[first : last + 1], header
    for header in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}", "bytes=9-3", "bytes=-0"):
        r = await admin.get(url, headers={"Range": header})
        assert r.status_code == 416, f"{header}: {r.status_code} {r.text}"
    r = await admin.get(url)
    assert r.status_code == 200 and r.content == data


async def test_download_of_a_queued_image_is_204(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin)
    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.status_code == 204 and r.content == b""
    assert_glance_fault(await admin.get(f"{V2}/images/{uuid.uuid4()}/file"), 404)


async def test_upload_to_an_active_image_is_409_and_keeps_the_data(
    admin: httpx.AsyncClient,
) -> None:
    image = await active_image(admin, b"first")
    assert_glance_fault(await put_data(admin, image["id"], b"second"), 409)
    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.content == b"first"
    assert (await show_image(admin, image["id"]))["checksum"] == hashes(b"first")[0]


async def test_upload_needs_disk_and_container_format(admin: httpx.AsyncClient) -> None:
    r = await admin.post(f"{V2}/images", json={"name": "formatless"})
    image = r.json()
    assert_glance_fault(await put_data(admin, image["id"], b"data"), 400)
    assert (await show_image(admin, image["id"]))["status"] == "queued"
    r = await admin.post(f"{V2}/images", json={"disk_format": "raw"})
    fault = assert_glance_fault(await put_data(admin, r.json()["id"], b"data"), 400)
    assert fault["message"] == "Property container_format must be set prior to saving data."


async def test_import_needs_disk_and_container_format(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    r = await admin.post(f"{V2}/images", json={"name": "formatless"})
    image = r.json()
    # Staging takes data without formats, as Glance's does...
    assert (await put_data(admin, image["id"], b"data", what="stage")).status_code == 204
    # ...but the import refuses to make an active image of unknown format.
    r = await admin.post(
        f"{V2}/images/{image['id']}/import", json={"method": {"name": "glance-direct"}}
    )
    fault = assert_glance_fault(r, 400)
    assert "disk_format, container_format" in fault["message"]
    assert (await show_image(admin, image["id"]))["status"] == "uploading"
    assert (await admin.get(f"{V2}/images/{image['id']}/tasks")).json()["tasks"] == []
    assert (await admin.delete(f"{V2}/images/{image['id']}")).status_code == 204
    assert _files(tmp_path / "data" / "images" / "staging") == set()


async def test_upload_with_the_wrong_content_type_is_415(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin)
    for ctype in ("application/json", "text/plain"):
        r = await admin.put(
            f"{V2}/images/{image['id']}/file", content=b"{}", headers={"Content-Type": ctype}
        )
        assert_glance_fault(r, 415)
    assert (await show_image(admin, image["id"]))["status"] == "queued"


async def test_upload_to_unknown_image_is_404(admin: httpx.AsyncClient) -> None:
    assert_glance_fault(await put_data(admin, str(uuid.uuid4()), b"data"), 404)


@pytest.mark.parametrize("what", ["file", "stage"])
async def test_deleting_an_image_during_its_upload_leaves_no_data(
    admin: httpx.AsyncClient, tmp_path: Path, what: str
) -> None:
    image = await create_image(admin)
    halfway = asyncio.Event()
    resume = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"x" * MIB
        halfway.set()
        await resume.wait()
        yield b"y" * MIB

    upload_task = asyncio.ensure_future(put_data(admin, image["id"], body(), what=what))
    await halfway.wait()
    assert (await show_image(admin, image["id"]))["status"] in ("saving", "uploading")
    r = await admin.delete(f"{V2}/images/{image['id']}")
    assert r.status_code == 204, r.text
    resume.set()
    r = await upload_task
    assert r.status_code in (404, 409), r.text
    assert_glance_fault(await admin.get(f"{V2}/images/{image['id']}"), 404)
    store = "file" if what == "file" else "staging"
    assert _files(tmp_path / "data" / "images" / store) == set()
    assert _files(tmp_path / "data" / "images" / store / ".partial") == set()
    r = await admin.get(f"{V2}/info/usage")
    assert {k: v["usage"] for k, v in r.json()["usage"].items()} == {
        "image_count_total": 0,
        "image_size_total": 0,
        "image_stage_total": 0,
        "image_count_uploading": 0,
    }


# -- inspection ---------------------------------------------------------------------------------


async def test_valid_qcow2_becomes_active_with_its_virtual_size(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    data = make_qcow2(tmp_path / "disk.qcow2", 3 * MIB)
    image = await create_image(admin, disk_format="qcow2")
    got = await upload(admin, image["id"], data)
    assert got["virtual_size"] == 3 * MIB
    assert got["size"] == len(data) and got["checksum"] == hashes(data)[0]
    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.content == data


async def _refused(admin: httpx.AsyncClient, tmp_path: Path, data: bytes, fmt: str) -> str:
    image = await create_image(admin, disk_format=fmt)
    r = await put_data(admin, image["id"], data)
    fault = assert_glance_fault(r, 400)
    assert str(tmp_path) not in fault["message"]
    got = await show_image(admin, image["id"])
    assert got["status"] == "killed", got
    assert got["size"] is None and got["checksum"] is None
    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.status_code == 204
    # A killed image takes no more data.
    assert_glance_fault(await put_data(admin, image["id"], b"\x00" * 512), 409)
    assert _files(_store_dir(tmp_path)) == set()
    return str(fault["message"])


async def test_qcow2_declared_raw_is_refused(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    data = make_qcow2(tmp_path / "disk.qcow2")
    message = await _refused(admin, tmp_path, data, "raw")
    assert "qcow2" in message


async def test_raw_declared_qcow2_is_refused(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    await _refused(admin, tmp_path, b"\x00" * MIB, "qcow2")


async def test_qcow2_with_a_backing_file_is_refused(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    path = tmp_path / "backed.qcow2"
    data = make_qcow2(path, MIB, "-b", "/etc/passwd", "-F", "raw", "-u")
    for fmt in ("qcow2", "raw"):
        message = await _refused(admin, tmp_path, data, fmt)
        assert "/etc/passwd" not in message


# -- quotas -------------------------------------------------------------------------------------


async def test_upload_over_the_size_quota_is_413_and_the_image_stays_queued(
    tmp_path: Path, db_url: str
) -> None:
    async with admin_cloud(tmp_path, db_url, image_size_total_bytes=1000) as admin:
        image = await create_image(admin)
        assert_glance_fault(await put_data(admin, image["id"], b"x" * 1001), 413)
        assert (await show_image(admin, image["id"]))["status"] == "queued"
        # Chunked: the size is only known once too much has arrived.
        assert_glance_fault(await put_data(admin, image["id"], _chunks(b"y" * 5000, 300)), 413)
        assert (await show_image(admin, image["id"]))["status"] == "queued"
        assert _files(_store_dir(tmp_path)) == set()
        assert _files(_store_dir(tmp_path) / ".partial") == set()
        await upload(admin, image["id"], b"z" * 600)
        # 600 of 1000 bytes held: 401 more do not fit, 400 do.
        second = await create_image(admin)
        assert_glance_fault(await put_data(admin, second["id"], b"w" * 401), 413)
        assert (await show_image(admin, second["id"]))["status"] == "queued"
        await upload(admin, second["id"], b"w" * 400)
        third = await create_image(admin)
        assert_glance_fault(await put_data(admin, third["id"], b"v"), 413)
        r = await admin.get(f"{V2}/info/usage")
        assert r.json()["usage"]["image_size_total"] == {"limit": 1000, "usage": 1000}


async def test_image_size_cap_is_413(tmp_path: Path, db_url: str) -> None:
    async with admin_cloud(tmp_path, db_url, image_size_cap=100) as admin:
        image = await create_image(admin)
        assert_glance_fault(await put_data(admin, image["id"], _chunks(b"x" * 1000, 64)), 413)
        assert (await show_image(admin, image["id"]))["status"] == "queued"
        await upload(admin, image["id"], b"x" * 100)


async def test_image_count_quota_is_413(tmp_path: Path, db_url: str) -> None:
    async with admin_cloud(tmp_path, db_url, image_count_total=2) as admin:
        first = await create_image(admin)
        await create_image(admin)
        assert_glance_fault(await admin.post(f"{V2}/images", json={"name": "third"}), 413)
        # Quotas are per project: another project still has room.
        _, token = await other_project(admin)
        await create_image(admin, token)
        r = await admin.delete(f"{V2}/images/{first['id']}")
        assert r.status_code == 204
        await create_image(admin, name="third")
        r = await admin.get(f"{V2}/info/usage")
        assert r.json()["usage"]["image_count_total"] == {"limit": 2, "usage": 2}


async def test_tag_property_and_member_quotas_are_413(tmp_path: Path, db_url: str) -> None:
    async with admin_cloud(
        tmp_path, db_url, image_tag_quota=2, image_property_quota=1, image_member_quota=1
    ) as admin:
        assert_glance_fault(await admin.post(f"{V2}/images", json={"tags": ["a", "b", "c"]}), 413)
        assert_glance_fault(await admin.post(f"{V2}/images", json={"p": "1", "q": "2"}), 413)
        image = await create_image(admin, tags=["a"], p="1")
        r = await admin.put(f"{V2}/images/{image['id']}/tags/b")
        assert r.status_code == 204
        assert_glance_fault(await admin.put(f"{V2}/images/{image['id']}/tags/c"), 413)
        r = await patch(admin, image["id"], [{"op": "add", "path": "/q", "value": "2"}])
        assert_glance_fault(r, 413)
        p1, _ = await other_project(admin)
        p2, _ = await other_project(admin)
        r = await admin.post(f"{V2}/images/{image['id']}/members", json={"member": p1})
        assert r.status_code == 200, r.text
        r = await admin.post(f"{V2}/images/{image['id']}/members", json={"member": p2})
        assert_glance_fault(r, 413)


# -- stage and import ---------------------------------------------------------------------------


async def test_stage_then_glance_direct_import(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    data = os.urandom(2 * MIB + 3)
    image = await create_image(admin, name="imported")
    r = await put_data(admin, image["id"], _chunks(data, 100_000), what="stage")
    assert r.status_code == 204, r.text
    staged = await show_image(admin, image["id"])
    assert staged["status"] == "uploading"
    assert staged["size"] is None
    # Staged data cannot be downloaded, and the image takes no direct upload now.
    assert (await admin.get(f"{V2}/images/{image['id']}/file")).status_code == 204
    assert_glance_fault(await put_data(admin, image["id"], b"x"), 409)
    assert_glance_fault(await put_data(admin, image["id"], b"x", what="stage"), 409)

    r = await admin.post(
        f"{V2}/images/{image['id']}/import", json={"method": {"name": "glance-direct"}}
    )
    assert r.status_code == 202, r.text
    request_id = r.headers["x-openstack-request-id"]
    got = await wait_for_status(admin, image["id"], {"active", "killed", "queued"})
    assert got["status"] == "active", got
    md5, sha512 = hashes(data)
    assert (got["size"], got["checksum"], got["os_hash_value"]) == (len(data), md5, sha512)
    assert got["virtual_size"] == len(data)
    assert got["stores"] == "file"
    assert got["os_glance_import_task"]
    assert got.get("os_glance_importing_to_stores", "") == ""
    assert got.get("os_glance_failed_import", "") == ""
    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.content == data

    tasks = await _settled_tasks(admin, image["id"])
    assert len(tasks) == 1
    task = tasks[0]
    assert task["id"] == got["os_glance_import_task"]
    assert task["status"] == "success" and task["type"] == "api_image_import"
    assert task["request_id"] == request_id
    assert task["image_id"] == image["id"]
    assert task["result"] == {"image_id": image["id"]}
    r = await admin.get(f"/image/v2/tasks/{task['id']}")
    assert r.status_code == 200 and r.json()["status"] == "success"
    # The staging area is emptied once the import is done.
    assert _files(tmp_path / "data" / "images" / "staging") == set()


async def test_imported_qcow2_gets_its_virtual_size(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    data = make_qcow2(tmp_path / "disk.qcow2", 5 * MIB)
    image = await create_image(admin, disk_format="qcow2")
    assert (await put_data(admin, image["id"], data, what="stage")).status_code == 204
    r = await admin.post(
        f"{V2}/images/{image['id']}/import", json={"method": {"name": "glance-direct"}}
    )
    assert r.status_code == 202, r.text
    got = await wait_for_status(admin, image["id"], {"active", "killed", "queued"})
    assert got["status"] == "active"
    assert got["virtual_size"] == 5 * MIB and got["size"] == len(data)


async def test_tasks_api_is_for_admins_and_legacy_import_is_refused(
    admin: httpx.AsyncClient,
) -> None:
    image = await create_image(admin)
    assert (await put_data(admin, image["id"], b"data", what="stage")).status_code == 204
    r = await admin.post(
        f"{V2}/images/{image['id']}/import", json={"method": {"name": "glance-direct"}}
    )
    assert r.status_code == 202
    await wait_for_status(admin, image["id"], {"active"})
    r = await admin.get(f"{V2}/tasks")
    assert r.status_code == 200
    body = r.json()
    assert body["schema"] == "/v2/schemas/tasks"
    assert [t["image_id"] for t in body["tasks"]] == [image["id"]]
    # Lists leave out a task's input, result and message, as Glance's do.
    assert "input" not in body["tasks"][0]
    r = await admin.get(f"{V2}/tasks", params={"status": "failure"})
    assert r.json()["tasks"] == []
    assert_glance_fault(await admin.get(f"{V2}/tasks", params={"status": "sleeping"}), 400)
    _, token = await other_project(admin)
    assert_glance_fault(await admin.get(f"{V2}/tasks", headers={"X-Auth-Token": token}), 403)
    legacy = {"type": "import", "input": {"import_from": "http://example.com/x.img"}}
    fault = assert_glance_fault(await admin.post(f"{V2}/tasks", json=legacy), 400)
    assert "network" in fault["message"]
    assert_glance_fault(await admin.get(f"{V2}/tasks/{uuid.uuid4()}"), 404)


async def test_import_of_refused_staged_data_kills_the_image(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    data = make_qcow2(tmp_path / "disk.qcow2")
    image = await create_image(admin, disk_format="raw")
    assert (await put_data(admin, image["id"], data, what="stage")).status_code == 204
    r = await admin.post(
        f"{V2}/images/{image['id']}/import", json={"method": {"name": "glance-direct"}}
    )
    assert r.status_code == 202, r.text
    got = await wait_for_status(admin, image["id"], {"active", "killed", "queued"})
    assert got["status"] == "killed"
    tasks = await _settled_tasks(admin, image["id"])
    assert [t["status"] for t in tasks] == ["failure"]
    assert "refused" in tasks[0]["message"]
    assert _files(_store_dir(tmp_path)) == set()


async def test_import_before_staging_is_409(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin)
    r = await admin.post(
        f"{V2}/images/{image['id']}/import", json={"method": {"name": "glance-direct"}}
    )
    assert_glance_fault(r, 409)
    assert (await show_image(admin, image["id"]))["status"] == "queued"
    assert (await admin.get(f"{V2}/images/{image['id']}/tasks")).json()["tasks"] == []


async def test_network_import_methods_are_refused_with_a_reason(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin)
    for method in ("web-download", "glance-download"):
        body: dict[str, Any] = {"method": {"name": method, "uri": "http://example.com/x.img"}}
        fault = assert_glance_fault(
            await admin.post(f"{V2}/images/{image['id']}/import", json=body), 400
        )
        assert method in fault["message"] and "network" in fault["message"]
    for body in ({}, {"method": "glance-direct"}, {"method": {"name": "teleport"}}):
        r = await admin.post(f"{V2}/images/{image['id']}/import", json=body)
        assert_glance_fault(r, 400)
    assert (await show_image(admin, image["id"]))["status"] == "queued"


async def test_info_import_stores_and_usage(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V2}/info/import")
    assert r.status_code == 200
    methods = r.json()["import-methods"]
    assert methods["type"] == "array"
    assert set(methods["value"]) == {"glance-direct", "copy-image"}
    r = await admin.get(f"{V2}/info/stores")
    assert r.status_code == 200
    assert [(s["id"], s.get("default")) for s in r.json()["stores"]] == [("file", True)]

    def usage(body: dict[str, Any]) -> dict[str, int]:
        return {k: v["usage"] for k, v in body["usage"].items()}

    r = await admin.get(f"{V2}/info/usage")
    assert r.status_code == 200
    assert usage(r.json()) == {
        "image_count_total": 0,
        "image_size_total": 0,
        "image_stage_total": 0,
        "image_count_uploading": 0,
    }
    await active_image(admin, b"x" * 700)
    await create_image(admin)
    staged = await create_image(admin)
    assert (await put_data(admin, staged["id"], b"s" * 50, what="stage")).status_code == 204
    r = await admin.get(f"{V2}/info/usage")
    assert usage(r.json()) == {
        "image_count_total": 3,
        "image_size_total": 700,
        "image_stage_total": 50,
        "image_count_uploading": 1,
    }
    # Another project's usage is its own.
    _, token = await other_project(admin)
    r = await admin.get(f"{V2}/info/usage", headers={"X-Auth-Token": token})
    assert usage(r.json())["image_count_total"] == 0


# -- stores -------------------------------------------------------------------------------------


async def test_copy_image_to_a_second_store_then_delete_each_copy(
    tmp_path: Path, db_url: str
) -> None:
    async with admin_cloud(tmp_path, db_url, stores={"a": {}, "b": {}}) as admin:
        r = await admin.get(f"{V2}/info/stores")
        assert [(s["id"], s.get("default", False)) for s in r.json()["stores"]] == [
            ("a", True),
            ("b", False),
        ]
        data = os.urandom(MIB + 1)
        image = await active_image(admin, data)
        assert image["stores"] == "a"
        assert _files(_store_dir(tmp_path, "a")) == {image["id"]}
        assert _files(_store_dir(tmp_path, "b")) == set()

        # A non-admin owner may not copy.
        project, token = await other_project(admin)
        theirs = await active_image(admin, b"theirs", token)
        r = await admin.post(
            f"{V2}/images/{theirs['id']}/import",
            json={"method": {"name": "copy-image"}, "stores": ["b"]},
            headers={"X-Auth-Token": token},
        )
        assert_glance_fault(r, 403)

        r = await admin.post(
            f"{V2}/images/{image['id']}/import",
            json={"method": {"name": "copy-image"}, "stores": ["b"]},
        )
        assert r.status_code == 202, r.text
        for _ in range(3000):
            got = await show_image(admin, image["id"])
            if got["stores"] == "a,b" and not got.get("os_glance_importing_to_stores"):
                break
            await asyncio.sleep(0.02)
        assert got["stores"] == "a,b", got
        assert got["status"] == "active"
        assert got.get("os_glance_failed_import", "") == ""
        assert (_store_dir(tmp_path, "b") / image["id"]).read_bytes() == data
        tasks = await _settled_tasks(admin, image["id"])
        assert [t["status"] for t in tasks] == ["success"]

        r = await admin.post(
            f"{V2}/images/{image['id']}/import",
            json={"method": {"name": "copy-image"}, "stores": ["nowhere"]},
        )
        assert_glance_fault(r, 400)

        r = await admin.delete(f"/image/v2/stores/a/{image['id']}", headers={"X-Auth-Token": token})
        assert_glance_fault(r, 403)
        r = await admin.delete(f"/image/v2/stores/a/{image['id']}")
        assert r.status_code == 204, r.text
        got = await show_image(admin, image["id"])
        assert got["stores"] == "b" and got["status"] == "active"
        assert _files(_store_dir(tmp_path, "a")) == {theirs["id"]}
        r = await admin.get(f"{V2}/images/{image['id']}/file")
        assert r.content == data
        assert_glance_fault(await admin.delete(f"/image/v2/stores/a/{image['id']}"), 404)
        assert_glance_fault(await admin.delete(f"/image/v2/stores/b/{image['id']}"), 409)
        assert_glance_fault(await admin.delete(f"/image/v2/stores/c/{image['id']}"), 404)
        assert (await show_image(admin, image["id"]))["stores"] == "b"

        r = await admin.delete(f"{V2}/images/{image['id']}")
        assert r.status_code == 204
        assert _files(_store_dir(tmp_path, "b")) == set()
        assert project


async def test_deleting_an_image_removes_its_data_file(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    keep = await active_image(admin, b"keep me")
    gone = await active_image(admin, b"delete me")
    assert _files(_store_dir(tmp_path)) == {keep["id"], gone["id"]}
    r = await admin.delete(f"{V2}/images/{gone['id']}")
    assert r.status_code == 204
    assert _files(_store_dir(tmp_path)) == {keep["id"]}
    staged = await create_image(admin)
    assert (await put_data(admin, staged["id"], b"staged", what="stage")).status_code == 204
    assert _files(tmp_path / "data" / "images" / "staging") == {staged["id"]}
    assert (await admin.delete(f"{V2}/images/{staged['id']}")).status_code == 204
    assert _files(tmp_path / "data" / "images" / "staging") == set()


@pytest.mark.parametrize("what", ["file", "stage"])
async def test_reader_cannot_upload_or_stage(admin: httpx.AsyncClient, what: str) -> None:
    image = await create_image(admin, visibility="public")
    _, token = await other_project(admin, role="reader")
    assert_glance_fault(await put_data(admin, image["id"], b"data", token, what=what), 403)
    assert (await show_image(admin, image["id"]))["status"] == "queued"
