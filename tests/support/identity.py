"""Shortcuts over the Keystone v3 HTTP API, for tests that need a few users and projects."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

V3 = "/identity/v3"
PASSWORD = "pa55-word-for-tests"


def unique(prefix: str = "x") -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def assert_fault(r: httpx.Response, status: int) -> dict[str, Any]:
    """Assert a Keystone error of `status`: {"error": {"code", "message", "title"}}; the error."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    if r.request.method == "HEAD":
        # A HEAD answer has no body to carry the error.
        return {"code": status}
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "title"}, error
    assert error["code"] == status, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["title"], str) and error["title"], error
    return dict(error)


def _created(r: httpx.Response, key: str) -> dict[str, Any]:
    assert r.status_code == 201, f"create {key}: {r.status_code} {r.text}"
    return dict(r.json()[key])


async def create_domain(c: httpx.AsyncClient, name: str | None = None, **fields: Any) -> dict:
    """Create a domain; its JSON."""
    body = {"name": name or unique("dom"), **fields}
    return _created(await c.post(f"{V3}/domains", json={"domain": body}), "domain")


async def create_project(
    c: httpx.AsyncClient, name: str | None = None, domain_id: str = "default", **fields: Any
) -> dict:
    """Create a project; its JSON."""
    body = {"name": name or unique("proj"), "domain_id": domain_id, **fields}
    return _created(await c.post(f"{V3}/projects", json={"project": body}), "project")


async def create_user(
    c: httpx.AsyncClient,
    name: str | None = None,
    password: str | None = PASSWORD,
    domain_id: str = "default",
    **fields: Any,
) -> dict:
    """Create a user (with a password unless None); its JSON."""
    body: dict[str, Any] = {"name": name or unique("user"), "domain_id": domain_id, **fields}
    if password is not None:
        body["password"] = password
    return _created(await c.post(f"{V3}/users", json={"user": body}), "user")


async def create_group(
    c: httpx.AsyncClient, name: str | None = None, domain_id: str = "default", **fields: Any
) -> dict:
    """Create a group; its JSON."""
    body = {"name": name or unique("group"), "domain_id": domain_id, **fields}
    return _created(await c.post(f"{V3}/groups", json={"group": body}), "group")


async def create_role(c: httpx.AsyncClient, name: str | None = None, **fields: Any) -> dict:
    """Create a role; its JSON."""
    body = {"name": name or unique("role"), **fields}
    return _created(await c.post(f"{V3}/roles", json={"role": body}), "role")


async def role_id(c: httpx.AsyncClient, name: str) -> str:
    """The id of the global role called `name`."""
    r = await c.get(f"{V3}/roles", params={"name": name})
    assert r.status_code == 200, r.text
    roles = r.json()["roles"]
    assert len(roles) == 1, roles
    return str(roles[0]["id"])


async def grant(
    c: httpx.AsyncClient,
    role: str,
    *,
    user: str | None = None,
    group: str | None = None,
    project: str | None = None,
    domain: str | None = None,
    system: bool = False,
    inherited: bool = False,
) -> None:
    """PUT a grant (role is a role name or id) and check the 204."""
    rid = role if re.fullmatch(r"[0-9a-f]{32}", role) else await role_id(c, role)
    actor = f"users/{user}" if user else f"groups/{group}"
    if system:
        path = f"{V3}/system/{actor}/roles/{rid}"
    else:
        scope = f"projects/{project}" if project else f"domains/{domain}"
        path = f"{V3}/{scope}/{actor}/roles/{rid}"
        if inherited:
            path = f"{V3}/OS-INHERIT/{scope}/{actor}/roles/{rid}/inherited_to_projects"
    r = await c.put(path)
    assert r.status_code == 204, f"grant {path}: {r.status_code} {r.text}"


def password_auth(
    *,
    user_id: str | None = None,
    name: str | None = None,
    domain: str = "default",
    password: str = PASSWORD,
    scope: Any = None,
) -> dict[str, Any]:
    """A POST /v3/auth/tokens body for the password method."""
    user: dict[str, Any] = {"password": password}
    if user_id:
        user["id"] = user_id
    else:
        user["name"] = name
        user["domain"] = {"id": domain}
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": user}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


async def token_for(
    c: httpx.AsyncClient,
    user_id: str,
    *,
    password: str = PASSWORD,
    project: str | None = None,
    domain: str | None = None,
    system: bool = False,
) -> tuple[str, dict[str, Any]]:
    """Authenticate a user by id with the given scope; (token id, token body)."""
    scope: Any = None
    if project:
        scope = {"project": {"id": project}}
    elif domain:
        scope = {"domain": {"id": domain}}
    elif system:
        scope = {"system": {"all": True}}
    r = await c.post(
        f"{V3}/auth/tokens",
        json=password_auth(user_id=user_id, password=password, scope=scope),
    )
    assert r.status_code == 201, f"auth {user_id} scope={scope}: {r.status_code} {r.text}"
    return r.headers["x-subject-token"], r.json()["token"]


async def validate(c: httpx.AsyncClient, subject: str, **params: str) -> httpx.Response:
    """GET /v3/auth/tokens for `subject`, as whoever `c` is authenticated as."""
    return await c.get(f"{V3}/auth/tokens", headers={"X-Subject-Token": subject}, params=params)


def as_token(token: str) -> dict[str, str]:
    """Headers that authenticate a request with `token`."""
    return {"X-Auth-Token": token}


async def project_member(
    c: httpx.AsyncClient, role: str = "member", project_id: str | None = None
) -> tuple[dict, dict, str]:
    """A new project, a new user holding `role` on it, and that user's project token."""
    project = await create_project(c) if project_id is None else {"id": project_id, "name": None}
    user = await create_user(c)
    await grant(c, role, user=user["id"], project=project["id"])
    token, _ = await token_for(c, user["id"], project=project["id"])
    return project, user, token
