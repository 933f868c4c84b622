"""Temp URLs: signed, expiring grants to one object for one method, as Swift's tempurl."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import httpx
import pytest

KEY = "account-secret"


async def anon(c: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response:
    """A request without the client's token."""
    req = c.build_request(method, url, **kw)
    del req.headers["x-auth-token"]
    return await c.send(req)


def path_of(swift: httpx.AsyncClient, rel: str, *, with_prefix: bool = True) -> str:
    """The path a client signs: the storage URL's path (with /object, or as Swift's /v1)."""
    path = swift.base_url.path + rel
    return path if with_prefix else path.removeprefix("/object")


def signature(key: str, method: str, expires: int | str, path: str, digest: str = "sha256") -> str:
    """The hex HMAC of a temp URL."""
    body = f"{method}\n{expires}\n{path}".encode()
    return hmac.new(key.encode(), body, getattr(hashlib, digest)).hexdigest()


def temp_url(
    swift: httpx.AsyncClient,
    rel: str,
    method: str = "GET",
    *,
    key: str = KEY,
    expires: int | None = None,
    digest: str = "sha256",
    **extra: str,
) -> tuple[str, dict[str, str]]:
    """(relative URL, query) for a temp URL to `rel`."""
    when = expires if expires is not None else int(time.time()) + 300
    sig = signature(key, method, when, path_of(swift, rel), digest)
    return rel, {"temp_url_sig": sig, "temp_url_expires": str(when), **extra}


@pytest.fixture
async def stocked(swift: httpx.AsyncClient) -> httpx.AsyncClient:
    """An account with a temp URL key, container c holding o.txt and pub/a, pub/b, priv/x."""
    assert (await swift.post("", headers={"X-Account-Meta-Temp-URL-Key": KEY})).status_code == 204
    assert (await swift.put("c")).status_code == 201
    for name in ("o.txt", "pub/a", "pub/b", "priv/x"):
        r = await swift.put(f"c/{name}", content=f"data of {name}".encode())
        assert r.status_code == 201, r.text
    return swift


async def test_get_and_head_with_account_key(stocked: httpx.AsyncClient) -> None:
    url, q = temp_url(stocked, "c/o.txt")
    r = await anon(stocked, "GET", url, params=q)
    assert r.status_code == 200, r.text
    assert r.content == b"data of o.txt"
    assert r.headers["etag"] == hashlib.md5(b"data of o.txt").hexdigest()
    r = await anon(stocked, "HEAD", url, params=q)
    assert r.status_code == 200
    assert r.headers["content-length"] == str(len(b"data of o.txt"))


async def test_download_headers(stocked: httpx.AsyncClient) -> None:
    url, q = temp_url(stocked, "c/o.txt")
    r = await anon(stocked, "GET", url, params=q)
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"o.txt\"; filename*=UTF-8''o.txt"
    )
    assert r.headers["expires"]
    r = await anon(stocked, "GET", url, params={**q, "inline": ""})
    assert r.headers["content-disposition"] == "inline"
    r = await anon(stocked, "GET", url, params={**q, "filename": "report 1.txt"})
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"report 1.txt\"; filename*=UTF-8''report%201.txt"
    )


async def test_private_metadata_is_not_served(stocked: httpx.AsyncClient) -> None:
    headers = {"X-Object-Meta-Secret": "s", "X-Object-Meta-Public-Color": "blue"}
    assert (await stocked.post("c/o.txt", headers=headers)).status_code == 202
    url, q = temp_url(stocked, "c/o.txt")
    r = await anon(stocked, "GET", url, params=q)
    assert r.status_code == 200
    assert "x-object-meta-secret" not in r.headers
    assert r.headers["x-object-meta-public-color"] == "blue"


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
async def test_hex_digests(stocked: httpx.AsyncClient, digest: str) -> None:
    url, q = temp_url(stocked, "c/o.txt", digest=digest)
    r = await anon(stocked, "GET", url, params=q)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("digest", ["sha256", "sha512"])
