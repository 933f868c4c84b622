"""Token scopes: unscoped, project, domain, system; rescoping; the /v3/auth/* listings."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ADMIN_PASSWORD
from tests.support.identity import (
    V3,
    as_token,
    assert_fault,
    create_domain,
    create_project,
    create_user,
    grant,
    password_auth,
    token_for,
    validate,
)


def _token_auth(token: str, scope: Any = None) -> dict[str, Any]:
    auth: dict[str, Any] = {"identity": {"methods": ["token"], "token": {"id": token}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


async def test_unscoped_token(admin: httpx.AsyncClient) -> None:
    user = await create_user(admin)
    token, body = await token_for(admin, user["id"])
    assert body["user"]["id"] == user["id"]
    assert body["user"]["domain"] == {"id": "default", "name": "Default"}
    assert body["methods"] == ["password"]
    for key in ("project", "domain", "system", "roles", "catalog"):
        assert key not in body, key
    assert len(body["audit_ids"]) == 1
    assert body["expires_at"] > body["issued_at"]

    r = await validate(admin, token)
    assert r.status_code == 200
    assert r.headers["x-subject-token"] == token
    assert r.json()["token"]["user"]["id"] == user["id"]


async def test_project_scoped_token_by_id_and_by_name(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    project = await create_project(admin, domain_id=dom["id"])
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], project=project["id"])

    _, body = await token_for(admin, user["id"], project=project["id"])
    assert body["project"] == {
        "id": project["id"],
        "name": project["name"],
        "domain": {"id": dom["id"], "name": dom["name"]},
    }
    assert {r["name"] for r in body["roles"]} == {"member", "reader"}
    assert any(s["type"] == "identity" for s in body["catalog"])

    r = await admin.post(
        f"{V3}/auth/tokens",
        json=password_auth(
            name=user["name"],
            domain="default",
            scope={"project": {"name": project["name"], "domain": {"name": dom["name"]}}},
        ),
    )
    assert r.status_code == 201, r.text
    assert r.json()["token"]["project"]["id"] == project["id"]


async def test_scope_without_a_role_is_401(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    for scope in (
        {"project": {"id": project["id"]}},
        {"domain": {"id": "default"}},
        {"system": {"all": True}},
    ):
        r = await admin.post(
            f"{V3}/auth/tokens", json=password_auth(user_id=user["id"], scope=scope)
        )
        assert_fault(r, 401)


async def test_scope_to_unknown_project_is_401(admin: httpx.AsyncClient) -> None:
    user = await create_user(admin)
    r = await admin.post(
        f"{V3}/auth/tokens",
        json=password_auth(user_id=user["id"], scope={"project": {"id": "0" * 32}}),
    )
    assert_fault(r, 401)


async def test_default_project_scopes_a_token_without_scope(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin, default_project_id=project["id"])
    await grant(admin, "reader", user=user["id"], project=project["id"])
    _, body = await token_for(admin, user["id"])
    assert body["project"]["id"] == project["id"]
    assert [r["name"] for r in body["roles"]] == ["reader"]


async def test_domain_scoped_token(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    user = await create_user(admin)
    await grant(admin, "admin", user=user["id"], domain=dom["id"])
    token, body = await token_for(admin, user["id"], domain=dom["id"])
    assert body["domain"] == {"id": dom["id"], "name": dom["name"]}
    assert "project" not in body
    assert {r["name"] for r in body["roles"]} == {"admin", "manager", "member", "reader"}
    r = await validate(admin, token)
    assert r.json()["token"]["domain"]["id"] == dom["id"]


async def test_system_scoped_token(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{V3}/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": "admin",
                            "domain": {"id": "default"},
                            "password": ADMIN_PASSWORD,
                        }
                    },
                },
                "scope": {"system": {"all": True}},
            }
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()["token"]
    assert body["system"] == {"all": True}
    assert "project" not in body and "domain" not in body
    assert {r["name"] for r in body["roles"]} == {"admin", "manager", "member", "reader"}
    # A system admin can administer.
    token = r.headers["x-subject-token"]
    r = await client.get(f"{V3}/users", headers=as_token(token))
    assert r.status_code == 200


async def test_rescope_unscoped_to_project(admin: httpx.AsyncClient) -> None:
    p1 = await create_project(admin)
    p2 = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], project=p1["id"])
    await grant(admin, "reader", user=user["id"], project=p2["id"])
    unscoped, parent = await token_for(admin, user["id"])

    r = await admin.post(
        f"{V3}/auth/tokens", json=_token_auth(unscoped, {"project": {"id": p1["id"]}})
    )
    assert r.status_code == 201, r.text
    child = r.json()["token"]
    assert child["project"]["id"] == p1["id"]
    assert set(child["methods"]) == {"password", "token"}
    # The new token keeps the chain of audit ids and never outlives its parent.
    assert child["audit_ids"][1] == parent["audit_ids"][0]
    assert child["expires_at"] <= parent["expires_at"]

    # A project-scoped token can be rescoped to another project of the user.
    scoped = r.headers["x-subject-token"]
    r = await admin.post(
        f"{V3}/auth/tokens", json=_token_auth(scoped, {"project": {"id": p2["id"]}})
    )
    assert r.status_code == 201, r.text
    assert r.json()["token"]["project"]["id"] == p2["id"]
    assert [x["name"] for x in r.json()["token"]["roles"]] == ["reader"]

    # But never to a project the user has no role on.
    p3 = await create_project(admin)
    r = await admin.post(
        f"{V3}/auth/tokens", json=_token_auth(unscoped, {"project": {"id": p3["id"]}})
    )
    assert_fault(r, 401)


async def test_rescope_with_revoked_token_is_401(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], project=project["id"])
    unscoped, _ = await token_for(admin, user["id"])
    r = await admin.delete(f"{V3}/auth/tokens", headers={"X-Subject-Token": unscoped})
    assert r.status_code == 204
    r = await admin.post(
        f"{V3}/auth/tokens", json=_token_auth(unscoped, {"project": {"id": project["id"]}})
    )
    assert_fault(r, 401)
    r = await admin.post(f"{V3}/auth/tokens", json=_token_auth("not-a-token"))
    assert_fault(r, 401)


async def test_auth_projects_and_domains(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    p1 = await create_project(admin)
    p2 = await create_project(admin, domain_id=dom["id"])
    off = await create_project(admin, enabled=False)
    await create_project(admin)  # no role there
    user = await create_user(admin)
    for project in (p1, p2, off):
        await grant(admin, "reader", user=user["id"], project=project["id"])
    await grant(admin, "reader", user=user["id"], domain=dom["id"])
    token, _ = await token_for(admin, user["id"])

    r = await admin.get(f"{V3}/auth/projects", headers=as_token(token))
    assert r.status_code == 200
    assert {p["id"] for p in r.json()["projects"]} == {p1["id"], p2["id"]}
    r = await admin.get(f"{V3}/auth/domains", headers=as_token(token))
    assert r.status_code == 200
    assert {d["id"] for d in r.json()["domains"]} == {dom["id"]}
    r = await admin.get(f"{V3}/auth/system", headers=as_token(token))
    assert r.status_code == 200
    assert r.json()["system"] == []

    # The admin holds a role on the system.
    r = await admin.get(f"{V3}/auth/system")
    assert r.json()["system"] == [{"all": True}]


async def test_auth_catalog(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V3}/auth/catalog")
    assert r.status_code == 200
    catalog = r.json()["catalog"]
    identity = next(s for s in catalog if s["type"] == "identity")
    interfaces = {e["interface"] for e in identity["endpoints"]}
    assert interfaces == {"public", "internal", "admin"}
    assert all(e["url"].endswith("/identity") for e in identity["endpoints"])
    assert all(e["region_id"] == "RegionOne" for e in identity["endpoints"])

    # An unscoped token has no catalog.
    user = await create_user(admin)
    token, _ = await token_for(admin, user["id"])
    assert_fault(await admin.get(f"{V3}/auth/catalog", headers=as_token(token)), 403)


async def test_nocatalog(admin: httpx.AsyncClient) -> None:
    subject = admin.headers["X-Auth-Token"]
    r = await validate(admin, subject, nocatalog="1")
    assert r.status_code == 200
    assert "catalog" not in r.json()["token"]
    r = await validate(admin, subject)
    assert "catalog" in r.json()["token"]


async def test_head_token(admin: httpx.AsyncClient) -> None:
    subject = admin.headers["X-Auth-Token"]
    r = await admin.head(f"{V3}/auth/tokens", headers={"X-Subject-Token": subject})
    assert r.status_code == 200
    r = await admin.head(f"{V3}/auth/tokens", headers={"X-Subject-Token": "garbage"})
    assert r.status_code == 404


async def test_user_validates_own_token_but_not_others(admin: httpx.AsyncClient) -> None:
    alice = await create_user(admin)
    bob = await create_user(admin)
    alice_token, _ = await token_for(admin, alice["id"])
    bob_token, _ = await token_for(admin, bob["id"])
    r = await admin.get(
        f"{V3}/auth/tokens",
        headers={"X-Auth-Token": alice_token, "X-Subject-Token": alice_token},
    )
    assert r.status_code == 200
    r = await admin.get(
        f"{V3}/auth/tokens",
        headers={"X-Auth-Token": alice_token, "X-Subject-Token": bob_token},
    )
    assert_fault(r, 403)
