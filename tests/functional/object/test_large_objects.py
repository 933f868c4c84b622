"""Static and dynamic large objects: manifests, validation, serving, ranges, copies, deletes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from stackling.settings import Settings
from tests.conftest import make_settings


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """The object cloud with a small manifest segment limit."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "object"],
        object={"reaper_interval_s": 0.2, "max_manifest_segments": 4},
    )


def md5(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.md5(raw).hexdigest()


async def segments(swift: httpx.AsyncClient, container: str, parts: dict[str, bytes]) -> None:
    assert (await swift.put(container)).status_code in (201, 202)
    for name, data in parts.items():
        r = await swift.put(f"{container}/{name}", content=data)
        assert r.status_code == 201, r.text


async def put_manifest(
    swift: httpx.AsyncClient, path: str, manifest: object, **headers: str
) -> httpx.Response:
    return await swift.put(
        path,
        params={"multipart-manifest": "put"},
        content=json.dumps(manifest).encode(),
        headers=headers,
    )


A, B, C = b"a" * 10, b"b" * 20, b"c" * 5


async def two_part(swift: httpx.AsyncClient) -> httpx.Response:
    await segments(swift, "segs", {"a": A, "b": B})
    manifest = [
        {"path": "/segs/a", "etag": md5(A), "size_bytes": len(A)},
        {"path": "/segs/b", "etag": None, "size_bytes": None},
    ]
    assert (await swift.put("big")).status_code == 201
    return await put_manifest(swift, "big/obj", manifest, **{"Content-Type": "text/x-big"})


async def test_slo_put_get_head_and_listing(swift: httpx.AsyncClient) -> None:
    r = await two_part(swift)
    assert r.status_code == 201, r.text
    slo_etag = md5(md5(A) + md5(B))
    assert r.headers["etag"] == f'"{slo_etag}"'
    assert "last-modified" in r.headers

    r = await swift.get("big/obj")
    assert r.status_code == 200
    assert r.content == A + B
    assert r.headers["etag"] == f'"{slo_etag}"'
    assert r.headers["x-static-large-object"] == "True"
    assert r.headers["content-length"] == str(len(A + B))
    assert r.headers["content-type"] == "text/x-big"

    r = await swift.head("big/obj")
    assert r.status_code == 200
    assert r.headers["content-length"] == str(len(A + B))
    assert r.headers["etag"] == f'"{slo_etag}"'
    assert r.headers["x-static-large-object"] == "True"

    listing = (await swift.get("big", params={"format": "json"})).json()
    assert [(o["name"], o["bytes"], o["hash"]) for o in listing] == [("obj", len(A + B), slo_etag)]
    r = await swift.head("big")
    assert r.headers["x-container-bytes-used"] == str(len(A + B))


async def test_slo_manifest_get_returns_stored_manifest(swift: httpx.AsyncClient) -> None:
    assert (await two_part(swift)).status_code == 201
    r = await swift.get("big/obj", params={"multipart-manifest": "get"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert [(s["name"], s["bytes"], s["hash"]) for s in doc] == [
        ("/segs/a", len(A), md5(A)),
        ("/segs/b", len(B), md5(B)),
    ]
    assert all(s["content_type"] and s["last_modified"] for s in doc)
    assert r.headers["etag"] == md5(r.content)


async def test_slo_ranges_across_segments(swift: httpx.AsyncClient) -> None:
    assert (await two_part(swift)).status_code == 201
    whole = A + B
    r = await swift.get("big/obj", headers={"Range": "bytes=8-12"})
    assert r.status_code == 206
    assert r.content == whole[8:13]
    assert r.headers["content-range"] == f"bytes 8-12/{len(whole)}"
    r = await swift.get("big/obj", headers={"Range": "bytes=-3"})
    assert r.status_code == 206 and r.content == whole[-3:]
    r = await swift.get("big/obj", headers={"Range": "bytes=0-1,9-10,28-"})
    assert r.status_code == 206
    assert r.headers["content-type"].startswith("multipart/byteranges")
    for part in (whole[0:2], whole[9:11], whole[28:]):
        assert part in r.content
    assert b"bytes 9-10/30" in r.content
    r = await swift.get("big/obj", headers={"Range": "bytes=40-50"})
    assert r.status_code == 416


async def test_slo_segment_ranges(swift: httpx.AsyncClient) -> None:
    await segments(swift, "segs", {"a": A, "b": B})
    manifest = [
        {"path": "/segs/a", "range": "2-4"},
        {"path": "/segs/b", "range": "-3"},
        {"path": "/segs/a", "range": "0-"},
    ]
    r = await put_manifest(swift, "segs/ranged", manifest)
    assert r.status_code == 201, r.text
    expected = A[2:5] + B[-3:] + A
    assert r.headers["etag"] == f'"{md5(f"{md5(A)}:2-4;{md5(B)}:17-19;{md5(A)}")}"'
    r = await swift.get("segs/ranged")
    assert r.content == expected
    r = await swift.get("segs/ranged", headers={"Range": "bytes=2-5"})
    assert r.content == expected[2:6]
    listing = (await swift.get("segs", params={"format": "json", "prefix": "ranged"})).json()
    assert listing[0]["bytes"] == len(expected)


async def test_slo_nested(swift: httpx.AsyncClient) -> None:
    assert (await two_part(swift)).status_code == 201
    await segments(swift, "segs", {"c": C})
    inner = (await swift.head("big/obj")).headers["etag"].strip('"')
    manifest = [
        {"path": "/segs/c"},
        {"path": "/big/obj", "etag": inner, "size_bytes": len(A + B)},
        {"path": "/big/obj", "range": "9-10"},
    ]
    r = await put_manifest(swift, "big/outer", manifest)
    assert r.status_code == 201, r.text
    whole = C + A + B + (A + B)[9:11]
    r = await swift.get("big/outer")
    assert r.status_code == 200 and r.content == whole
    r = await swift.get("big/outer", headers={"Range": "bytes=3-16"})
    assert r.content == whole[3:17]
    stored = (await swift.get("big/outer", params={"multipart-manifest": "get"})).json()
    assert stored[1]["sub_slo"] is True and stored[1]["bytes"] == len(A + B)


async def test_slo_validation_errors(swift: httpx.AsyncClient) -> None:
    await segments(swift, "segs", {"a": A, "b": B})
    r = await swift.put("segs/m", params={"multipart-manifest": "put"}, content=b"{not json")
    assert r.status_code == 400 and "Manifest must be valid JSON" in r.text
    r = await put_manifest(swift, "segs/m", {"path": "/segs/a"})
    assert r.status_code == 400 and "Manifest must be a list" in r.text
    r = await put_manifest(swift, "segs/m", [{"path": "/segs/a"}, {"nope": 1}, {"path": "x"}])
    assert r.status_code == 400
    assert "Index 1: expected keys" in r.text and "Index 2: path does not refer" in r.text
    r = await put_manifest(swift, "segs/m", [{"path": "/segs/m"}])
    assert r.status_code == 400 and "must not include itself" in r.text
    r = await put_manifest(swift, "segs/m", [{"path": "/segs/a", "range": "x-y"}])
    assert r.status_code == 400 and "invalid range" in r.text
    r = await put_manifest(swift, "segs/m", [{"path": "/segs/a"}] * 5)
    assert r.status_code == 413 and "must be <= 4" in r.text

    manifest = [
        {"path": "/segs/missing"},
        {"path": "/segs/a", "etag": "0" * 32},
        {"path": "/segs/b", "size_bytes": 3},
        {"path": "/nocontainer/x"},
    ]
    r = await put_manifest(swift, "segs/m", manifest)
    assert r.status_code == 400
    assert r.text.splitlines() == [
        "Errors:",
        "/segs/missing, 404 Not Found",
        "/segs/a, Etag Mismatch",
        "/segs/b, Size Mismatch",
        "/nocontainer/x, 404 Not Found",
    ]
    r = await put_manifest(swift, "segs/m", manifest, Accept="application/json")
    assert r.status_code == 400
    assert r.json()["Errors"][0] == ["/segs/missing", "404 Not Found"]
    r = await put_manifest(swift, "segs/m", [{"path": "/segs/a", "range": "10-20"}])
    assert r.status_code == 400 and "Unsatisfiable Range" in r.text
    r = await put_manifest(swift, "segs/m", [{"path": "/segs/a"}], Etag="0" * 32)
    assert r.status_code == 422
    assert (await swift.head("segs/m")).status_code == 404


async def test_slo_reserved_header_and_missing_segment(swift: httpx.AsyncClient) -> None:
    r = await swift.put("c", headers={})
    r = await swift.put("c/o", content=b"x", headers={"X-Static-Large-Object": "True"})
    assert r.status_code == 400
    assert (await two_part(swift)).status_code == 201
    assert (await swift.delete("segs/b")).status_code == 204
    r = await swift.get("big/obj")
    assert r.status_code == 409
    # The manifest itself is still there and readable as such.
    r = await swift.get("big/obj", params={"multipart-manifest": "get"})
    assert r.status_code == 200 and len(r.json()) == 2


async def test_slo_changed_segment_is_a_conflict(swift: httpx.AsyncClient) -> None:
    assert (await two_part(swift)).status_code == 201
    assert (await swift.put("segs/a", content=b"different")).status_code == 201
    assert (await swift.get("big/obj")).status_code == 409


async def test_slo_copy(swift: httpx.AsyncClient) -> None:
    assert (await two_part(swift)).status_code == 201
    r = await swift.put("big/flat", headers={"X-Copy-From": "big/obj"})
    assert r.status_code == 201, r.text
    r = await swift.get("big/flat")
    assert r.content == A + B
    assert "x-static-large-object" not in r.headers
    assert r.headers["etag"] == md5(A + B)

    r = await swift.put(
        "big/manifest-copy",
        headers={"X-Copy-From": "big/obj"},
        params={"multipart-manifest": "get"},
    )
    assert r.status_code == 201, r.text
    r = await swift.get("big/manifest-copy")
    assert r.content == A + B
    assert r.headers["x-static-large-object"] == "True"
    listing = {o["name"]: o for o in (await swift.get("big", params={"format": "json"})).json()}
    assert listing["manifest-copy"]["bytes"] == len(A + B)
    assert listing["manifest-copy"]["hash"] == listing["obj"]["hash"]


async def test_slo_delete_with_segments(swift: httpx.AsyncClient) -> None:
    assert (await two_part(swift)).status_code == 201
    await segments(swift, "segs", {"c": C})
    assert (
        await put_manifest(swift, "big/outer", [{"path": "/big/obj"}, {"path": "/segs/c"}])
    ).status_code == 201
    r = await swift.delete(
        "big/outer", params={"multipart-manifest": "delete"}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 200
    body = r.json()
    # segs/a, segs/b, segs/c, the inner manifest and the outer one.
    assert body["Number Deleted"] == 5, body
    assert body["Number Not Found"] == 0 and body["Errors"] == []
    assert body["Response Status"] == "200 OK"
    r = await swift.get("segs", params={"format": "json"})
    assert r.json() == []
    assert (await swift.head("big")).headers["x-container-object-count"] == "0"


async def test_slo_plain_delete_keeps_segments(swift: httpx.AsyncClient) -> None:
    assert (await two_part(swift)).status_code == 201
    assert (await swift.delete("big/obj")).status_code == 204
    names = (await swift.get("segs")).text.split()
    assert names == ["a", "b"]


async def test_slo_delete_reports_in_text_and_not_an_slo(swift: httpx.AsyncClient) -> None:
    assert (await two_part(swift)).status_code == 201
    assert (await swift.delete("segs/b")).status_code == 204
    r = await swift.delete("big/obj", params={"multipart-manifest": "delete"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert "Number Deleted: 2" in lines and "Number Not Found: 1" in lines
    assert "Response Status: 200 OK" in lines
    assert (await swift.head("segs/a")).status_code == 404
    assert (await swift.put("segs/plain", content=b"p")).status_code == 201
    r = await swift.delete(
        "segs/plain",
        params={"multipart-manifest": "delete"},
        headers={"Accept": "application/json"},
    )
    body = r.json()
    assert body["Response Status"] == "400 Bad Request", body
    assert body["Errors"] == [["/segs/plain", "Not an SLO manifest"]]
    assert (await swift.head("segs/plain")).status_code == 200


async def dlo_setup(swift: httpx.AsyncClient) -> None:
    await segments(swift, "parts", {"seg/2": b"BB", "seg/1": b"A", "seg/3": b"CCC", "other": b"x"})
    assert (await swift.put("files")).status_code == 201
    r = await swift.put("files/dlo", content=b"", headers={"X-Object-Manifest": "parts/seg/"})
    assert r.status_code == 201


async def test_dlo_order_etag_and_live_updates(swift: httpx.AsyncClient) -> None:
    await dlo_setup(swift)
    r = await swift.get("files/dlo")
    assert r.status_code == 200 and r.content == b"ABBCCC"
    assert r.headers["etag"] == f'"{md5(md5(b"A") + md5(b"BB") + md5(b"CCC"))}"'
    assert r.headers["x-object-manifest"] == "parts/seg/"
    r = await swift.head("files/dlo")
    assert r.headers["content-length"] == "6"
    assert r.headers["etag"].startswith('"')

    assert (await swift.put("parts/seg/0", content=b"zero")).status_code == 201
    assert (await swift.delete("parts/seg/2")).status_code == 204
    r = await swift.get("files/dlo")
    assert r.content == b"zeroACCC"
    assert r.headers["etag"] == f'"{md5(md5(b"zero") + md5(b"A") + md5(b"CCC"))}"'


async def test_dlo_ranges_and_manifest_get(swift: httpx.AsyncClient) -> None:
    await dlo_setup(swift)
    r = await swift.get("files/dlo", headers={"Range": "bytes=1-3"})
    assert r.status_code == 206 and r.content == b"BBC"
    r = await swift.get("files/dlo", headers={"Range": "bytes=0-0,5-5"})
    assert r.status_code == 206 and b"\r\nA\r\n" in r.content and b"\r\nC\r\n" in r.content
    r = await swift.get("files/dlo", params={"multipart-manifest": "get"})
    assert r.status_code == 200 and r.content == b""
    assert r.headers["etag"] == md5(b"")


async def test_dlo_includes_itself_when_under_its_prefix(swift: httpx.AsyncClient) -> None:
    # Tempest's layout: the manifest "L" and its segments "L/0".."L/2" in one container.
    await segments(swift, "t", {f"L/{i}": f"part{i}".encode() for i in range(3)})
    r = await swift.put("t/L", content=b"", headers={"X-Object-Manifest": "t/L"})
    assert r.status_code == 201
    assert (await swift.get("t/L")).content == b"part0part1part2"


async def test_dlo_set_by_post_and_empty(swift: httpx.AsyncClient) -> None:
    await dlo_setup(swift)
    assert (await swift.put("files/later", content=b"own")).status_code == 201
    r = await swift.post("files/later", headers={"X-Object-Manifest": "parts/nothing-here"})
    assert r.status_code == 202
    r = await swift.get("files/later")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["etag"] == f'"{md5(b"")}"'


async def test_dlo_needs_read_access_to_segments(swift: httpx.AsyncClient) -> None:
    await dlo_setup(swift)
    r = await swift.post("files", headers={"X-Container-Read": ".r:*,.rlistings"})
    assert r.status_code == 204
    anonymous = {"X-Auth-Token": ""}
    r = await swift.get("files/dlo", headers=anonymous)
    assert r.status_code == 401
    r = await swift.post("parts", headers={"X-Container-Read": ".r:*,.rlistings"})
    r = await swift.get("files/dlo", headers=anonymous)
    assert r.status_code == 200 and r.content == b"ABBCCC"


async def test_dlo_copy_assembles(swift: httpx.AsyncClient) -> None:
    await dlo_setup(swift)
    r = await swift.put("files/flat", headers={"X-Copy-From": "files/dlo"})
    assert r.status_code == 201
    r = await swift.get("files/flat")
    assert r.content == b"ABBCCC" and "x-object-manifest" not in r.headers


async def test_info_reports_limits(swift: httpx.AsyncClient) -> None:
    r = await swift.get("http://testserver/object/info")
    doc = r.json()
    assert doc["slo"] == {
        "max_manifest_segments": 4,
        "max_manifest_size": 8 * 1024 * 1024,
        "min_segment_size": 1,
    }
    assert doc["bulk_delete"]["max_failed_deletes"] == 1000
    assert doc["bulk_upload"]["max_containers_per_extraction"] == 10000