async def test_base64_digests(stocked: httpx.AsyncClient, digest: str) -> None:
    when = int(time.time()) + 60
    raw = bytes.fromhex(signature(KEY, "GET", when, path_of(stocked, "c/o.txt"), digest))
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        q = {"temp_url_sig": f"{digest}:{encoded}", "temp_url_expires": str(when)}
        r = await anon(stocked, "GET", "c/o.txt", params=q)
        assert r.status_code == 200, r.text


async def test_unknown_digest_is_refused(stocked: httpx.AsyncClient) -> None:
    when = int(time.time()) + 60
    sig = hmac.new(KEY.encode(), f"GET\n{when}\n/x".encode(), hashlib.md5).digest()
    q = {"temp_url_sig": "md5:" + base64.b64encode(sig).decode(), "temp_url_expires": str(when)}
    assert (await anon(stocked, "GET", "c/o.txt", params=q)).status_code == 401


async def test_path_without_the_object_prefix(stocked: httpx.AsyncClient) -> None:
    when = int(time.time()) + 60
    path = path_of(stocked, "c/o.txt", with_prefix=False)
    assert path.startswith("/v1/AUTH_")
    q = {"temp_url_sig": signature(KEY, "GET", when, path), "temp_url_expires": str(when)}
    assert (await anon(stocked, "GET", "c/o.txt", params=q)).status_code == 200


async def test_iso8601_expiry(stocked: httpx.AsyncClient) -> None:
    # As in Swift, the signature covers the expiry in seconds, whatever form the URL uses.
    seconds = int(time.time()) + 120
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
    q = {
        "temp_url_sig": signature(KEY, "GET", seconds, path_of(stocked, "c/o.txt")),
        "temp_url_expires": when,
    }
    assert (await anon(stocked, "GET", "c/o.txt", params=q)).status_code == 200


async def test_expired_and_altered_expiry(stocked: httpx.AsyncClient) -> None:
    past = int(time.time()) - 5
    url, q = temp_url(stocked, "c/o.txt", expires=past)
    r = await anon(stocked, "GET", url, params=q)
    assert r.status_code == 401
    assert r.headers["www-authenticate"]
    url, q = temp_url(stocked, "c/o.txt")
    q["temp_url_expires"] = str(int(q["temp_url_expires"]) + 3600)
    assert (await anon(stocked, "GET", url, params=q)).status_code == 401


async def test_incomplete_or_malformed_parameters(stocked: httpx.AsyncClient) -> None:
    url, q = temp_url(stocked, "c/o.txt")
    only_sig = {"temp_url_sig": q["temp_url_sig"]}
    only_expiry = {"temp_url_expires": q["temp_url_expires"]}
    for params in (only_sig, only_expiry, {**q, "temp_url_sig": "zz"}, {**q, "temp_url_sig": ""}):
        assert (await anon(stocked, "GET", url, params=params)).status_code == 401, params
    assert (
        await anon(stocked, "GET", url, params={**q, "temp_url_expires": "soon"})
    ).status_code == 401


async def test_a_valid_temp_url_overrides_a_bad_token(stocked: httpx.AsyncClient) -> None:
    url, q = temp_url(stocked, "c/o.txt")
    r = await stocked.get(url, params=q, headers={"X-Auth-Token": "not-a-token"})
    assert r.status_code == 200


async def test_wrong_method(stocked: httpx.AsyncClient) -> None:
    url, q = temp_url(stocked, "c/o.txt", "GET")
    assert (await anon(stocked, "PUT", url, params=q, content=b"x")).status_code == 401
    assert (await anon(stocked, "DELETE", url, params=q)).status_code == 401
    assert (await anon(stocked, "POST", url, params=q)).status_code == 401
    assert (await stocked.get("c/o.txt")).content == b"data of o.txt"


async def test_head_accepts_a_put_signature(stocked: httpx.AsyncClient) -> None:
    url, q = temp_url(stocked, "c/o.txt", "PUT")
    assert (await anon(stocked, "HEAD", url, params=q)).status_code == 200
    url, q = temp_url(stocked, "c/o.txt", "DELETE")
    assert (await anon(stocked, "HEAD", url, params=q)).status_code == 401


