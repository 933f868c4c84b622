"""Application credentials and access rules, through the HTTP API and back through auth."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.support.identity import (
    V3,
    as_token,
    assert_fault,
    create_role,
    grant,
    project_member,
    unique,
    validate,
)


async def _create(c: httpx.AsyncClient, user_id: str, token: str, **fields: Any) -> httpx.Response:
    body = {"application_credential": {"name": unique("ac"), **fields}}
    return await c.post(
        f"{V3}/users/{user_id}/application_credentials", json=body, headers=as_token(token)
    )


async def _auth(c: httpx.AsyncClient, ac: dict[str, Any]) -> httpx.Response:
    body = {
        "auth": {"identity": {"methods": ["application_credential"], "application_credential": ac}}
    }
    return await c.post(f"{V3}/auth/tokens", json=body)


async def test_round_trip_by_id_and_by_name(admin: httpx.AsyncClient) -> None:
    project, user, token = await project_member(admin)
    r = await _create(admin, user["id"], token, description="ci bot")
    assert r.status_code == 201, r.text
    cred = r.json()["application_credential"]
    assert cred["project_id"] == project["id"]
    assert cred["description"] == "ci bot"
    assert cred["unrestricted"] is False
    assert {x["name"] for x in cred["roles"]} == {"member", "reader"}
    assert cred["links"]["self"].endswith(
        f"/v3/users/{user['id']}/application_credentials/{cred['id']}"
    )
    secret = cred["secret"]
    assert len(secret) >= 64

    # The secret is shown once only.
    r = await admin.get(
        f"{V3}/users/{user['id']}/application_credentials/{cred['id']}", headers=as_token(token)
    )
    assert r.status_code == 200
    shown = r.json()["application_credential"]
    assert "secret" not in shown
    assert shown["id"] == cred["id"] and shown["roles"] == cred["roles"]

    r = await _auth(admin, {"id": cred["id"], "secret": secret})
    assert r.status_code == 201, r.text
    tok = r.json()["token"]
    assert tok["methods"] == ["application_credential"]
    assert tok["user"]["id"] == user["id"]
    assert tok["project"]["id"] == project["id"]
    assert {x["name"] for x in tok["roles"]} == {"member", "reader"}
    assert tok["application_credential"]["id"] == cred["id"]
    assert tok["application_credential"]["restricted"] is True

    by_name = {"name": cred["name"], "user": {"id": user["id"]}, "secret": secret}
    r = await _auth(admin, by_name)
    assert r.status_code == 201, r.text
    by_user_name = {
        "name": cred["name"],
        "user": {"name": user["name"], "domain": {"id": "default"}},
        "secret": secret,
    }
    assert (await _auth(admin, by_user_name)).status_code == 201

    assert_fault(await _auth(admin, {"id": cred["id"], "secret": secret + "x"}), 401)
    assert_fault(await _auth(admin, {"id": cred["id"]}), 400)


async def test_chosen_secret_and_role_subset(admin: httpx.AsyncClient) -> None:
    _, user, token = await project_member(admin)
    r = await _create(admin, user["id"], token, secret="my-own-secret", roles=[{"name": "reader"}])
    assert r.status_code == 201, r.text
    cred = r.json()["application_credential"]
    assert cred["secret"] == "my-own-secret"
    assert [x["name"] for x in cred["roles"]] == ["reader"]
    r = await _auth(admin, {"id": cred["id"], "secret": "my-own-secret"})
    assert r.status_code == 201
    assert [x["name"] for x in r.json()["token"]["roles"]] == ["reader"]


async def test_roles_must_be_held_on_the_project(admin: httpx.AsyncClient) -> None:
    project, user, token = await project_member(admin)
    assert_fault(await _create(admin, user["id"], token, roles=[{"name": "admin"}]), 400)
    assert_fault(await _create(admin, user["id"], token, roles=[{"id": "nope"}]), 404)
    # Roles are reckoned when the credential is made, as Keystone reckons a
    # token's roles when it validates it: a role granted since the token was
    # issued may be delegated.
    extra = await create_role(admin)
    await grant(admin, extra["id"], user=user["id"], project=project["id"])
    r = await _create(admin, user["id"], token, roles=[{"id": extra["id"]}])
    assert r.status_code == 201, r.text
    assert [x["id"] for x in r.json()["application_credential"]["roles"]] == [extra["id"]]

    # An application credential cannot hand on more than it holds itself.
    r = await _create(admin, user["id"], token, unrestricted=True, roles=[{"name": "member"}])
    member_only = r.json()["application_credential"]
    r = await _auth(admin, {"id": member_only["id"], "secret": member_only["secret"]})
    ac_token = r.headers["x-subject-token"]
    assert_fault(await _create(admin, user["id"], ac_token, roles=[{"id": extra["id"]}]), 400)
    r = await _create(admin, user["id"], ac_token)
    assert r.status_code == 201, r.text
    roles = {x["name"] for x in r.json()["application_credential"]["roles"]}
    assert roles == {"member", "reader"}


async def test_deleting_revokes_its_tokens_and_stops_auth(admin: httpx.AsyncClient) -> None:
    _, user, token = await project_member(admin)
    cred = (await _create(admin, user["id"], token)).json()["application_credential"]
    r = await _auth(admin, {"id": cred["id"], "secret": cred["secret"]})
    ac_token = r.headers["x-subject-token"]
    assert (await validate(admin, ac_token)).status_code == 200

    r = await admin.delete(
        f"{V3}/users/{user['id']}/application_credentials/{cred['id']}", headers=as_token(token)
    )
    assert r.status_code == 204
    assert_fault(await validate(admin, ac_token), 404)
    assert_fault(await admin.get(f"{V3}/auth/projects", headers=as_token(ac_token)), 401)
    assert_fault(await _auth(admin, {"id": cred["id"], "secret": cred["secret"]}), 401)
    r = await admin.get(
        f"{V3}/users/{user['id']}/application_credentials/{cred['id']}", headers=as_token(token)
    )
    assert_fault(r, 404)


async def test_restricted_app_cred_token_cannot_manage_app_creds(
    admin: httpx.AsyncClient,
) -> None:
    _, user, token = await project_member(admin)
    path = f"{V3}/users/{user['id']}/application_credentials"
    restricted = (await _create(admin, user["id"], token)).json()["application_credential"]
    ac_token = (
        await _auth(admin, {"id": restricted["id"], "secret": restricted["secret"]})
    ).headers["x-subject-token"]
    assert_fault(await _create(admin, user["id"], ac_token), 403)
    assert_fault(await admin.delete(f"{path}/{restricted['id']}", headers=as_token(ac_token)), 403)
    # Reading is allowed.
    assert (await admin.get(path, headers=as_token(ac_token))).status_code == 200

    free = (await _create(admin, user["id"], token, unrestricted=True)).json()[
        "application_credential"
    ]
    free_token = (await _auth(admin, {"id": free["id"], "secret": free["secret"]})).headers[
        "x-subject-token"
    ]
    r = await _create(admin, user["id"], free_token)
    assert r.status_code == 201, r.text


async def test_list_filter_isolation_and_conflict(admin: httpx.AsyncClient) -> None:
    _, user, token = await project_member(admin)
    _, other, other_token = await project_member(admin)
    path = f"{V3}/users/{user['id']}/application_credentials"
    one = (await _create(admin, user["id"], token)).json()["application_credential"]
    two = (await _create(admin, user["id"], token)).json()["application_credential"]

    r = await admin.get(path, headers=as_token(token))
    assert r.status_code == 200
    listed = r.json()["application_credentials"]
    assert {x["id"] for x in listed} == {one["id"], two["id"]}
    assert all("secret" not in x for x in listed)
    r = await admin.get(path, params={"name": two["name"]}, headers=as_token(token))
    assert [x["id"] for x in r.json()["application_credentials"]] == [two["id"]]

    # Another member can neither see nor create nor delete them; the admin can see them.
    assert_fault(await admin.get(path, headers=as_token(other_token)), 403)
    assert_fault(await admin.get(f"{path}/{one['id']}", headers=as_token(other_token)), 403)
    assert_fault(await _create(admin, user["id"], other_token), 403)
    assert_fault(await admin.delete(f"{path}/{one['id']}", headers=as_token(other_token)), 403)
    assert (await admin.get(path)).status_code == 200
    # Someone else's credential id under one's own user is not found.
    r = await admin.get(
        f"{V3}/users/{other['id']}/application_credentials/{one['id']}",
        headers=as_token(other_token),
    )
    assert_fault(r, 404)

    assert_fault(await _create(admin, user["id"], token, name=one["name"]), 409)


async def test_expires_at_is_echoed_and_checked(admin: httpx.AsyncClient) -> None:
    _, user, token = await project_member(admin)
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(tzinfo=None)
    when = when.replace(microsecond=123456)
    r = await _create(admin, user["id"], token, expires_at=when.isoformat())
    assert r.status_code == 201, r.text
    cred = r.json()["application_credential"]
    assert cred["expires_at"] == when.isoformat()
    r = await _auth(admin, {"id": cred["id"], "secret": cred["secret"]})
    assert r.json()["token"]["expires_at"] <= when.isoformat() + "Z"

    assert_fault(await _create(admin, user["id"], token, expires_at="bad.123Z"), 400)
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    assert_fault(await _create(admin, user["id"], token, expires_at=past), 400)


async def test_bad_bodies_are_400(admin: httpx.AsyncClient) -> None:
    _, user, token = await project_member(admin)
    path = f"{V3}/users/{user['id']}/application_credentials"
    for body in (
        {},
        {"application_credential": {}},
        {"application_credential": {"name": ""}},
        {"application_credential": {"name": "x", "bogus": 1}},
        {"application_credential": {"name": "x", "unrestricted": "yes"}},
        {"application_credential": {"name": "x", "roles": [{}]}},
        {"application_credential": {"name": "x", "roles": "member"}},
        {"application_credential": {"name": "x", "access_rules": [{"service": "compute"}]}},
        {
            "application_credential": {
                "name": "x",
                "access_rules": [{"service": "compute", "path": "/v2.1", "method": "FETCH"}],
            }
        },
    ):
        assert_fault(await admin.post(path, json=body, headers=as_token(token)), 400)


async def test_access_rules_are_shared_and_guarded(admin: httpx.AsyncClient) -> None:
    _, user, token = await project_member(admin)
    rule = {"service": "compute", "path": "/v2.1/servers/*/ips", "method": "GET"}
    first = (await _create(admin, user["id"], token, access_rules=[rule])).json()[
        "application_credential"
    ]
    (got,) = first["access_rules"]
    rule_id = got.pop("id")
    assert got == rule
    # An identical rule, or the rule by id, is the same rule.
    second = (await _create(admin, user["id"], token, access_rules=[dict(rule)])).json()[
        "application_credential"
    ]
    third = (await _create(admin, user["id"], token, access_rules=[{"id": rule_id}])).json()[
        "application_credential"
    ]
    assert second["access_rules"][0]["id"] == rule_id == third["access_rules"][0]["id"]

    rules_path = f"{V3}/users/{user['id']}/access_rules"
    r = await admin.get(rules_path, headers=as_token(token))
    assert r.status_code == 200
    (listed,) = r.json()["access_rules"]
    assert listed["id"] == rule_id and listed["links"]["self"].endswith(f"{rules_path}/{rule_id}")
    r = await admin.get(f"{rules_path}/{rule_id}", headers=as_token(token))
    assert r.status_code == 200 and r.json()["access_rule"]["service"] == "compute"

    # The rule travels in the token.
    r = await _auth(admin, {"id": first["id"], "secret": first["secret"]})
    assert r.json()["token"]["application_credential"]["access_rules"][0]["id"] == rule_id

    # In use: deleting it is forbidden until no credential uses it.
    assert_fault(await admin.delete(f"{rules_path}/{rule_id}", headers=as_token(token)), 403)
    for cred in (first, second, third):
        r = await admin.delete(
            f"{V3}/users/{user['id']}/application_credentials/{cred['id']}",
            headers=as_token(token),
        )
        assert r.status_code == 204
    r = await admin.get(rules_path, headers=as_token(token))
    assert [x["id"] for x in r.json()["access_rules"]] == [rule_id]
    assert (
        await admin.delete(f"{rules_path}/{rule_id}", headers=as_token(token))
    ).status_code == 204
    r = await admin.get(rules_path, headers=as_token(token))
    assert r.json()["access_rules"] == []
    assert_fault(await admin.get(f"{rules_path}/{rule_id}", headers=as_token(token)), 404)
