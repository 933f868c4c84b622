"""Roles, implied roles, grants and /v3/role_assignments."""

from __future__ import annotations

from typing import Any

import httpx

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

# -- roles ------------------------------------------------------------------------


async def test_bootstrap_roles_exist(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V3}/roles")
    assert r.status_code == 200
    names = {role["name"] for role in r.json()["roles"]}
    assert {"admin", "member", "reader", "service"} <= names
    assert all(role["domain_id"] is None for role in r.json()["roles"])


async def test_create_show_update_delete_role(admin: httpx.AsyncClient) -> None:
    name = unique("role")
    role = await create_role(admin, name, description="does things")
    assert role["name"] == name
    assert role["domain_id"] is None
    assert role["description"] == "does things"

    r = await admin.get(f"{V3}/roles/{role['id']}")
    assert r.status_code == 200 and r.json()["role"] == role

    r = await admin.get(f"{V3}/roles", params={"name": name})
    assert [x["id"] for x in r.json()["roles"]] == [role["id"]]

    r = await admin.patch(f"{V3}/roles/{role['id']}", json={"role": {"name": name + "-2"}})
    assert r.status_code == 200
    assert (await admin.get(f"{V3}/roles/{role['id']}")).json()["role"]["name"] == name + "-2"

    assert (await admin.delete(f"{V3}/roles/{role['id']}")).status_code == 204
    assert_fault(await admin.get(f"{V3}/roles/{role['id']}"), 404)


async def test_duplicate_role_name_is_409(admin: httpx.AsyncClient) -> None:
    name = unique("role")
    await create_role(admin, name)
    assert_fault(await admin.post(f"{V3}/roles", json={"role": {"name": name}}), 409)
    assert_fault(await admin.post(f"{V3}/roles", json={"role": {"name": "member"}}), 409)


async def test_domain_specific_roles(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    name = unique("role")
    role = await create_role(admin, name, domain_id=dom["id"])
    assert role["domain_id"] == dom["id"]
    # The same name may exist globally and in another domain.
    await create_role(admin, name)
    r = await admin.get(f"{V3}/roles", params={"domain_id": dom["id"]})
    assert [x["id"] for x in r.json()["roles"]] == [role["id"]]
    r = await admin.get(f"{V3}/roles")
    assert role["id"] not in {x["id"] for x in r.json()["roles"]}
    # It can only be granted inside its domain.
    user = await create_user(admin)
    project = await create_project(admin)
    r = await admin.put(f"{V3}/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")
    assert_fault(r, 403)


async def test_deleting_role_removes_its_grants_and_tokens(admin: httpx.AsyncClient) -> None:
    role = await create_role(admin)
    project = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, role["id"], user=user["id"], project=project["id"])
    token, body = await token_for(admin, user["id"], project=project["id"])
    assert [r["name"] for r in body["roles"]] == [role["name"]]

    assert (await admin.delete(f"{V3}/roles/{role['id']}")).status_code == 204
    assert_fault(await validate(admin, token), 404)
    r = await admin.get(f"{V3}/role_assignments", params={"user.id": user["id"]})
    assert r.json()["role_assignments"] == []


# -- implied roles ------------------------------------------------------------------


async def test_bootstrap_implied_roles(admin: httpx.AsyncClient) -> None:
    admin_id = await role_id(admin, "admin")
    manager_id = await role_id(admin, "manager")
    member_id = await role_id(admin, "member")
    reader_id = await role_id(admin, "reader")

    r = await admin.get(f"{V3}/role_inferences")
    assert r.status_code == 200
    rules = {
        rule["prior_role"]["id"]: {i["id"] for i in rule["implies"]}
        for rule in r.json()["role_inferences"]
    }
    assert manager_id in rules[admin_id]
    assert member_id in rules[manager_id]
    assert reader_id in rules[member_id]

    r = await admin.get(f"{V3}/roles/{admin_id}/implies")
    assert r.status_code == 200
    inference = r.json()["role_inference"]
    assert inference["prior_role"]["id"] == admin_id
    assert [i["name"] for i in inference["implies"]] == ["manager"]

    r = await admin.get(f"{V3}/roles/{member_id}/implies/{reader_id}")
    assert r.status_code == 200
    assert r.json()["role_inference"]["implies"]["id"] == reader_id
    assert (await admin.head(f"{V3}/roles/{member_id}/implies/{reader_id}")).status_code == 204
    assert_fault(await admin.get(f"{V3}/roles/{reader_id}/implies/{admin_id}"), 404)