async def test_other_object_or_path(stocked: httpx.AsyncClient) -> None:
    _, q = temp_url(stocked, "c/o.txt")
    assert (await anon(stocked, "GET", "c/pub/a", params=q)).status_code == 401
    assert (await stocked.put("d")).status_code == 201
    assert (await stocked.put("d/o.txt", content=b"other")).status_code == 201
    assert (await anon(stocked, "GET", "d/o.txt", params=q)).status_code == 401


async def test_never_lists_a_container_or_account(stocked: httpx.AsyncClient) -> None:
    for rel in ("c", "c/", ""):
        url, q = temp_url(stocked, rel)
        assert (await anon(stocked, "GET", url, params=q)).status_code == 401, rel
        assert (await anon(stocked, "HEAD", url, params=q)).status_code == 401, rel
    url, q = temp_url(stocked, "c", "PUT")
    assert (await anon(stocked, "PUT", url, params=q)).status_code == 401
    url, q = temp_url(stocked, "c", "DELETE")
    assert (await anon(stocked, "DELETE", url, params=q)).status_code == 401
    # A prefix grant at the container root is staticweb's business only.
    _, q = temp_url(stocked, "c/")
    when = q["temp_url_expires"]
    path = "prefix:" + path_of(stocked, "c/", with_prefix=False)
    q = {"temp_url_sig": signature(KEY, "GET", when, path), "temp_url_expires": when}
    r = await anon(stocked, "GET", "c", params={**q, "temp_url_prefix": ""})
    assert r.status_code == 401
    assert (await stocked.head("c")).headers["x-container-object-count"] == "4"


async def test_put_creates_and_delete_removes(stocked: httpx.AsyncClient) -> None:
    url, q = temp_url(stocked, "c/new.bin", "PUT")
    r = await anon(stocked, "PUT", url, params=q, content=b"uploaded")
    assert r.status_code == 201, r.text
    assert (await stocked.get("c/new.bin")).content == b"uploaded"
    url, q = temp_url(stocked, "c/new.bin", "POST")
    r = await anon(stocked, "POST", url, params=q, headers={"X-Object-Meta-Tag": "t"})
    assert r.status_code == 202
    assert (await stocked.head("c/new.bin")).headers["x-object-meta-tag"] == "t"
    url, q = temp_url(stocked, "c/new.bin", "DELETE")
    assert (await anon(stocked, "DELETE", url, params=q)).status_code == 204
    assert (await stocked.get("c/new.bin")).status_code == 404


async def test_put_may_not_point_at_other_data(stocked: httpx.AsyncClient) -> None:
    url, q = temp_url(stocked, "c/m", "PUT")
    headers = {"X-Object-Manifest": "c/priv/"}
    r = await anon(stocked, "PUT", url, params=q, content=b"", headers=headers)
    assert r.status_code == 400
    assert "X-Object-Manifest" in r.text
    assert (await stocked.get("c/m")).status_code == 404


async def test_other_query_parameters_do_not_widen_the_grant(stocked: httpx.AsyncClient) -> None:
    url, q = temp_url(stocked, "c/o.txt", "DELETE")
    r = await anon(stocked, "DELETE", url, params={**q, "multipart-manifest": "delete"})
    assert r.status_code == 204
    assert (await stocked.get("c/pub/a")).status_code == 200


async def test_copy_is_not_a_temp_url_method(stocked: httpx.AsyncClient) -> None:
    url, q = temp_url(stocked, "c/o.txt", "COPY")
    r = await anon(stocked, "COPY", url, params=q, headers={"Destination": "c/copied"})
    assert r.status_code == 401
    assert (await stocked.get("c/copied")).status_code == 404


async def test_copy_from_needs_access_to_the_source(stocked: httpx.AsyncClient) -> None:
    url, q = temp_url(stocked, "c/copy", "PUT")
    r = await anon(stocked, "PUT", url, params=q, headers={"X-Copy-From": "c/priv/x"})
    assert r.status_code == 401
    assert (await stocked.get("c/copy")).status_code == 404


