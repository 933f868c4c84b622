"""Stored credentials (/v3/credentials) and EC2 keys (OS-EC2)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from stackling.app import build_app
from stackling.common import errors
from stackling.identity.service import credentials
from stackling.settings import Settings
from tests.conftest import issue_token
from tests.support.identity import (
    V3,
    as_token,
    assert_fault,
    create_project,
    create_user,
    project_member,
    unique,
)


def _ec2_blob(access: str | None = None, secret: str | None = None) -> str:
    return json.dumps({"access": access or unique("access"), "secret": secret or unique("secret")})


async def _create(c: httpx.AsyncClient, token: str | None = None, **cred: Any) -> httpx.Response:
    headers = as_token(token) if token else {}
    return await c.post(f"{V3}/credentials", json={"credential": cred}, headers=headers)


async def test_admin_crud_of_an_ec2_credential(admin: httpx.AsyncClient) -> None:
    user = await create_user(admin)
    project = await create_project(admin)
    access = unique("access")
    r = await _create(
        admin, user_id=user["id"], project_id=project["id"], type="ec2", blob=_ec2_blob(access)
    )
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]
    assert cred["id"] == hashlib.sha256(access.encode()).hexdigest()
    assert isinstance(cred["blob"], str) and json.loads(cred["blob"])["access"] == access
    assert (cred["user_id"], cred["project_id"], cred["type"]) == (
        user["id"],
        project["id"],
        "ec2",
    )
    assert cred["links"]["self"].endswith(f"/v3/credentials/{cred['id']}")

    new_blob = _ec2_blob("new-access", "new-secret")
    r = await admin.patch(f"{V3}/credentials/{cred['id']}", json={"credential": {"blob": new_blob}})
    assert r.status_code == 200, r.text
    updated = r.json()["credential"]
    assert updated["id"] == cred["id"] and json.loads(updated["blob"])["secret"] == "new-secret"
    r = await admin.get(f"{V3}/credentials/{cred['id']}")
    assert r.status_code == 200 and r.json()["credential"] == updated

    r = await admin.get(f"{V3}/credentials", params={"user_id": user["id"]})
    assert [x["id"] for x in r.json()["credentials"]] == [cred["id"]]

    assert (await admin.delete(f"{V3}/credentials/{cred['id']}")).status_code == 204
    assert_fault(await admin.get(f"{V3}/credentials/{cred['id']}"), 404)
    assert_fault(await admin.delete(f"{V3}/credentials/{cred['id']}"), 404)


async def test_a_member_sees_and_manages_only_their_own(admin: httpx.AsyncClient) -> None:
    project, alice, alice_token = await project_member(admin)
    _, bob, bob_token = await project_member(admin)
    r = await _create(admin, alice_token, user_id=alice["id"], type="totp", blob="alice-seed")
    assert r.status_code == 201, r.text
    mine = r.json()["credential"]
    assert mine["project_id"] is None
    r = await _create(admin, bob_token, user_id=bob["id"], type="totp", blob="bob-seed")
    theirs = r.json()["credential"]

    r = await admin.get(f"{V3}/credentials", headers=as_token(alice_token))
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["credentials"]] == [mine["id"]]
    # Even when asking for bob's by filter.
    r = await admin.get(
        f"{V3}/credentials", params={"user_id": bob["id"]}, headers=as_token(alice_token)
    )
    assert r.json()["credentials"] == []
    assert_fault(
        await admin.get(f"{V3}/credentials/{theirs['id']}", headers=as_token(alice_token)), 403
    )
    assert_fault(
        await admin.delete(f"{V3}/credentials/{theirs['id']}", headers=as_token(alice_token)), 403
    )
    # Whether a credential exists is not revealed to those who could not read it.
    assert_fault(await admin.get(f"{V3}/credentials/nope", headers=as_token(alice_token)), 403)
    assert_fault(await admin.get(f"{V3}/credentials/nope"), 404)
    # Nor can alice store one for bob, or hand hers over to him.
    assert_fault(await _create(admin, alice_token, user_id=bob["id"], type="x", blob="b"), 403)
    r = await admin.patch(
        f"{V3}/credentials/{mine['id']}",
        json={"credential": {"user_id": bob["id"]}},
        headers=as_token(alice_token),
    )
    assert_fault(r, 403)
    # The admin sees both.
    ids = {x["id"] for x in (await admin.get(f"{V3}/credentials")).json()["credentials"]}
    assert {mine["id"], theirs["id"]} <= ids

    # A member cannot mint ec2 keys for a project they have no role on.
    other = await create_project(admin)
    r = await _create(
        admin,
        alice_token,
        user_id=alice["id"],
        project_id=other["id"],
        type="ec2",
        blob=_ec2_blob(),
    )
    assert_fault(r, 403)
    r = await _create(
        admin,
        alice_token,
        user_id=alice["id"],
        project_id=project["id"],
        type="ec2",
        blob=_ec2_blob(),
    )
    assert r.status_code == 201, r.text


async def test_bad_credentials_are_400(admin: httpx.AsyncClient) -> None:
    user = await create_user(admin)
    project = await create_project(admin)
    base = {"user_id": user["id"], "project_id": project["id"], "type": "ec2"}
    for cred in (
        {**base, "blob": "not json"},
        {**base, "blob": json.dumps({"secret": "no access"})},
        {**base, "blob": json.dumps(["access"])},
        {"user_id": user["id"], "type": "ec2", "blob": _ec2_blob()},
        {"user_id": user["id"], "type": "x"},
        {"user_id": user["id"], "type": "x", "blob": {"not": "a string"}},
        {"user_id": user["id"], "type": "", "blob": "b"},
    ):
        assert_fault(await _create(admin, **cred), 400)
    assert_fault(await admin.post(f"{V3}/credentials", json={"cred": {}}), 400)
    assert_fault(await _create(admin, user_id="nobody", type="x", blob="b"), 404)

    blob = _ec2_blob()
    r = await _create(admin, **base, blob=blob)
    assert r.status_code == 201
    assert_fault(await _create(admin, **base, blob=blob), 409)
    cred_id = r.json()["credential"]["id"]
    r = await admin.patch(f"{V3}/credentials/{cred_id}", json={"credential": {"blob": "{}"}})
    assert_fault(r, 400)
    r = await admin.patch(f"{V3}/credentials/{cred_id}", json={"credential": {"type": None}})
    assert_fault(r, 400)


async def test_blobs_are_encrypted_at_rest(admin: httpx.AsyncClient, settings: Settings) -> None:
    user = await create_user(admin)
    project = await create_project(admin)
    secret = unique("plain-secret")
    r = await _create(
        admin,
        user_id=user["id"],
        project_id=project["id"],
        type="ec2",
        blob=_ec2_blob(secret=secret),
    )
    assert r.status_code == 201
    engine = create_async_engine(settings.database.url)
    try:
        async with engine.connect() as conn:
            stored = (
                (await conn.execute(text("SELECT encrypted_blob FROM identity_credentials")))
                .scalars()
                .all()
            )
    finally:
        await engine.dispose()
    assert len(stored) == 1
    assert secret not in stored[0]
    keys = settings.data_dir / "identity" / "credential-keys"
    assert sorted(p.name for p in keys.iterdir()) == ["0", "1"]
    assert (settings.data_dir / "identity" / "fernet-keys") != keys


# -- OS-EC2 ---------------------------------------------------------------------------------


async def test_ec2_credentials_of_a_member(admin: httpx.AsyncClient) -> None:
    project, user, token = await project_member(admin)
    path = f"{V3}/users/{user['id']}/credentials/OS-EC2"
    r = await admin.post(path, json={"tenant_id": project["id"]}, headers=as_token(token))
    assert r.status_code == 201, r.text
    ec2 = r.json()["credential"]
    assert ec2["user_id"] == user["id"] and ec2["tenant_id"] == project["id"]
    assert ec2["access"] and ec2["secret"] and ec2["trust_id"] is None
    assert ec2["links"]["self"].endswith(f"{path}/{ec2['access']}")

    # It is a credential of type ec2 keyed by the access key's hash.
    r = await admin.get(f"{V3}/credentials/{hashlib.sha256(ec2['access'].encode()).hexdigest()}")
    assert r.status_code == 200 and r.json()["credential"]["type"] == "ec2"

    r = await admin.get(path, headers=as_token(token))
    assert [x["access"] for x in r.json()["credentials"]] == [ec2["access"]]
    r = await admin.get(f"{path}/{ec2['access']}", headers=as_token(token))
    assert r.status_code == 200 and r.json()["credential"] == ec2

    _, other, other_token = await project_member(admin)
    assert_fault(await admin.get(path, headers=as_token(other_token)), 403)
    assert_fault(await admin.get(f"{path}/{ec2['access']}", headers=as_token(other_token)), 403)
    other_path = f"{V3}/users/{other['id']}/credentials/OS-EC2"
    # Asking under one's own user for someone else's key finds nothing.
    assert_fault(
        await admin.get(f"{other_path}/{ec2['access']}", headers=as_token(other_token)), 404
    )
    # No keys for a project one has no role on; a missing project is 404.
    r = await admin.post(
        path, json={"tenant_id": (await create_project(admin))["id"]}, headers=as_token(token)
    )
    assert_fault(r, 403)
    assert_fault(await admin.post(path, json={"tenant_id": "nope"}, headers=as_token(token)), 404)
    assert_fault(await admin.post(path, json={}, headers=as_token(token)), 400)

    r = await admin.delete(f"{path}/{ec2['access']}", headers=as_token(token))
    assert r.status_code == 204
    assert_fault(await admin.get(f"{path}/{ec2['access']}", headers=as_token(token)), 404)


async def test_ec2_lookup_for_s3(settings: Settings) -> None:
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            c.headers["X-Auth-Token"] = await issue_token(c)
            project, user, token = await project_member(c)
            r = await c.post(
                f"{V3}/users/{user['id']}/credentials/OS-EC2",
                json={"tenant_id": project["id"]},
                headers=as_token(token),
            )
            ec2 = r.json()["credential"]
        idn = app.state.runtime.service("identity").idn
        found = await credentials.ec2_lookup(idn, ec2["access"])
        assert found == (user["id"], project["id"], ec2["secret"])
        with pytest.raises(errors.Unauthorized):
            await credentials.ec2_lookup(idn, "unknown-access")
