"""Form POST: signed browser uploads into a container, as Swift's formpost middleware."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

KEY = "form-secret"
BOUNDARY = "--boundary--"


async def anon(c: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response:
    """A request without the client's token."""
    req = c.build_request(method, url, **kw)
    del req.headers["x-auth-token"]
    return await c.send(req)


def form(
    swift: httpx.AsyncClient,
    rel: str,
    files: list[tuple[str, bytes]],
    *,
    key: str = KEY,
    redirect: str = "",
    max_file_size: int = 1024,
    max_file_count: int = 10,
    expires: int | None = None,
    digest: str = "sha1",
    with_prefix: bool = True,
    extra: dict[str, str] | None = None,
    file_type: str = "application/octet-stream",
) -> bytes:
    """A multipart form body signed for `rel`, its fields first, then its files."""
    when = expires if expires is not None else int(time.time()) + 600
    path = swift.base_url.path + rel
    if not with_prefix:
        path = path.removeprefix("/object")
    body = f"{path}\n{redirect}\n{max_file_size}\n{max_file_count}\n{when}".encode()
    mac = hmac.new(key.encode(), body, getattr(hashlib, digest))
    sig = (
        mac.hexdigest()
        if digest == "sha1"
        else f"{digest}:{base64.b64encode(mac.digest()).decode()}"
    )
    fields = {
        "redirect": redirect,
        "max_file_size": str(max_file_size),
        "max_file_count": str(max_file_count),
        "expires": str(when),
        "signature": sig,
        **(extra or {}),
    }
    out: list[bytes] = []
    for name, value in fields.items():
        out.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        )
        out.append(value.encode() + b"\r\n")
    for i, (filename, data) in enumerate(files):
        head = (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
            f'name="file{i}"; filename="{filename}"\r\nContent-Type: {file_type}\r\n\r\n'
        )
        out.append(head.encode() + data + b"\r\n")
    out.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(out)


CTYPE = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


@pytest.fixture
async def keyed(swift: httpx.AsyncClient) -> httpx.AsyncClient:
    """An account with a temp URL key and an empty container c."""
    assert (await swift.post("", headers={"X-Account-Meta-Temp-URL-Key": KEY})).status_code == 204
    assert (await swift.put("c")).status_code == 201
    return swift


async def test_tempest_shaped_form(keyed: httpx.AsyncClient) -> None:
    body = form(keyed, "c/obj", [("testfile", b"hello world")])
    r = await keyed.post("c/obj", content=body, headers=CTYPE)
    assert r.status_code == 201, r.text
    assert r.text == "201 Created"
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["x-trans-id"]
    r = await keyed.get("c/objtestfile")
    assert r.status_code == 200 and r.content == b"hello world"
    assert r.headers["content-type"] == "application/octet-stream"


async def test_anonymous_upload_to_container_root(keyed: httpx.AsyncClient) -> None:
    files = [("a.txt", b"first"), ("b.txt", b"second")]
    body = form(keyed, "c", files, with_prefix=False, file_type="text/x-note")
    r = await anon(keyed, "POST", "c", content=body, headers=CTYPE)
    assert r.status_code == 201, r.text
    r = await keyed.get("c", params={"format": "json"})
    assert [(o["name"], o["content_type"]) for o in r.json()] == [
        ("a.txt", "text/x-note"),
        ("b.txt", "text/x-note"),
    ]


@pytest.mark.parametrize("digest", ["sha256", "sha512"])
async def test_base64_signatures(keyed: httpx.AsyncClient, digest: str) -> None:
    body = form(keyed, "c/p/", [("f", b"x")], digest=digest)
    r = await anon(keyed, "POST", "c/p/", content=body, headers=CTYPE)
    assert r.status_code == 201, r.text
    assert (await keyed.get("c/p/f")).content == b"x"


async def test_redirect(keyed: httpx.AsyncClient) -> None:
    body = form(keyed, "c", [("f", b"x")], redirect="https://example.com/done")
    r = await anon(keyed, "POST", "c", content=body, headers=CTYPE)
    assert r.status_code == 303
    assert r.headers["location"] == "https://example.com/done?status=201&message="
    assert 'href="https://example.com/done?status=201&message="' in r.text
    body = form(keyed, "c", [("f", b"x")] * 2, redirect="https://e.x/?a=1", max_file_count=1)
    r = await anon(keyed, "POST", "c", content=body, headers=CTYPE)
    assert r.status_code == 303
    assert r.headers["location"] == (
        "https://e.x/?a=1&status=400&message=max%20file%20count%20exceeded"
    )


async def test_max_file_count(keyed: httpx.AsyncClient) -> None:
    files = [("1", b"a"), ("2", b"b"), ("3", b"c")]
    body = form(keyed, "c", files, max_file_count=2)
    r = await anon(keyed, "POST", "c", content=body, headers=CTYPE)
    assert r.status_code == 400
    assert r.text == "400 Bad Request\r\nFormPost: Max File Count Exceeded"
    assert (await keyed.get("c")).text == "1\n2\n"


async def test_max_file_size(keyed: httpx.AsyncClient) -> None:
    body = form(keyed, "c", [("big", b"x" * 11)], max_file_size=10)
    r = await anon(keyed, "POST", "c", content=body, headers=CTYPE)
    assert r.status_code == 400
    assert r.text == "FormPost: max_file_size exceeded"
    assert (await keyed.get("c/big")).status_code == 404
    body = form(keyed, "c", [("fits", b"x" * 10)], max_file_size=10)
    assert (await anon(keyed, "POST", "c", content=body, headers=CTYPE)).status_code == 201


