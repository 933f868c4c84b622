"""Tokens stop validating when revoked, when their roles go away, and when they expire."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import httpx

from stackling.settings import Settings
from tests.conftest import issue_token, make_settings, running_client
from tests.support.identity import (
    V3,
    as_token,
    assert_fault,
    create_domain,
    create_project,
    create_user,
    grant,
    role_id,
    token_for,
    validate,
)


async def test_removed_role_revokes_project_token(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    other = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], project=project["id"])
    await grant(admin, "member", user=user["id"], project=other["id"])
    token, _ = await token_for(admin, user["id"], project=project["id"])
    other_token, _ = await token_for(admin, user["id"], project=other["id"])
    assert (
        await admin.get(f"{V3}/projects/{project['id']}", headers=as_token(token))
    ).status_code == 200

    member = await role_id(admin, "member")
    r = await admin.delete(f"{V3}/projects/{project['id']}/users/{user['id']}/roles/{member}")
    assert r.status_code == 204

    assert_fault(await validate(admin, token), 404)
    r = await admin.head(f"{V3}/auth/tokens", headers={"X-Subject-Token": token})
    assert r.status_code == 404
    assert_fault(await admin.get(f"{V3}/projects/{project['id']}", headers=as_token(token)), 401)
    # The token for the other project is untouched.
    assert (await validate(admin, other_token)).status_code == 200
    # And a new token for the project is refused: the user has no role there any more.
    r = await admin.post(
        f"{V3}/auth/tokens",
        json={
            "auth": {
                "identity": {"methods": ["token"], "token": {"id": other_token}},
                "scope": {"project": {"id": project["id"]}},
            }
        },
    )
    assert_fault(r, 401)


async def test_removed_group_role_revokes_members_tokens(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    r = await admin.post(f"{V3}/groups", json={"group": {"name": "g-" + user["id"][:8]}})
    group = r.json()["group"]
    assert (await admin.put(f"{V3}/groups/{group['id']}/users/{user['id']}")).status_code == 204
    await grant(admin, "member", group=group["id"], project=project["id"])
    token, _ = await token_for(admin, user["id"], project=project["id"])

    member = await role_id(admin, "member")
    r = await admin.delete(f"{V3}/projects/{project['id']}/groups/{group['id']}/roles/{member}")
    assert r.status_code == 204
    assert_fault(await validate(admin, token), 404)


async def test_removed_system_role_revokes_system_token(admin: httpx.AsyncClient) -> None:
    user = await create_user(admin)
    await grant(admin, "reader", user=user["id"], system=True)
    token, _ = await token_for(admin, user["id"], system=True)
    reader = await role_id(admin, "reader")
    r = await admin.delete(f"{V3}/system/users/{user['id']}/roles/{reader}")
    assert r.status_code == 204
    assert_fault(await validate(admin, token), 404)


async def test_delete_auth_tokens(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], project=project["id"])
    token, _ = await token_for(admin, user["id"], project=project["id"])
    other, _ = await token_for(admin, user["id"], project=project["id"])

    # A user may revoke their own token.
    r = await admin.delete(
        f"{V3}/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}
    )
    assert r.status_code == 204
    assert_fault(await validate(admin, token), 404)
    assert_fault(await admin.get(f"{V3}/users/{user['id']}", headers=as_token(token)), 401)
    # Only that one token.
    assert (await validate(admin, other)).status_code == 200
    # Revoking it again: it is no longer a valid token.
    assert_fault(await admin.delete(f"{V3}/auth/tokens", headers={"X-Subject-Token": token}), 404)
    # A missing subject token is a 404 too, as in Keystone.
    r = await admin.delete(f"{V3}/auth/tokens")
    assert r.status_code in (400, 404), r.text
    assert_fault(r, r.status_code)


async def test_user_cannot_revoke_someone_elses_token(admin: httpx.AsyncClient) -> None:
    alice = await create_user(admin)
    bob = await create_user(admin)
    alice_token, _ = await token_for(admin, alice["id"])
    bob_token, _ = await token_for(admin, bob["id"])
    r = await admin.delete(
        f"{V3}/auth/tokens", headers={"X-Auth-Token": alice_token, "X-Subject-Token": bob_token}
    )
    assert_fault(r, 403)
    assert (await validate(admin, bob_token)).status_code == 200


async def test_revocation_survives_restart(settings: Settings) -> None:
    async with running_client(settings) as c:
        admin_token = await issue_token(c)
        victim = await issue_token(c)
        r = await c.delete(
            f"{V3}/auth/tokens",
            headers={"X-Auth-Token": admin_token, "X-Subject-Token": victim},
        )
        assert r.status_code == 204
    # A new process on the same database and keys still refuses the revoked token.
    async with running_client(settings) as c:
        r = await c.get(
            f"{V3}/auth/tokens",
            headers={"X-Auth-Token": admin_token, "X-Subject-Token": victim},
        )
        assert_fault(r, 404)
        r = await c.get(
            f"{V3}/auth/tokens",
            headers={"X-Auth-Token": admin_token, "X-Subject-Token": admin_token},
        )
        assert r.status_code == 200


async def test_expired_token_is_401(tmp_path: Path, db_url: str) -> None:
    # Long enough that a loaded machine uses the token before it expires; the wait
    # then goes by the token's own expiry, not by a guess.
    settings = make_settings(
        tmp_path / "data", database={"url": db_url}, identity={"token_expiration_s": 5}
    )
    async with running_client(settings) as c:
        token = await issue_token(c)
        r = await c.get(
            f"{V3}/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}
        )
        assert r.status_code == 200, r.text
        expiry = dt.datetime.fromisoformat(r.json()["token"]["expires_at"].replace("Z", "+00:00"))
        await asyncio.sleep(max(0.0, (expiry - dt.datetime.now(dt.UTC)).total_seconds()) + 0.3)
        assert_fault(await c.get(f"{V3}/users", headers=as_token(token)), 401)
        # Tokens live 5 s here: each check gets an admin token of its own.
        r = await c.get(
            f"{V3}/auth/tokens",
            headers={"X-Auth-Token": await issue_token(c), "X-Subject-Token": token},
        )
        assert_fault(r, 404)
        # allow_expired lets a service validate a token that expired moments ago.
        r = await c.get(
            f"{V3}/auth/tokens",
            params={"allow_expired": "1"},
            headers={"X-Auth-Token": await issue_token(c), "X-Subject-Token": token},
        )
        assert r.status_code == 200, r.text
        expires = dt.datetime.fromisoformat(r.json()["token"]["expires_at"].replace("Z", "+00:00"))
        assert expires < dt.datetime.now(dt.UTC)
        # Rescoping an expired token is refused.
        r = await c.post(
            f"{V3}/auth/tokens",
            json={"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}},
        )
        assert_fault(r, 401)


async def test_removed_domain_role_revokes_domain_token(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    user = await create_user(admin)
    await grant(admin, "reader", user=user["id"], domain=dom["id"])
    token, _ = await token_for(admin, user["id"], domain=dom["id"])
    reader = await role_id(admin, "reader")
    r = await admin.delete(f"{V3}/domains/{dom['id']}/users/{user['id']}/roles/{reader}")
    assert r.status_code == 204
    assert_fault(await validate(admin, token), 404)