async def test_key_2_and_removed_keys(stocked: httpx.AsyncClient) -> None:
    r = await stocked.post("", headers={"X-Account-Meta-Temp-URL-Key-2": "second"})
    assert r.status_code == 204
    url, q = temp_url(stocked, "c/o.txt", key="second")
    assert (await anon(stocked, "GET", url, params=q)).status_code == 200
    r = await stocked.post("", headers={"X-Remove-Account-Meta-Temp-URL-Key-2": "x"})
    assert r.status_code == 204
    assert (await anon(stocked, "GET", url, params=q)).status_code == 401


async def test_container_key_is_scoped_to_its_container(stocked: httpx.AsyncClient) -> None:
    r = await stocked.post("c", headers={"X-Container-Meta-Temp-URL-Key": "ckey"})
    assert r.status_code == 204
    assert (await stocked.put("d")).status_code == 201
    assert (await stocked.put("d/o.txt", content=b"other")).status_code == 201
    url, q = temp_url(stocked, "c/o.txt", key="ckey")
    assert (await anon(stocked, "GET", url, params=q)).status_code == 200
    url, q = temp_url(stocked, "d/o.txt", key="ckey")
    assert (await anon(stocked, "GET", url, params=q)).status_code == 401
    r = await stocked.post("c", headers={"X-Container-Meta-Temp-URL-Key-2": "ckey2"})
    assert r.status_code == 204
    url, q = temp_url(stocked, "c/o.txt", key="ckey2")
    assert (await anon(stocked, "GET", url, params=q)).status_code == 200


async def test_no_key_no_grant(swift: httpx.AsyncClient) -> None:
    assert (await swift.put("c")).status_code == 201
    assert (await swift.put("c/o", content=b"x")).status_code == 201
    url, q = temp_url(swift, "c/o")
    assert (await anon(swift, "GET", url, params=q)).status_code == 401


async def test_prefix_grant(stocked: httpx.AsyncClient) -> None:
    when = int(time.time()) + 60
    for with_prefix in (False, True):
        path = "prefix:" + path_of(stocked, "c/pub/", with_prefix=with_prefix)
        q = {
            "temp_url_sig": signature(KEY, "GET", when, path),
            "temp_url_expires": str(when),
            "temp_url_prefix": "pub/",
        }
        for name in ("pub/a", "pub/b"):
            r = await anon(stocked, "GET", f"c/{name}", params=q)
            assert r.status_code == 200 and r.content == f"data of {name}".encode()
        assert (await anon(stocked, "GET", "c/priv/x", params=q)).status_code == 401
        # The prefix is part of what was signed: widening it breaks the signature.
        r = await anon(stocked, "GET", "c/priv/x", params={**q, "temp_url_prefix": ""})
        assert r.status_code == 401


async def test_ip_range(stocked: httpx.AsyncClient) -> None:
    when = int(time.time()) + 60
    path = path_of(stocked, "c/o.txt")
    for ip_range, status in (("127.0.0.0/8", 200), ("10.0.0.0/8", 401), ("nonsense", 401)):
        body = f"ip={ip_range}\nGET\n{when}\n{path}".encode()
        q = {
            "temp_url_sig": hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest(),
            "temp_url_expires": str(when),
            "temp_url_ip_range": ip_range,
        }
        assert (await anon(stocked, "GET", "c/o.txt", params=q)).status_code == status, ip_range
    # The range is signed: dropping it from the URL breaks the signature.
    del q["temp_url_ip_range"]
    assert (await anon(stocked, "GET", "c/o.txt", params=q)).status_code == 401


async def test_info_lists_tempurl(swift: httpx.AsyncClient) -> None:
    info = (await swift.get("http://testserver/object/info")).json()
    assert info["tempurl"]["methods"] == ["GET", "HEAD", "PUT", "POST", "DELETE"]
    assert info["tempurl"]["allowed_digests"] == ["sha1", "sha256", "sha512"]
    assert info["tempurl"]["deprecated_digests"] == ["sha1"]
    assert info["tempurl"]["outgoing_allow_headers"] == ["x-object-meta-public-*"]
    assert "sha512" in info["formpost"]["allowed_digests"]
