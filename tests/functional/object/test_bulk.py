"""Bulk delete and archive extraction, reported in the body as Swift's bulk middleware does."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import httpx
import pytest

from stackling.settings import Settings
from tests.conftest import make_settings
from tests.support.identity import project_member

JSON = {"Accept": "application/json"}


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """The object cloud with a small bulk delete limit."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "object"],
        object={"reaper_interval_s": 0.2, "max_deletes_per_request": 5},
    )


async def fill(swift: httpx.AsyncClient, container: str, *names: str) -> None:
    assert (await swift.put(container)).status_code in (201, 202)
    for name in names:
        assert (await swift.put(f"{container}/{name}", content=name.encode())).status_code == 201


async def member(swift: httpx.AsyncClient) -> tuple[dict, dict, str]:
    """A user of another project (through the identity API, outside the Swift account URL)."""
    base = swift.base_url
    swift.base_url = httpx.URL("http://testserver")
    try:
        return await project_member(swift)
    finally:
        swift.base_url = base


async def names(swift: httpx.AsyncClient, path: str = "") -> list[str]:
    r = await swift.get(path)
    return r.text.split() if r.status_code == 200 else []


async def test_bulk_delete_json(swift: httpx.AsyncClient) -> None:
    await fill(swift, "c1", "a", "b c")
    body = b"/c1/a\n/c1/b%20c\n/c1/missing\n/c1\n"
    r = await swift.post("", params={"bulk-delete": ""}, content=body, headers=JSON)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {
        "Number Deleted": 3,
        "Number Not Found": 1,
        "Response Body": "",
        "Response Status": "200 OK",
        "Errors": [],
    }
    assert "c1" not in await names(swift)


async def test_bulk_delete_plain_by_delete_without_slashes(swift: httpx.AsyncClient) -> None:
    # Tempest's form: no leading slash, the container after its object.
    await fill(swift, "c2", "keep", "x")
    r = await swift.request("DELETE", "", params={"bulk-delete": ""}, content=b"c2/x\nc2\nnope/y")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text.splitlines() == [
        "Number Deleted: 1",
        "Number Not Found: 1",
        "Response Body: ",
        "Response Status: 400 Bad Request",
        "Errors:",
        "c2, 409 Conflict",
    ]
    assert await names(swift, "c2") == ["keep"]


async def test_bulk_delete_limits_and_bad_requests(swift: httpx.AsyncClient) -> None:
    body = "\n".join(f"/c/{i}" for i in range(6)).encode()
    r = await swift.post("", params={"bulk-delete": ""}, content=body, headers=JSON)
    assert r.status_code == 200
    doc = r.json()
    assert doc["Response Status"] == "413 Request Entity Too Large"
    assert doc["Response Body"] == "Maximum Bulk Deletes: 5 per request"
    r = await swift.post("", params={"bulk-delete": ""}, content=b"\n\n", headers=JSON)
    assert r.json()["Response Status"] == "400 Bad Request"
    assert r.json()["Response Body"] == "Invalid bulk delete."
    r = await swift.post(
        "",
        params={"bulk-delete": ""},
        content=b"/c/x",
        headers={**JSON, "Content-Type": "application/json"},
    )
    assert r.json()["Response Status"] == "406 Not Acceptable"
    r = await swift.post(
        "", params={"bulk-delete": ""}, content=b"/c/x", headers={"Accept": "image/png"}
    )
    assert r.status_code == 200 and "Response Status: 406 Not Acceptable" in r.text


async def test_bulk_delete_xml(swift: httpx.AsyncClient) -> None:
    await fill(swift, "c3", "a")
    r = await swift.post(
        "", params={"bulk-delete": ""}, content=b"/c3/a", headers={"Accept": "application/xml"}
    )
    assert r.headers["content-type"].startswith("application/xml")
    assert "<number_deleted>1</number_deleted>" in r.text
    assert r.text.startswith("<delete>")


async def test_bulk_delete_respects_acls(swift: httpx.AsyncClient) -> None:
    await fill(swift, "shared", "a", "b")
    project, user, token = await member(swift)
    other = {"X-Auth-Token": token, **JSON}
    r = await swift.post(
        "", params={"bulk-delete": ""}, content=b"/shared/a\n/shared", headers=other
    )
    doc = r.json()
    assert doc["Number Deleted"] == 0
    assert sorted(doc["Errors"]) == [["/shared", "403 Forbidden"], ["/shared/a", "403 Forbidden"]]
    assert doc["Response Status"] == "400 Bad Request"
    assert await names(swift, "shared") == ["a", "b"]

    acl = f"{project['id']}:{user['id']}"
    assert (await swift.post("shared", headers={"X-Container-Write": acl})).status_code == 204
    r = await swift.post(
        "", params={"bulk-delete": ""}, content=b"/shared/a\n/shared", headers=other
    )
    doc = r.json()
    # The write ACL lets the user delete objects, never the container.
    assert doc["Number Deleted"] == 1
    assert doc["Errors"] == [["/shared", "403 Forbidden"]]
    assert await names(swift, "shared") == ["b"]

    r = await swift.post(
        "", params={"bulk-delete": ""}, content=b"/shared/b", headers={"X-Auth-Token": ""}
    )
    assert "/shared/b, 401 Unauthorized" in r.text


