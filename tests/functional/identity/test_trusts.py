"""Trusts (OS-TRUST): managing them, and trust-scoped tokens."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx

from tests.support.identity import (
    V3,
    as_token,
    assert_fault,
    create_project,
    create_role,
    create_user,
    grant,
    token_for,
    validate,
)

TRUSTS = f"{V3}/OS-TRUST/trusts"


class Parties:
    """A trustor holding member and an extra role on a project, and a trustee."""

    def __init__(self, project: dict, trustor: dict, trustee: dict, extra_role: dict) -> None:
        self.project = project
        self.trustor = trustor
        self.trustee = trustee
        self.extra_role = extra_role
        self.trustor_token = ""
        self.trustee_token = ""


async def _parties(admin: httpx.AsyncClient) -> Parties:
    project = await create_project(admin)
    trustor = await create_user(admin)
    trustee = await create_user(admin)
    extra = await create_role(admin)
    await grant(admin, "member", user=trustor["id"], project=project["id"])
    await grant(admin, extra["id"], user=trustor["id"], project=project["id"])
    p = Parties(project, trustor, trustee, extra)
    p.trustor_token, _ = await token_for(admin, trustor["id"], project=project["id"])
    p.trustee_token, _ = await token_for(admin, trustee["id"])
    return p


async def _create(c: httpx.AsyncClient, token: str, **trust: Any) -> httpx.Response:
    return await c.post(TRUSTS, json={"trust": trust}, headers=as_token(token))


async def _trust(c: httpx.AsyncClient, p: Parties, **fields: Any) -> dict[str, Any]:
    body = {
        "trustor_user_id": p.trustor["id"],
        "trustee_user_id": p.trustee["id"],
        "project_id": p.project["id"],
        "impersonation": True,
        "roles": [{"name": "member"}],
        **fields,
    }
    r = await _create(c, p.trustor_token, **body)
    assert r.status_code == 201, r.text
    return dict(r.json()["trust"])


async def _trust_token(
    c: httpx.AsyncClient, user_token: str, trust_id: str
) -> tuple[httpx.Response, str]:
    body = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": user_token}},
            "scope": {"OS-TRUST:trust": {"id": trust_id}},
        }
    }
    r = await c.post(f"{V3}/auth/tokens", json=body)
    return r, r.headers.get("x-subject-token", "")


async def test_create_show_list_and_roles(admin: httpx.AsyncClient) -> None:
    p = await _parties(admin)
    trust = await _trust(admin, p)
    assert trust["impersonation"] is True
    assert trust["trustor_user_id"] == p.trustor["id"]
    assert trust["trustee_user_id"] == p.trustee["id"]
    assert trust["project_id"] == p.project["id"]
    assert trust["expires_at"] is None and trust["remaining_uses"] is None
    assert [r["name"] for r in trust["roles"]] == ["member"]
    assert trust["links"]["self"].endswith(f"/v3/OS-TRUST/trusts/{trust['id']}")
    assert trust["roles_links"]["self"].endswith(f"/v3/OS-TRUST/trusts/{trust['id']}/roles")

    for token in (p.trustor_token, p.trustee_token):
        r = await admin.get(f"{TRUSTS}/{trust['id']}", headers=as_token(token))
        assert r.status_code == 200 and r.json()["trust"] == trust
    stranger = await create_user(admin)
    stranger_token, _ = await token_for(admin, stranger["id"])
    assert_fault(await admin.get(f"{TRUSTS}/{trust['id']}", headers=as_token(stranger_token)), 403)

    # Lists leave the roles out; trailing slash as python-keystoneclient sends it.
    r = await admin.get(
        f"{TRUSTS}/", params={"trustor_user_id": p.trustor["id"]}, headers=as_token(p.trustor_token)
    )
    assert r.status_code == 200
    (listed,) = r.json()["trusts"]
    assert listed["id"] == trust["id"] and "roles" not in listed
    r = await admin.get(
        TRUSTS, params={"trustee_user_id": p.trustee["id"]}, headers=as_token(p.trustee_token)
    )
    assert [t["id"] for t in r.json()["trusts"]] == [trust["id"]]
    assert_fault(await admin.get(TRUSTS, headers=as_token(p.trustor_token)), 403)
    r = await admin.get(
        TRUSTS, params={"trustor_user_id": p.trustor["id"]}, headers=as_token(stranger_token)
    )
    assert_fault(r, 403)
    assert trust["id"] in {t["id"] for t in (await admin.get(TRUSTS)).json()["trusts"]}

    roles_path = f"{TRUSTS}/{trust['id']}/roles"
    r = await admin.get(roles_path, headers=as_token(p.trustor_token))
    assert [x["name"] for x in r.json()["roles"]] == ["member"]
    member_id = r.json()["roles"][0]["id"]
    assert r.json()["roles"][0]["links"]["self"].endswith(f"/v3/roles/{member_id}")
    r = await admin.get(f"{roles_path}/{member_id}", headers=as_token(p.trustee_token))
    assert r.status_code == 200 and r.json()["role"]["name"] == "member"
    assert (await admin.head(f"{roles_path}/{member_id}")).status_code == 200
    not_delegated = p.extra_role["id"]
    assert_fault(await admin.get(f"{roles_path}/{not_delegated}"), 404)
    assert_fault(await admin.head(f"{roles_path}/{not_delegated}"), 404)


async def test_impersonating_trust_token_acts_as_the_trustor(admin: httpx.AsyncClient) -> None:
    p = await _parties(admin)
    trust = await _trust(admin, p, impersonation=True)
    r, token = await _trust_token(admin, p.trustee_token, trust["id"])
    assert r.status_code == 201, r.text
    body = r.json()["token"]
    assert body["user"]["id"] == p.trustor["id"]
    assert body["project"]["id"] == p.project["id"]
    # member implies reader; the extra role was not delegated.
    assert {x["name"] for x in body["roles"]} == {"member", "reader"}
    assert body["OS-TRUST:trust"] == {
        "id": trust["id"],
        "impersonation": True,
        "trustor_user": {"id": p.trustor["id"]},
        "trustee_user": {"id": p.trustee["id"]},
    }
    r = await validate(admin, token)
    assert r.status_code == 200 and r.json()["token"]["user"]["id"] == p.trustor["id"]


async def test_non_impersonating_trust_token_stays_the_trustee(admin: httpx.AsyncClient) -> None:
    p = await _parties(admin)
    trust = await _trust(admin, p, impersonation=False, roles=[{"id": p.extra_role["id"]}])
    r, _ = await _trust_token(admin, p.trustee_token, trust["id"])
    assert r.status_code == 201, r.text
    body = r.json()["token"]
    assert body["user"]["id"] == p.trustee["id"]
    assert [x["id"] for x in body["roles"]] == [p.extra_role["id"]]
    assert body["OS-TRUST:trust"]["impersonation"] is False
    # Only the trustee may use it.
    r, _ = await _trust_token(admin, p.trustor_token, trust["id"])
    assert_fault(r, 403)


async def test_remaining_uses_run_out(admin: httpx.AsyncClient) -> None:
    p = await _parties(admin)
    trust = await _trust(admin, p, remaining_uses=2)
    assert trust["remaining_uses"] == 2
    for _ in range(2):
        r, _ = await _trust_token(admin, p.trustee_token, trust["id"])
        assert r.status_code == 201, r.text
    r, _ = await _trust_token(admin, p.trustee_token, trust["id"])
    assert_fault(r, 401)
    assert_fault(await admin.get(f"{TRUSTS}/{trust['id']}"), 404)


async def test_expiry_is_shown_bounds_tokens_and_ends_the_trust(admin: httpx.AsyncClient) -> None:
    p = await _parties(admin)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(microsecond=0, tzinfo=None)
    trust = await _trust(admin, p, expires_at=later.isoformat() + "Z")
    assert trust["expires_at"] == later.isoformat() + ".000000Z"

    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)
    short = await _trust(admin, p, expires_at=soon.isoformat(), impersonation=False)
    r, _ = await _trust_token(admin, p.trustee_token, short["id"])
    assert r.status_code == 201, r.text
    assert r.json()["token"]["expires_at"] <= short["expires_at"]
    await asyncio.sleep(2)
    r, _ = await _trust_token(admin, p.trustee_token, short["id"])
    assert_fault(r, 401)
    assert_fault(await admin.get(f"{TRUSTS}/{short['id']}"), 404)
    # An expired trust can still be deleted by its trustor.
    r = await admin.delete(f"{TRUSTS}/{short['id']}", headers=as_token(p.trustor_token))
    assert r.status_code == 204


async def test_deleting_a_trust_revokes_its_tokens(admin: httpx.AsyncClient) -> None:
    p = await _parties(admin)
    trust = await _trust(admin, p)
    r, token = await _trust_token(admin, p.trustee_token, trust["id"])
    assert r.status_code == 201
    assert (await admin.get(f"{V3}/auth/projects", headers=as_token(token))).status_code == 200

    # The trustee may not delete it; the trustor may.
    r = await admin.delete(f"{TRUSTS}/{trust['id']}", headers=as_token(p.trustee_token))
    assert_fault(r, 403)
    r = await admin.delete(f"{TRUSTS}/{trust['id']}", headers=as_token(p.trustor_token))
    assert r.status_code == 204
    assert_fault(await admin.get(f"{V3}/auth/projects", headers=as_token(token)), 401)
    assert_fault(await admin.get(f"{TRUSTS}/{trust['id']}"), 404)
    r, _ = await _trust_token(admin, p.trustee_token, trust["id"])
    assert_fault(r, 401)
    assert_fault(await admin.delete(f"{TRUSTS}/{trust['id']}"), 404)


async def test_refused_trusts(admin: httpx.AsyncClient) -> None:
    p = await _parties(admin)
    base = {
        "trustor_user_id": p.trustor["id"],
        "trustee_user_id": p.trustee["id"],
        "project_id": p.project["id"],
        "impersonation": False,
        "roles": [{"name": "member"}],
    }
    # Only the trustor may create it, even an admin may not on their behalf.
    assert_fault(await _create(admin, p.trustee_token, **base), 403)
    admin_token = admin.headers["X-Auth-Token"]
    assert_fault(await _create(admin, admin_token, **base), 403)
    # Roles the trustor does not hold, or that do not exist.
    assert_fault(
        await _create(admin, p.trustor_token, **{**base, "roles": [{"name": "admin"}]}), 404
    )
    assert_fault(await _create(admin, p.trustor_token, **{**base, "roles": [{"id": "nope"}]}), 404)
    assert_fault(await _create(admin, p.trustor_token, **{**base, "roles": []}), 403)
    assert_fault(await _create(admin, p.trustor_token, **{**base, "trustee_user_id": "nope"}), 404)
    assert_fault(await _create(admin, p.trustor_token, **{**base, "project_id": "nope"}), 404)
    for bad in (
        {"expires_at": "bad.123Z"},
        {"impersonation": "yes"},
        {"remaining_uses": 0},
        {"roles": [{}]},
        {"remaining_uses": 1, "allow_redelegation": True},
    ):
        assert_fault(await _create(admin, p.trustor_token, **{**base, **bad}), 400)
    missing = dict(base)
    del missing["impersonation"]
    assert_fault(await _create(admin, p.trustor_token, **missing), 400)
    await _trust(admin, p, impersonation=False)
    assert_fault(await _create(admin, p.trustor_token, **base), 409)


async def test_trust_tokens_cannot_manage_app_creds(admin: httpx.AsyncClient) -> None:
    p = await _parties(admin)
    trust = await _trust(admin, p)
    _, token = await _trust_token(admin, p.trustee_token, trust["id"])
    path = f"{V3}/users/{p.trustor['id']}/application_credentials"
    r = await admin.post(
        path, json={"application_credential": {"name": "x"}}, headers=as_token(token)
    )
    assert_fault(r, 403)
    assert_fault(await admin.get(path, headers=as_token(token)), 403)


async def test_redelegation_narrows_and_cascades(admin: httpx.AsyncClient) -> None:
    p = await _parties(admin)
    parent = await _trust(
        admin,
        p,
        impersonation=False,
        allow_redelegation=True,
        roles=[{"name": "member"}, {"id": p.extra_role["id"]}],
    )
    assert parent["redelegation_count"] == 3
    _, trust_token = await _trust_token(admin, p.trustee_token, parent["id"])
    third = await create_user(admin)
    child_body = {
        "trustor_user_id": p.trustee["id"],
        "trustee_user_id": third["id"],
        "project_id": p.project["id"],
        "impersonation": False,
        "roles": [{"name": "member"}],
    }
    # Impersonation the parent does not grant is refused.
    r = await _create(admin, trust_token, **{**child_body, "impersonation": True})
    assert_fault(r, 403)
    r = await _create(admin, trust_token, **child_body)
    assert r.status_code == 201, r.text
    child = r.json()["trust"]
    assert child["redelegated_trust_id"] == parent["id"]

    third_token, _ = await token_for(admin, third["id"])
    r, child_token = await _trust_token(admin, third_token, child["id"])
    assert r.status_code == 201, r.text
    assert {x["name"] for x in r.json()["token"]["roles"]} == {"member", "reader"}

    # A trust that was not allowed to be redelegated cannot be.
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    plain = await _trust(admin, p, impersonation=False, remaining_uses=5, expires_at=later)
    _, plain_token = await _trust_token(admin, p.trustee_token, plain["id"])
    error = assert_fault(await _create(admin, plain_token, **child_body), 403)
    assert "redelegation" in error["message"]

    # Deleting the parent takes the child, and the child's tokens, with it.
    r = await admin.delete(f"{TRUSTS}/{parent['id']}", headers=as_token(p.trustor_token))
    assert r.status_code == 204
    assert_fault(await admin.get(f"{TRUSTS}/{child['id']}"), 404)
    assert_fault(await validate(admin, child_token), 404)