async def test_expired_form(keyed: httpx.AsyncClient) -> None:
    body = form(keyed, "c", [("f", b"x")], expires=int(time.time()) - 1)
    r = await anon(keyed, "POST", "c", content=body, headers=CTYPE)
    assert r.status_code == 401
    assert "FormPost: Form Expired" in r.text
    assert (await keyed.get("c/f")).status_code == 404


async def test_invalid_signatures(keyed: httpx.AsyncClient) -> None:
    cases = [
        form(keyed, "c", [("f", b"x")], key="wrong"),
        # Signed for another path than the one posted to.
        form(keyed, "c/other/", [("f", b"x")]),
    ]
    for body in cases:
        r = await anon(keyed, "POST", "c", content=body, headers=CTYPE)
        assert r.status_code == 401
        assert "FormPost: Invalid Signature" in r.text
    # A signed field changed after signing.
    body = form(keyed, "c", [("f", b"x")], max_file_size=10).replace(b"\r\n10\r\n", b"\r\n99\r\n")
    r = await anon(keyed, "POST", "c", content=body, headers=CTYPE)
    assert r.status_code == 401
    assert (await keyed.get("c/f")).status_code == 404


async def test_no_key_no_upload(swift: httpx.AsyncClient) -> None:
    assert (await swift.put("c")).status_code == 201
    body = form(swift, "c", [("f", b"x")])
    r = await anon(swift, "POST", "c", content=body, headers=CTYPE)
    assert r.status_code == 401
    assert "FormPost: Invalid Signature" in r.text


async def test_container_key(swift: httpx.AsyncClient) -> None:
    assert (
        await swift.put("c", headers={"X-Container-Meta-Temp-URL-Key": "ck"})
    ).status_code == 201
    body = form(swift, "c", [("f", b"x")], key="ck")
    assert (await anon(swift, "POST", "c", content=body, headers=CTYPE)).status_code == 201


async def test_missing_container(keyed: httpx.AsyncClient) -> None:
    body = form(keyed, "nope", [("f", b"x")])
    r = await anon(keyed, "POST", "nope", content=body, headers=CTYPE)
    assert r.status_code == 404


async def test_no_files(keyed: httpx.AsyncClient) -> None:
    body = form(keyed, "c", [])
    r = await anon(keyed, "POST", "c", content=body, headers=CTYPE)
    assert r.status_code == 400
    assert r.text == "400 Bad Request\r\nFormPost: No Files To Process"


async def test_bad_forms(keyed: httpx.AsyncClient) -> None:
    r = await anon(keyed, "POST", "c", content=b"garbage", headers=CTYPE)
    assert r.status_code == 400
    assert r.text == "FormPost: invalid starting boundary"
    body = form(keyed, "c", [("f", b"x")], extra={"max_file_count": "many"})
    r = await anon(keyed, "POST", "c", content=body, headers=CTYPE)
    assert r.status_code == 400
    assert r.text == "FormPost: max_file_count not an integer"
    truncated = form(keyed, "c", [("f", b"x" * 100)])[:-40]
    r = await anon(keyed, "POST", "c", content=truncated, headers=CTYPE)
    assert r.status_code == 400
    assert (await keyed.get("c/f")).status_code == 404


async def test_expiry_fields(keyed: httpx.AsyncClient) -> None:
    body = form(keyed, "c", [("f", b"x")], extra={"x_delete_after": "100"})
    assert (await anon(keyed, "POST", "c", content=body, headers=CTYPE)).status_code == 201
    at = int((await keyed.head("c/f")).headers["x-delete-at"])
    assert time.time() + 90 < at <= time.time() + 101
    body = form(keyed, "c", [("g", b"x")], extra={"x_delete_at": "soon"})
    r = await anon(keyed, "POST", "c", content=body, headers=CTYPE)
    assert r.status_code == 400
    assert "x_delete_at not an integer" in r.text


async def test_body_is_streamed_in_small_pieces(keyed: httpx.AsyncClient) -> None:
    data = bytes(range(256)) * 2000 + b"\r\n--" + BOUNDARY.encode()[:-1]
    body = form(keyed, "c", [("big", data), ("small", b"s")], max_file_size=len(data))

    async def pieces() -> AsyncIterator[bytes]:
        # Odd sizes put boundaries across piece edges.
        for at in range(0, len(body), 7919):
            yield body[at : at + 7919]

    r = await anon(keyed, "POST", "c", content=pieces(), headers=CTYPE)
    assert r.status_code == 201, r.text
    r = await keyed.get("c/big")
    assert r.content == data
    assert r.headers["etag"] == hashlib.md5(data).hexdigest()
    assert (await keyed.get("c/small")).content == b"s"


async def test_post_without_boundary_is_an_ordinary_post(keyed: httpx.AsyncClient) -> None:
    assert (await keyed.put("c/o", content=b"x")).status_code == 201
    r = await keyed.post("c/o", headers={"Content-Type": "multipart/form-data"})
    assert r.status_code == 202
    r = await anon(keyed, "POST", "c", headers={"Content-Type": "multipart/form-data"})
    assert r.status_code == 401