async def test_admin_token_carries_implied_roles(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, "admin", user=user["id"], project=project["id"])
    _, body = await token_for(admin, user["id"], project=project["id"])
    assert {r["name"] for r in body["roles"]} == {"admin", "manager", "member", "reader"}


async def test_create_and_delete_inference(admin: httpx.AsyncClient) -> None:
    prior = await create_role(admin)
    implied = await create_role(admin)
    r = await admin.put(f"{V3}/roles/{prior['id']}/implies/{implied['id']}")
    assert r.status_code == 201, r.text
    body = r.json()["role_inference"]
    assert body["prior_role"]["id"] == prior["id"]
    assert body["implies"]["id"] == implied["id"]

    project = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, prior["id"], user=user["id"], project=project["id"])
    _, token = await token_for(admin, user["id"], project=project["id"])
    assert {r["id"] for r in token["roles"]} == {prior["id"], implied["id"]}

    # A loop is refused.
    r = await admin.put(f"{V3}/roles/{implied['id']}/implies/{prior['id']}")
    assert_fault(r, 403)

    r = await admin.delete(f"{V3}/roles/{prior['id']}/implies/{implied['id']}")
    assert r.status_code == 204
    assert_fault(await admin.get(f"{V3}/roles/{prior['id']}/implies/{implied['id']}"), 404)
    _, token = await token_for(admin, user["id"], project=project["id"])
    assert {r["id"] for r in token["roles"]} == {prior["id"]}


async def test_inference_with_unknown_role_is_404(admin: httpx.AsyncClient) -> None:
    prior = await create_role(admin)
    assert_fault(await admin.put(f"{V3}/roles/{prior['id']}/implies/{'0' * 32}"), 404)
    assert_fault(await admin.put(f"{V3}/roles/{'0' * 32}/implies/{prior['id']}"), 404)


# -- grants -------------------------------------------------------------------------