def tar_of(files: dict[str, bytes], mode: str = "w", dirs: tuple[str, ...] = ()) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tar:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            if name.endswith(".meta"):
                info.pax_headers = {
                    "SCHILY.xattr.user.meta.color": "blue",
                    "SCHILY.xattr.user.mime_type": "application/x-special",
                }
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


async def test_extract_tar_on_account(swift: httpx.AsyncClient) -> None:
    archive = tar_of(
        {
            "cx1/a.txt": b"alpha",
            "cx1/dir/deeper/b.json": b"{}",
            "./cx2/c.meta": b"meta",
            "top-level-file": b"ignored",
        },
        mode="w|",
        dirs=("cx1", "cx1/dir", "empty-dir"),
    )
    r = await swift.put("", params={"extract-archive": "tar"}, content=archive, headers=JSON)
    assert r.status_code == 200
    assert r.json() == {
        "Number Files Created": 3,
        "Response Body": "",
        "Response Status": "201 Created",
        "Errors": [],
    }
    assert await names(swift) == ["cx1", "cx2"]
    assert await names(swift, "cx1") == ["a.txt", "dir/deeper/b.json"]
    r = await swift.get("cx1/a.txt")
    assert r.content == b"alpha" and r.headers["content-type"] == "text/plain"
    r = await swift.get("cx2/c.meta")
    assert r.content == b"meta"
    assert r.headers["x-object-meta-color"] == "blue"
    assert r.headers["content-type"] == "application/x-special"


async def test_extract_tar_gz_and_bz2_under_prefix(swift: httpx.AsyncClient) -> None:
    assert (await swift.put("dest")).status_code == 201
    archive = tar_of({"one": b"1", "sub/two": b"22"}, mode="w:gz")
    r = await swift.put(
        "dest/pre/",
        params={"extract-archive": "tar.gz"},
        content=archive,
        headers={"X-Object-Meta-Batch": "7"},
    )
    assert r.status_code == 200
    assert "Number Files Created: 2" in r.text.splitlines()
    assert await names(swift, "dest") == ["pre/one", "pre/sub/two"]
    assert (await swift.head("dest/pre/sub/two")).headers["x-object-meta-batch"] == "7"
    archive = tar_of({"three": b"333"}, mode="w:bz2")
    r = await swift.put("dest", params={"extract-archive": "tar.bz2"}, content=archive)
    assert "Number Files Created: 1" in r.text.splitlines()
    assert (await swift.get("dest/three")).content == b"333"


async def test_extract_bad_archives(swift: httpx.AsyncClient) -> None:
    assert (await swift.put("dest")).status_code == 201
    r = await swift.put(
        "dest", params={"extract-archive": "tar"}, content=b"not a tar" * 100, headers=JSON
    )
    assert r.status_code == 200
    doc = r.json()
    assert doc["Response Status"] == "400 Bad Request"
    assert doc["Response Body"].startswith("Invalid Tar File")
    r = await swift.put(
        "dest", params={"extract-archive": "tar.gz"}, content=b"\x1f\x8bjunk", headers=JSON
    )
    assert r.json()["Response Status"] == "400 Bad Request"
    # On the account, a file outside any directory has no container to go to.
    r = await swift.put(
        "", params={"extract-archive": "tar"}, content=tar_of({"top": b"x"}), headers=JSON
    )
    assert r.json()["Response Body"] == "Invalid Tar File: No Valid Files"
    r = await swift.put("dest", params={"extract-archive": "zip"}, content=b"x")
    assert r.status_code == 400
    assert await names(swift, "dest") == []


async def test_extract_refused_without_write_access(swift: httpx.AsyncClient) -> None:
    assert (await swift.put("locked")).status_code == 201
    _, _, token = await member(swift)
    archive = tar_of({"locked/a": b"a", "newcont/b": b"b"})
    r = await swift.put(
        "",
        params={"extract-archive": "tar"},
        content=archive,
        headers={"X-Auth-Token": token, **JSON},
    )
    doc = r.json()
    assert doc["Number Files Created"] == 0
    assert doc["Errors"] == [["locked/a", "403 Forbidden"], ["newcont/b", "403 Forbidden"]]
    assert await names(swift) == ["locked"]
