"""Deleting a user or a project takes what only meant something with it."""

from __future__ import annotations

import httpx

from tests.support.identity import V3, as_token, create_user, grant, project_member, token_for


async def test_deleting_the_trustee_voids_the_trust(admin: httpx.AsyncClient) -> None:
    project, trustor, trustor_token = await project_member(admin)
    trustee = await create_user(admin)
    body = {
        "trust": {
            "trustor_user_id": trustor["id"],
            "trustee_user_id": trustee["id"],
            "project_id": project["id"],
            "impersonation": False,
            "roles": [{"name": "member"}],
        }
    }
    r = await admin.post(f"{V3}/OS-TRUST/trusts", json=body, headers=as_token(trustor_token))
    assert r.status_code == 201, r.text
    trust_id = r.json()["trust"]["id"]
    r = await admin.delete(f"{V3}/users/{trustee['id']}")
    assert r.status_code == 204
    r = await admin.get(f"{V3}/OS-TRUST/trusts/{trust_id}")
    assert r.status_code == 404
    r = await admin.get(f"{V3}/OS-TRUST/trusts", params={"trustor_user_id": trustor["id"]})
    assert trust_id not in {t["id"] for t in r.json()["trusts"]}


async def test_deleting_a_project_removes_its_ec2_credentials(admin: httpx.AsyncClient) -> None:
    project, user, _ = await project_member(admin)
    r = await admin.post(
        f"{V3}/users/{user['id']}/credentials/OS-EC2", json={"tenant_id": project["id"]}
    )
    assert r.status_code == 201, r.text
    access = r.json()["credential"]["access"]
    r = await admin.delete(f"{V3}/projects/{project['id']}")
    assert r.status_code == 204
    r = await admin.get(f"{V3}/users/{user['id']}/credentials/OS-EC2/{access}")
    assert r.status_code == 404
    # The user lives on and can still use other projects.
    other, _, _ = await project_member(admin)
    await grant(admin, "member", user=user["id"], project=other["id"])
    await token_for(admin, user["id"], project=other["id"])