async def test_project_user_grant_lifecycle(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    member = await role_id(admin, "member")
    path = f"{V3}/projects/{project['id']}/users/{user['id']}/roles"

    assert_fault(await admin.head(f"{path}/{member}"), 404)
    assert (await admin.put(f"{path}/{member}")).status_code == 204
    assert (await admin.put(f"{path}/{member}")).status_code == 204  # idempotent
    assert (await admin.head(f"{path}/{member}")).status_code == 204
    assert (await admin.get(f"{path}/{member}")).status_code == 204
    r = await admin.get(path)
    assert r.status_code == 200
    assert [x["name"] for x in r.json()["roles"]] == ["member"]

    assert (await admin.delete(f"{path}/{member}")).status_code == 204
    assert_fault(await admin.head(f"{path}/{member}"), 404)
    assert_fault(await admin.delete(f"{path}/{member}"), 404)
    assert (await admin.get(path)).json()["roles"] == []


async def test_grants_on_unknown_parties_are_404(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    member = await role_id(admin, "member")
    nope = "0" * 32
    for path in (
        f"projects/{nope}/users/{user['id']}/roles/{member}",
        f"projects/{project['id']}/users/{nope}/roles/{member}",
        f"projects/{project['id']}/users/{user['id']}/roles/{nope}",
        f"domains/{nope}/users/{user['id']}/roles/{member}",
        f"projects/{project['id']}/groups/{nope}/roles/{member}",
    ):
        assert_fault(await admin.put(f"{V3}/{path}"), 404)


async def test_domain_and_system_grants(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    user = await create_user(admin)
    group = await create_group(admin)
    await grant(admin, "reader", user=user["id"], domain=dom["id"])
    await grant(admin, "reader", group=group["id"], domain=dom["id"])
    await grant(admin, "reader", user=user["id"], system=True)

    r = await admin.get(f"{V3}/domains/{dom['id']}/users/{user['id']}/roles")
    assert [x["name"] for x in r.json()["roles"]] == ["reader"]
    r = await admin.get(f"{V3}/domains/{dom['id']}/groups/{group['id']}/roles")
    assert [x["name"] for x in r.json()["roles"]] == ["reader"]
    r = await admin.get(f"{V3}/system/users/{user['id']}/roles")
    assert [x["name"] for x in r.json()["roles"]] == ["reader"]

    _, token = await token_for(admin, user["id"], domain=dom["id"])
    assert token["domain"]["id"] == dom["id"]
    _, token = await token_for(admin, user["id"], system=True)
    assert token["system"] == {"all": True}
    assert [x["name"] for x in token["roles"]] == ["reader"]


async def test_inherited_domain_grant_reaches_projects(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    project = await create_project(admin, domain_id=dom["id"])
    child = await create_project(admin, domain_id=dom["id"], parent_id=project["id"])
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], domain=dom["id"], inherited=True)

    r = await admin.get(
        f"{V3}/OS-INHERIT/domains/{dom['id']}/users/{user['id']}/roles/inherited_to_projects"
    )
    assert [x["name"] for x in r.json()["roles"]] == ["member"]
    for target in (project, child):
        _, token = await token_for(admin, user["id"], project=target["id"])
        assert "member" in {x["name"] for x in token["roles"]}
    # Inherited-to-projects is not a role on the domain itself.
    r = await admin.post(
        f"{V3}/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"id": user["id"], "password": "pa55-word-for-tests"}},
                },
                "scope": {"domain": {"id": dom["id"]}},
            }
        },
    )
    assert_fault(r, 401)


# -- /v3/role_assignments -----------------------------------------------------------


