"""Tenant isolation and container ACLs, as keystoneauth grants them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.identity import create_project, create_user, grant, token_for


@dataclass
class Member:
    """A user with a role on a project, and a token scoped to it."""

    project_id: str
    project_name: str
    user_id: str
    user_name: str
    token: str


@dataclass
class Cloud:
    """Project A (owner of the containers) and project B (the other tenant)."""

    c: httpx.AsyncClient
    a: Member
    b: Member
    b2: Member
    a_reader: Member
    other: Member

    def url(self, rel: str = "") -> str:
        """A path in A's account."""
        return f"/object/v1/AUTH_{self.a.project_id}/{rel}"

    async def send(self, who: Member | None, method: str, rel: str, **kw: Any) -> httpx.Response:
        """A request to A's account as `who` (None: anonymous)."""
        req = self.c.build_request(method, self.url(rel), **kw)
        del req.headers["x-auth-token"]
        if who is not None:
            req.headers["X-Auth-Token"] = who.token
        return await self.c.send(req)


async def _member(c: httpx.AsyncClient, project: dict[str, Any], role: str) -> Member:
    user = await create_user(c)
    await grant(c, role, user=user["id"], project=project["id"])
    token, _ = await token_for(c, user["id"], project=project["id"])
    return Member(project["id"], project["name"], user["id"], user["name"], token)


@pytest.fixture
async def cloud(admin: httpx.AsyncClient) -> Cloud:
    """Projects A and B with members, a reader on A, and A's container c holding o."""
    proj_a, proj_b, proj_c = [await create_project(admin) for _ in range(3)]
    a = await _member(admin, proj_a, "member")
    cl = Cloud(
        admin,
        a,
        await _member(admin, proj_b, "member"),
        await _member(admin, proj_b, "member"),
        await _member(admin, proj_a, "reader"),
        await _member(admin, proj_c, "member"),
    )
    assert (await cl.send(a, "PUT", "c")).status_code == 201
    assert (await cl.send(a, "PUT", "c/o", content=b"data")).status_code == 201
    return cl


async def _set(cl: Cloud, **headers: str) -> None:
    r = await cl.send(cl.a, "POST", "c", headers=headers)
    assert r.status_code == 204, r.text


# (method, path) pairs another tenant tries on A's account.
ATTEMPTS = [
    ("GET", ""),
    ("HEAD", ""),
    ("POST", ""),
    ("GET", "c"),
    ("HEAD", "c"),
    ("PUT", "c"),
    ("POST", "c"),
    ("DELETE", "c"),
    ("PUT", "c2"),
    ("GET", "c/o"),
    ("HEAD", "c/o"),
    ("PUT", "c/o"),
    ("POST", "c/o"),
    ("DELETE", "c/o"),
    ("GET", "missing/o"),
]


async def test_other_tenants_and_anonymous_are_refused(cloud: Cloud) -> None:
    for method, rel in ATTEMPTS:
        kw = {"content": b"x"} if method == "PUT" and "/" in rel else {}
        r = await cloud.send(cloud.b, method, rel, **kw)
        assert r.status_code == 403, (method, rel, r.status_code)
        r = await cloud.send(None, method, rel, **kw)
        assert r.status_code == 401, (method, rel, r.status_code)
    assert (await cloud.send(cloud.a, "GET", "c/o")).content == b"data"
    assert (await cloud.send(cloud.a, "HEAD", "c")).headers["x-container-object-count"] == "1"


async def test_project_reader_role_is_not_an_operator(cloud: Cloud) -> None:
    # keystoneauth's project_reader_roles is empty by default: a reader gets nothing.
    for method, rel in (("GET", ""), ("GET", "c"), ("GET", "c/o"), ("PUT", "c/n")):
        r = await cloud.send(cloud.a_reader, method, rel, content=b"x" if method == "PUT" else None)
        assert r.status_code == 403, (method, rel)
    await _set(cloud, **{"X-Container-Read": f"{cloud.a.project_id}:*"})
    assert (await cloud.send(cloud.a_reader, "GET", "c/o")).status_code == 200


@pytest.mark.parametrize("by", ["ids", "names"])
async def test_read_acl_for_one_user(cloud: Cloud, by: str) -> None:
    b = cloud.b
    rule = f"{b.project_id}:{b.user_id}" if by == "ids" else f"{b.project_name}:{b.user_name}"
    await _set(cloud, **{"X-Container-Read": rule})
    r = await cloud.send(b, "GET", "c/o")
    assert r.status_code == 200 and r.content == b"data"
    assert (await cloud.send(b, "HEAD", "c/o")).status_code == 200
    r = await cloud.send(b, "GET", "c")
    assert r.status_code == 200 and r.text == "o\n"
    assert (await cloud.send(b, "HEAD", "c")).status_code == 204
    # Reading is not writing, nor the account.
    assert (await cloud.send(b, "PUT", "c/n", content=b"x")).status_code == 403
    assert (await cloud.send(b, "DELETE", "c/o")).status_code == 403
    assert (await cloud.send(b, "POST", "c/o")).status_code == 403
    assert (await cloud.send(b, "GET", "")).status_code == 403
    # Another user of the same project is not named.
    assert (await cloud.send(cloud.b2, "GET", "c/o")).status_code == 403


