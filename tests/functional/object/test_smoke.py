"""A first walk through Swift: containers, objects, listings, account totals."""

from __future__ import annotations

import hashlib

import httpx


async def test_put_get_list_delete(swift: httpx.AsyncClient) -> None:
    r = await swift.put("c1")
    assert r.status_code == 201, r.text
    assert (await swift.put("c1")).status_code == 202
    data = b"hello world" * 1000
    r = await swift.put("c1/a/b.txt", content=data)
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == hashlib.md5(data).hexdigest()
    r = await swift.get("c1/a/b.txt")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"] == "text/plain"
    r = await swift.get("c1", params={"format": "json"})
    assert [o["name"] for o in r.json()] == ["a/b.txt"]
    r = await swift.get("c1", params={"delimiter": "/"})
    assert r.text == "a/\n"
    r = await swift.head("")
    assert r.headers["x-account-object-count"] == "1"
    assert r.headers["x-account-bytes-used"] == str(len(data))
    r = await swift.get("c1/a/b.txt", headers={"Range": "bytes=0-4"})
    assert r.status_code == 206 and r.content == b"hello"
    assert (await swift.delete("c1")).status_code == 409
    assert (await swift.delete("c1/a/b.txt")).status_code == 204
    assert (await swift.delete("c1/a/b.txt")).status_code == 404
    assert (await swift.delete("c1")).status_code == 204
