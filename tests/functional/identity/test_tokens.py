"""Issuing, validating and revoking tokens through the HTTP API."""

from __future__ import annotations

import httpx

from tests.conftest import issue_token


async def test_issue_and_validate_project_token(admin: httpx.AsyncClient) -> None:
    subject = await issue_token(admin)
    r = await admin.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": subject})
    assert r.status_code == 200
    token = r.json()["token"]
    assert token["project"]["name"] == "admin"
    assert {"admin", "member", "reader"} <= {role["name"] for role in token["roles"]}
    assert any(s["type"] == "identity" for s in token["catalog"])
    assert r.headers["x-openstack-request-id"].startswith("req-")


async def test_revoked_token_gets_401(admin: httpx.AsyncClient) -> None:
    subject = await issue_token(admin)
    r = await admin.delete("/identity/v3/auth/tokens", headers={"X-Subject-Token": subject})
    assert r.status_code == 204
    r = await admin.get("/identity/v3/projects", headers={"X-Auth-Token": subject})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == 401


async def test_wrong_password_is_401_in_keystone_format(client: httpx.AsyncClient) -> None:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "admin", "domain": {"id": "default"}, "password": "nope"}
                },
            }
        }
    }
    r = await client.post("/identity/v3/auth/tokens", json=body)
    assert r.status_code == 401
    assert set(r.json()["error"]) == {"code", "message", "title"}