async def test_read_acl_for_a_whole_project(cloud: Cloud) -> None:
    await _set(cloud, **{"X-Container-Read": f"{cloud.b.project_id}:*"})
    for who in (cloud.b, cloud.b2):
        assert (await cloud.send(who, "GET", "c/o")).status_code == 200
    assert (await cloud.send(cloud.other, "GET", "c/o")).status_code == 403
    assert (await cloud.send(None, "GET", "c/o")).status_code == 401


async def test_public_read_without_and_with_listings(cloud: Cloud) -> None:
    await _set(cloud, **{"X-Container-Read": ".r:*"})
    r = await cloud.send(None, "GET", "c/o")
    assert r.status_code == 200 and r.content == b"data"
    assert (await cloud.send(None, "GET", "c")).status_code == 401
    assert (await cloud.send(None, "HEAD", "c")).status_code == 401
    assert (await cloud.send(None, "PUT", "c/n", content=b"x")).status_code == 401
    # Authenticated strangers read through the referrer rule too (keystoneauth does).
    assert (await cloud.send(cloud.other, "GET", "c/o")).status_code == 200
    await _set(cloud, **{"X-Container-Read": ".r:*,.rlistings"})
    r = await cloud.send(None, "GET", "c")
    assert r.status_code == 200 and r.text == "o\n"
    assert (await cloud.send(None, "DELETE", "c/o")).status_code == 401


async def test_referrer_denied(cloud: Cloud) -> None:
    await _set(cloud, **{"X-Container-Read": ".r:*,.r:-bad.example.com"})
    bad = {"Referer": "http://bad.example.com/page"}
    good = {"Referer": "http://good.example.com/page"}
    assert (await cloud.send(None, "GET", "c/o", headers=bad)).status_code == 401
    assert (await cloud.send(None, "GET", "c/o", headers=good)).status_code == 200
    assert (await cloud.send(None, "GET", "c/o")).status_code == 200
    await _set(cloud, **{"X-Container-Read": ".r:.example.com"})
    assert (await cloud.send(None, "GET", "c/o", headers=good)).status_code == 200
    assert (await cloud.send(None, "GET", "c/o")).status_code == 401


async def test_write_acl(cloud: Cloud) -> None:
    b = cloud.b
    await _set(cloud, **{"X-Container-Write": f"{b.project_id}:{b.user_id}"})
    assert (await cloud.send(b, "PUT", "c/n", content=b"from b")).status_code == 201
    assert (await cloud.send(b, "POST", "c/n", headers={"X-Object-Meta-K": "v"})).status_code == 202
    assert (await cloud.send(b, "DELETE", "c/o")).status_code == 204
    # Writing is not reading, and the container itself stays the owner's.
    assert (await cloud.send(b, "GET", "c/n")).status_code == 403
    assert (await cloud.send(b, "GET", "c")).status_code == 403
    assert (
        await cloud.send(b, "POST", "c", headers={"X-Container-Meta-K": "v"})
    ).status_code == 403
    assert (await cloud.send(b, "PUT", "c")).status_code == 403
    assert (await cloud.send(b, "DELETE", "c/n")).status_code == 204
    assert (await cloud.send(b, "DELETE", "c")).status_code == 403
    assert (await cloud.send(cloud.b2, "PUT", "c/m", content=b"x")).status_code == 403
    assert (await cloud.send(cloud.a, "HEAD", "c")).status_code == 204


async def test_referrer_in_write_acl_is_refused(cloud: Cloud) -> None:
    r = await cloud.send(cloud.a, "POST", "c", headers={"X-Container-Write": ".r:*"})
    assert r.status_code == 400
    r = await cloud.send(cloud.a, "PUT", "c3", headers={"X-Container-Write": ".rlistings"})
    assert r.status_code == 400
    assert "x-container-write" not in (await cloud.send(cloud.a, "HEAD", "c")).headers


async def test_acls_are_shown_to_the_owner_only(cloud: Cloud) -> None:
    b = cloud.b
    rule = f"{b.project_id}:{b.user_id}"
    await _set(cloud, **{"X-Container-Read": rule, "X-Container-Write": rule})
    r = await cloud.send(cloud.a, "HEAD", "c")
    assert r.headers["x-container-read"] == rule
    assert r.headers["x-container-write"] == rule
    for method in ("HEAD", "GET"):
        r = await cloud.send(b, method, "c")
        assert r.status_code in (200, 204)
        assert "x-container-read" not in r.headers
        assert "x-container-write" not in r.headers


async def test_temp_url_keys_are_shown_to_the_owner_only(cloud: Cloud) -> None:
    await _set(
        cloud,
        **{"X-Container-Read": f"{cloud.b.project_id}:*", "X-Container-Meta-Temp-URL-Key": "k"},
    )
    assert (await cloud.send(cloud.a, "HEAD", "c")).headers["x-container-meta-temp-url-key"] == "k"
    r = await cloud.send(cloud.b, "HEAD", "c")
    assert r.status_code == 204
    assert "x-container-meta-temp-url-key" not in r.headers


async def test_remove_acl(cloud: Cloud) -> None:
    await _set(cloud, **{"X-Container-Read": f"{cloud.b.project_id}:*"})
    assert (await cloud.send(cloud.b, "GET", "c/o")).status_code == 200
    await _set(cloud, **{"X-Remove-Container-Read": "x"})
    assert (await cloud.send(cloud.b, "GET", "c/o")).status_code == 403
    assert "x-container-read" not in (await cloud.send(cloud.a, "HEAD", "c")).headers
