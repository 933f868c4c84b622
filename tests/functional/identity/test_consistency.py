"""What a delete leaves behind, concurrent writes, and two processes sharing one database."""

from __future__ import annotations

import asyncio
import time

import httpx

from stackling.settings import Settings
from tests.conftest import issue_token, running_client
from tests.support.identity import (
    V3,
    assert_fault,
    create_domain,
    create_group,
    create_project,
    create_role,
    create_user,
    grant,
    role_id,
    token_for,
    unique,
    validate,
)

# -- deletes leave nothing behind -----------------------------------------------------


async def test_deleted_user_leaves_its_groups(admin: httpx.AsyncClient) -> None:
    group = await create_group(admin)
    user = await create_user(admin)
    other = await create_user(admin)
    for member in (user, other):
        assert (
            await admin.put(f"{V3}/groups/{group['id']}/users/{member['id']}")
        ).status_code == 204
    assert (await admin.delete(f"{V3}/users/{user['id']}")).status_code == 204
    r = await admin.get(f"{V3}/groups/{group['id']}/users")
    assert [u["id"] for u in r.json()["users"]] == [other["id"]]


async def test_deleted_group_leaves_no_assignments(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    group = await create_group(admin)
    await grant(admin, "member", group=group["id"], project=project["id"])
    assert (await admin.delete(f"{V3}/groups/{group['id']}")).status_code == 204
    r = await admin.get(f"{V3}/role_assignments", params={"scope.project.id": project["id"]})
    assert r.json()["role_assignments"] == []


async def test_deleted_role_leaves_no_inference_rules(admin: httpx.AsyncClient) -> None:
    prior = await create_role(admin)
    implied = await create_role(admin)
    r = await admin.put(f"{V3}/roles/{prior['id']}/implies/{implied['id']}")
    assert r.status_code == 201
    assert (await admin.delete(f"{V3}/roles/{implied['id']}")).status_code == 204
    r = await admin.get(f"{V3}/role_inferences")
    rules = r.json()["role_inferences"]
    assert all(rule["prior_role"]["id"] != prior["id"] for rule in rules), rules
    r = await admin.get(f"{V3}/roles/{prior['id']}/implies")
    assert r.status_code == 200
    assert r.json()["role_inference"]["implies"] == []


async def test_deleted_domain_leaves_no_memberships_or_grants(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    group = await create_group(admin, domain_id=dom["id"])
    outsider = await create_user(admin)  # lives in the default domain
    assert (await admin.put(f"{V3}/groups/{group['id']}/users/{outsider['id']}")).status_code == 204
    project = await create_project(admin, domain_id=dom["id"])
    await grant(admin, "member", user=outsider["id"], project=project["id"])
    await grant(admin, "reader", user=outsider["id"], domain=dom["id"])
    r = await admin.patch(f"{V3}/domains/{dom['id']}", json={"domain": {"enabled": False}})
    assert r.status_code == 200
    assert (await admin.delete(f"{V3}/domains/{dom['id']}")).status_code == 204

    r = await admin.get(f"{V3}/users/{outsider['id']}/groups")
    assert r.status_code == 200 and r.json()["groups"] == []
    r = await admin.get(f"{V3}/role_assignments", params={"user.id": outsider["id"]})
    assert r.json()["role_assignments"] == []
    r = await admin.get(f"{V3}/users/{outsider['id']}/projects")
    assert r.json()["projects"] == []


async def test_project_acting_as_domain(admin: httpx.AsyncClient) -> None:
    name = unique("dom")
    r = await admin.post(f"{V3}/projects", json={"project": {"name": name, "is_domain": True}})
    assert r.status_code == 201, r.text
    created = r.json()["project"]
    assert created["is_domain"] is True
    r = await admin.get(f"{V3}/domains/{created['id']}")
    assert r.status_code == 200 and r.json()["domain"]["name"] == name
    inner = await create_project(admin, domain_id=created["id"])
    assert inner["parent_id"] == created["id"]


# -- concurrent writes -----------------------------------------------------------------


async def test_concurrent_creates_with_one_name(admin: httpx.AsyncClient) -> None:
    name = unique("race")
    results = await asyncio.gather(
        *(admin.post(f"{V3}/projects", json={"project": {"name": name}}) for _ in range(12))
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) == {201, 409}, statuses
    for r in results:
        if r.status_code == 409:
            assert_fault(r, 409)
    r = await admin.get(f"{V3}/projects", params={"name": name})
    assert len(r.json()["projects"]) == 1


async def test_concurrent_identical_grants_are_idempotent(admin: httpx.AsyncClient) -> None:
    # PUT of a grant is idempotent (Keystone ignores the duplicate entry): racing
    # copies of it must all answer 204, never 409. A few rounds, as a race may be lost.
    project = await create_project(admin)
    member = await role_id(admin, "member")
    for _ in range(4):
        user = await create_user(admin)
        path = f"{V3}/projects/{project['id']}/users/{user['id']}/roles/{member}"
        results = await asyncio.gather(*(admin.put(path) for _ in range(30)))
        assert [r.status_code for r in results] == [204] * 30, [r.text for r in results]
        r = await admin.get(f"{V3}/role_assignments", params={"user.id": user["id"]})
        assert len(r.json()["role_assignments"]) == 1


async def test_concurrent_identical_memberships_are_idempotent(admin: httpx.AsyncClient) -> None:
    group = await create_group(admin)
    user = await create_user(admin)
    path = f"{V3}/groups/{group['id']}/users/{user['id']}"
    results = await asyncio.gather(*(admin.put(path) for _ in range(30)))
    assert [r.status_code for r in results] == [204] * 30, [r.text for r in results]


async def test_concurrent_user_updates_all_land(admin: httpx.AsyncClient) -> None:
    users = [await create_user(admin) for _ in range(6)]
    results = await asyncio.gather(
        *(
            admin.patch(f"{V3}/users/{u['id']}", json={"user": {"description": f"d-{i}"}})
            for i, u in enumerate(users)
        )
    )
    assert [r.status_code for r in results] == [200] * 6
    for i, u in enumerate(users):
        shown = (await admin.get(f"{V3}/users/{u['id']}")).json()["user"]
        assert shown["description"] == f"d-{i}"


# -- two processes, one database ----------------------------------------------------------


async def test_revocation_reaches_another_process(settings: Settings) -> None:
    # Two apps on one database stand for two API hosts: a token revoked through one
    # stops validating on the other within the revocation sync period.
    async with running_client(settings) as a, running_client(settings) as b:
        admin_token = await issue_token(a)
        victim = await issue_token(a)
        headers = {"X-Auth-Token": admin_token, "X-Subject-Token": victim}
        assert (await b.get(f"{V3}/auth/tokens", headers=headers)).status_code == 200
        r = await a.delete(
            f"{V3}/auth/tokens", headers={"X-Auth-Token": admin_token, "X-Subject-Token": victim}
        )
        assert r.status_code == 204
        deadline = time.monotonic() + 10
        status = 200
        while time.monotonic() < deadline:
            status = (await b.get(f"{V3}/auth/tokens", headers=headers)).status_code
            if status == 404:
                break
            await asyncio.sleep(0.25)
        assert status == 404, "the other process still accepts the revoked token"


async def test_user_created_on_one_process_logs_in_on_another(settings: Settings) -> None:
    async with running_client(settings) as a, running_client(settings) as b:
        a.headers["X-Auth-Token"] = await issue_token(a)
        b.headers["X-Auth-Token"] = await issue_token(b)
        project = await create_project(a)
        user = await create_user(a)
        await grant(a, "member", user=user["id"], project=project["id"])
        token, _ = await token_for(b, user["id"], project=project["id"])
        assert (await validate(a, token)).status_code == 200