def _summary(entries: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    out = set()
    for e in entries:
        actor = ("user", e["user"]["id"]) if "user" in e else ("group", e["group"]["id"])
        scope = e["scope"]
        if "project" in scope:
            target = ("project", scope["project"]["id"])
        elif "domain" in scope:
            target = ("domain", scope["domain"]["id"])
        else:
            target = ("system", "all")
        out.add((e["role"]["id"], f"{actor[0]}:{actor[1]}", target[0], target[1]))
    return out


async def test_role_assignments_direct(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    group = await create_group(admin)
    member = await role_id(admin, "member")
    reader = await role_id(admin, "reader")
    await grant(admin, "member", user=user["id"], project=project["id"])
    await grant(admin, "reader", group=group["id"], project=project["id"])

    r = await admin.get(f"{V3}/role_assignments", params={"scope.project.id": project["id"]})
    assert r.status_code == 200
    assert _summary(r.json()["role_assignments"]) == {
        (member, f"user:{user['id']}", "project", project["id"]),
        (reader, f"group:{group['id']}", "project", project["id"]),
    }
    entry = next(e for e in r.json()["role_assignments"] if "user" in e)
    assert entry["links"]["assignment"].endswith(
        f"/projects/{project['id']}/users/{user['id']}/roles/{member}"
    )

    r = await admin.get(f"{V3}/role_assignments", params={"user.id": user["id"]})
    assert _summary(r.json()["role_assignments"]) == {
        (member, f"user:{user['id']}", "project", project["id"])
    }
    r = await admin.get(
        f"{V3}/role_assignments", params={"role.id": reader, "group.id": group["id"]}
    )
    assert len(r.json()["role_assignments"]) == 1


async def test_role_assignments_effective(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    group = await create_group(admin)
    assert (await admin.put(f"{V3}/groups/{group['id']}/users/{user['id']}")).status_code == 204
    await grant(admin, "member", group=group["id"], project=project["id"])
    member = await role_id(admin, "member")
    reader = await role_id(admin, "reader")

    r = await admin.get(
        f"{V3}/role_assignments", params={"user.id": user["id"], "effective": "true"}
    )
    assert r.status_code == 200
    entries = r.json()["role_assignments"]
    # The group's member role lands on the user, and member implies reader.
    assert _summary(entries) == {
        (member, f"user:{user['id']}", "project", project["id"]),
        (reader, f"user:{user['id']}", "project", project["id"]),
    }
    via_group = next(e for e in entries if e["role"]["id"] == member)
    assert via_group["links"]["membership"].endswith(f"/groups/{group['id']}/users/{user['id']}")

    # Without effective, the user has no direct assignment.
    r = await admin.get(f"{V3}/role_assignments", params={"user.id": user["id"]})
    assert r.json()["role_assignments"] == []

    # effective together with a group filter is refused, as in Keystone.
    r = await admin.get(
        f"{V3}/role_assignments", params={"group.id": group["id"], "effective": "true"}
    )
    assert_fault(r, 400)


async def test_role_assignments_effective_inherited(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    project = await create_project(admin, domain_id=dom["id"])
    user = await create_user(admin)
    await grant(admin, "reader", user=user["id"], domain=dom["id"], inherited=True)
    reader = await role_id(admin, "reader")
    r = await admin.get(f"{V3}/role_assignments", params={"user.id": user["id"], "effective": ""})
    assert _summary(r.json()["role_assignments"]) == {
        (reader, f"user:{user['id']}", "project", project["id"])
    }
    r = await admin.get(f"{V3}/role_assignments", params={"user.id": user["id"]})
    (entry,) = r.json()["role_assignments"]
    assert entry["scope"]["OS-INHERIT:inherited_to"] == "projects"


async def test_role_assignments_include_names(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    project = await create_project(admin, domain_id=dom["id"])
    user = await create_user(admin, domain_id=dom["id"])
    await grant(admin, "member", user=user["id"], project=project["id"])
    r = await admin.get(
        f"{V3}/role_assignments", params={"user.id": user["id"], "include_names": "true"}
    )
    assert r.status_code == 200
    (entry,) = r.json()["role_assignments"]
    assert entry["role"]["name"] == "member"
    assert entry["user"]["name"] == user["name"]
    assert entry["user"]["domain"] == {"id": dom["id"], "name": dom["name"]}
    assert entry["scope"]["project"]["name"] == project["name"]
    assert entry["scope"]["project"]["domain"] == {"id": dom["id"], "name": dom["name"]}

    r = await admin.get(
        f"{V3}/role_assignments",
        params={"user.id": user["id"], "include_names": "true", "effective": "true"},
    )
    names = {e["role"].get("name") for e in r.json()["role_assignments"]}
    assert names == {"member", "reader"}
    assert all(e["user"].get("name") == user["name"] for e in r.json()["role_assignments"])


async def test_role_assignments_system_and_domain_scope_filters(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    user = await create_user(admin)
    await grant(admin, "reader", user=user["id"], domain=dom["id"])
    await grant(admin, "reader", user=user["id"], system=True)
    r = await admin.get(f"{V3}/role_assignments", params={"scope.domain.id": dom["id"]})
    assert {e["user"]["id"] for e in r.json()["role_assignments"]} == {user["id"]}
    r = await admin.get(
        f"{V3}/role_assignments", params={"scope.system": "all", "user.id": user["id"]}
    )
    (entry,) = r.json()["role_assignments"]
    assert entry["scope"] == {"system": {"all": True}}
