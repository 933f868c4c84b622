"""What non-admins may not do, and what a dead token gets on every route."""

from __future__ import annotations

import asyncio
import re
import warnings
from pathlib import Path

import httpx
import pytest

from stackling.app import build_app
from tests.conftest import issue_token, make_settings, running_client
from tests.support.identity import (
    V3,
    as_token,
    assert_fault,
    create_domain,
    create_group,
    create_project,
    create_user,
    grant,
    project_member,
    role_id,
    token_for,
    unique,
)


async def test_member_cannot_list_users_or_projects(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    for path in ("users", "projects", "groups", "domains", "services", "endpoints"):
        assert_fault(await admin.get(f"{V3}/{path}", headers=as_token(token)), 403)


async def test_member_sees_own_project_not_another(admin: httpx.AsyncClient) -> None:
    project, _user, token = await project_member(admin)
    other = await create_project(admin)
    r = await admin.get(f"{V3}/projects/{project['id']}", headers=as_token(token))
    assert r.status_code == 200
    assert r.json()["project"]["id"] == project["id"]
    assert_fault(await admin.get(f"{V3}/projects/{other['id']}", headers=as_token(token)), 403)
    # Whether a project exists is not revealed to someone who may not see it.
    assert_fault(await admin.get(f"{V3}/projects/{'0' * 32}", headers=as_token(token)), 403)
    r = await admin.get(
        f"{V3}/role_assignments",
        params={"scope.project.id": other["id"]},
        headers=as_token(token),
    )
    assert_fault(r, 403)
    r = await admin.get(f"{V3}/projects/{other['id']}/tags", headers=as_token(token))
    assert_fault(r, 403)


async def test_member_sees_self_not_other_users(admin: httpx.AsyncClient) -> None:
    _, user, token = await project_member(admin)
    stranger = await create_user(admin)
    r = await admin.get(f"{V3}/users/{user['id']}", headers=as_token(token))
    assert r.status_code == 200
    assert r.json()["user"]["id"] == user["id"]
    for path in (f"users/{stranger['id']}", f"users/{stranger['id']}/projects"):
        assert_fault(await admin.get(f"{V3}/{path}", headers=as_token(token)), 403)
    r = await admin.patch(
        f"{V3}/users/{stranger['id']}", json={"user": {"enabled": False}}, headers=as_token(token)
    )
    assert_fault(r, 403)
    assert_fault(await admin.delete(f"{V3}/users/{stranger['id']}", headers=as_token(token)), 403)
    assert (await admin.get(f"{V3}/users/{stranger['id']}")).json()["user"]["enabled"] is True


async def test_member_cannot_grant_roles(admin: httpx.AsyncClient) -> None:
    project, user, token = await project_member(admin)
    friend = await create_user(admin)
    admin_role = await role_id(admin, "admin")
    member_role = await role_id(admin, "member")
    for path in (
        f"projects/{project['id']}/users/{user['id']}/roles/{admin_role}",
        f"projects/{project['id']}/users/{friend['id']}/roles/{member_role}",
        f"system/users/{user['id']}/roles/{admin_role}",
        f"domains/default/users/{user['id']}/roles/{admin_role}",
    ):
        assert_fault(await admin.put(f"{V3}/{path}", headers=as_token(token)), 403)
        # Nothing was granted.
        assert (await admin.head(f"{V3}/{path}")).status_code == 404
    r = await admin.put(f"{V3}/roles/{member_role}/implies/{admin_role}", headers=as_token(token))
    assert_fault(r, 403)
    _, body = await token_for(admin, user["id"], project=project["id"])
    assert "admin" not in {x["name"] for x in body["roles"]}


async def test_member_cannot_change_own_project(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.patch(
        f"{V3}/projects/{project['id']}",
        json={"project": {"description": "mine now"}},
        headers=as_token(token),
    )
    assert_fault(r, 403)
    assert_fault(await admin.delete(f"{V3}/projects/{project['id']}", headers=as_token(token)), 403)
    shown = (await admin.get(f"{V3}/projects/{project['id']}")).json()["project"]
    assert shown["description"] != "mine now"


async def test_reader_cannot_create_anything(admin: httpx.AsyncClient) -> None:
    project, _user, token = await project_member(admin, role="reader")
    name = unique("nope")
    creates = {
        "projects": {"project": {"name": name}},
        "domains": {"domain": {"name": name}},
        "users": {"user": {"name": name}},
        "groups": {"group": {"name": name}},
        "roles": {"role": {"name": name}},
        "regions": {"region": {"id": name}},
        "services": {"service": {"type": name}},
    }
    for path, body in creates.items():
        r = await admin.post(f"{V3}/{path}", json=body, headers=as_token(token))
        assert_fault(r, 403)
    # Nothing exists afterwards.
    for path in ("projects", "domains", "users", "groups", "roles"):
        r = await admin.get(f"{V3}/{path}", params={"name": name})
        assert r.json()[path] == [], path
    assert (await admin.get(f"{V3}/regions/{name}")).status_code == 404
    r = await admin.put(f"{V3}/projects/{project['id']}/tags/{name}", headers=as_token(token))
    assert_fault(r, 403)
    r = await admin.put(
        f"{V3}/projects/{project['id']}/tags", json={"tags": [name]}, headers=as_token(token)
    )
    assert_fault(r, 403)
    assert (await admin.get(f"{V3}/projects/{project['id']}/tags")).json()["tags"] == []


async def test_reader_can_read_own_project(admin: httpx.AsyncClient) -> None:
    project, _user, token = await project_member(admin, role="reader")
    r = await admin.get(f"{V3}/projects/{project['id']}", headers=as_token(token))
    assert r.status_code == 200
    r = await admin.get(f"{V3}/auth/catalog", headers=as_token(token))
    assert r.status_code == 200
    r = await admin.get(f"{V3}/regions", headers=as_token(token))
    assert r.status_code == 200


async def test_domain_reader_sees_only_own_domain(admin: httpx.AsyncClient) -> None:
    d1 = await create_domain(admin)
    d2 = await create_domain(admin)
    inside = await create_user(admin, domain_id=d1["id"])
    outside = await create_user(admin, domain_id=d2["id"])
    p2 = await create_project(admin, domain_id=d2["id"])
    await create_group(admin, domain_id=d2["id"])
    reader = await create_user(admin, domain_id=d1["id"])
    await grant(admin, "reader", user=reader["id"], domain=d1["id"])
    token, _ = await token_for(admin, reader["id"], domain=d1["id"])

    r = await admin.get(f"{V3}/users", headers=as_token(token))
    assert r.status_code == 200
    assert {u["id"] for u in r.json()["users"]} == {inside["id"], reader["id"]}
    p1 = await create_project(admin, domain_id=d1["id"])
    r = await admin.get(f"{V3}/projects", headers=as_token(token))
    assert r.status_code == 200
    assert {p["id"] for p in r.json()["projects"]} == {p1["id"]}
    for path, params in (
        ("users", {"domain_id": d2["id"]}),
        ("projects", {"domain_id": d2["id"]}),
        ("groups", {"domain_id": d2["id"]}),
    ):
        assert_fault(await admin.get(f"{V3}/{path}", params=params, headers=as_token(token)), 403)
    for path in (f"users/{outside['id']}", f"projects/{p2['id']}", f"domains/{d2['id']}"):
        assert_fault(await admin.get(f"{V3}/{path}", headers=as_token(token)), 403)
    r = await admin.post(
        f"{V3}/users",
        json={"user": {"name": unique(), "domain_id": d1["id"]}},
        headers=as_token(token),
    )
    assert_fault(r, 403)


# -- dead tokens on every route ------------------------------------------------------


def _get_routes() -> list[str]:
    """Every authenticated GET path of the identity API (from its OpenAPI document), ids filled."""
    app = build_app(make_settings(Path("/nonexistent-never-started")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate operation ids are reported elsewhere
        doc = app.openapi()
    paths = set()
    for path, operations in doc["paths"].items():
        if "get" not in operations or not path.startswith(V3 + "/") or path == V3 + "/":
            continue  # version discovery is public
        paths.add(re.sub(r"\{[^}]+\}", "0" * 32, path))
    return sorted(paths)


GET_ROUTES = _get_routes()


def test_route_inventory_is_not_empty() -> None:
    assert len(GET_ROUTES) > 30, GET_ROUTES
    assert f"{V3}/users" in GET_ROUTES and f"{V3}/auth/tokens" in GET_ROUTES


@pytest.mark.parametrize("kind", ["missing", "garbage", "revoked", "expired"])
async def test_dead_token_is_401_on_every_get_route(kind: str, tmp_path: Path, db_url: str) -> None:
    ttl = 1 if kind == "expired" else 3600
    settings = make_settings(
        tmp_path / "data", database={"url": db_url}, identity={"token_expiration_s": ttl}
    )
    async with running_client(settings) as c:
        token = await issue_token(c)
        headers = {"X-Subject-Token": token}
        if kind == "garbage":
            headers["X-Auth-Token"] = "gAAAAAB-not-a-token"
        elif kind == "revoked":
            r = await c.delete(
                f"{V3}/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}
            )
            assert r.status_code == 204
            headers["X-Auth-Token"] = token
        elif kind == "expired":
            await asyncio.sleep(1.2)
            headers["X-Auth-Token"] = token
        wrong = []
        for path in GET_ROUTES:
            r = await c.get(path, headers=headers)
            if r.status_code != 401 or r.json().get("error", {}).get("code") != 401:
                wrong.append(f"GET {path} -> {r.status_code} {r.text[:120]}")
            elif "www-authenticate" not in r.headers:
                wrong.append(f"GET {path} -> 401 without WWW-Authenticate")
        assert not wrong, "\n".join(wrong)


def _get_templates() -> list[str]:
    """Every authenticated GET path template of the identity API."""
    app = build_app(make_settings(Path("/nonexistent-never-started")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = app.openapi()
    return sorted(p for p, ops in doc["paths"].items() if "get" in ops and p.startswith(V3 + "/"))


_SEGMENT_KIND = {
    "domains": "domain",
    "projects": "project",
    "users": "user",
    "groups": "group",
    "roles": "role",
    "implies": "role",
    "regions": "region",
    "services": "service",
    "endpoints": "endpoint",
    "tags": "tag",
}


async def test_no_token_kind_gets_a_5xx_on_any_get_route(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    project = await create_project(admin, domain_id=dom["id"], tags=["t1"])
    group = await create_group(admin, domain_id=dom["id"])
    user = await create_user(admin, domain_id=dom["id"])
    assert (await admin.put(f"{V3}/groups/{group['id']}/users/{user['id']}")).status_code == 204
    await grant(admin, "member", user=user["id"], project=project["id"])
    await grant(admin, "reader", user=user["id"], domain=dom["id"])
    await grant(admin, "reader", user=user["id"], system=True)
    services = (await admin.get(f"{V3}/services")).json()["services"]
    endpoints = (await admin.get(f"{V3}/endpoints")).json()["endpoints"]
    ids = {
        "domain": dom["id"],
        "project": project["id"],
        "group": group["id"],
        "user": user["id"],
        "role": await role_id(admin, "member"),
        "region": "RegionOne",
        "service": services[0]["id"],
        "endpoint": endpoints[0]["id"],
        "tag": "t1",
    }
    tokens = {
        "admin": admin.headers["X-Auth-Token"],
        "unscoped": (await token_for(admin, user["id"]))[0],
        "project member": (await token_for(admin, user["id"], project=project["id"]))[0],
        "domain reader": (await token_for(admin, user["id"], domain=dom["id"]))[0],
        "system reader": (await token_for(admin, user["id"], system=True))[0],
    }
    wrong = []
    for template in _get_templates():
        path = template
        for segment, name in re.findall(r"([^/{}]+)/\{([^}]+)\}", template):
            path = path.replace("{" + name + "}", ids.get(_SEGMENT_KIND.get(segment, ""), "0" * 32))
        path = re.sub(r"\{[^}]+\}", "0" * 32, path)
        for kind, token in tokens.items():
            r = await admin.get(path, headers={"X-Auth-Token": token, "X-Subject-Token": token})
            if r.status_code >= 500:
                wrong.append(f"GET {path} as {kind} -> {r.status_code} {r.text[:160]}")
            elif r.status_code >= 400 and r.status_code != 405:
                assert_fault(r, r.status_code)
    assert not wrong, "\n".join(wrong)
