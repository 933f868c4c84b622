"""Domains and projects: CRUD, list filters, hierarchy, disabling and cascading deletes."""

from __future__ import annotations

import httpx

from tests.support.identity import (
    V3,
    as_token,
    assert_fault,
    create_domain,
    create_group,
    create_project,
    create_role,
    create_user,
    grant,
    token_for,
    unique,
    validate,
)

# -- domains ---------------------------------------------------------------------


async def test_create_show_update_domain(admin: httpx.AsyncClient) -> None:
    name = unique("dom")
    created = await create_domain(admin, name, description="first")
    assert created["name"] == name
    assert created["enabled"] is True
    assert created["description"] == "first"
    assert created["links"]["self"].endswith(f"/identity/v3/domains/{created['id']}")

    r = await admin.get(f"{V3}/domains/{created['id']}")
    assert r.status_code == 200
    assert r.json()["domain"] == created

    r = await admin.patch(
        f"{V3}/domains/{created['id']}", json={"domain": {"description": "second", "name": "x2"}}
    )
    assert r.status_code == 200, r.text
    assert r.json()["domain"]["description"] == "second"
    assert r.json()["domain"]["name"] == "x2"
    r = await admin.get(f"{V3}/domains/{created['id']}")
    assert r.json()["domain"]["name"] == "x2"


async def test_list_domains_filters(admin: httpx.AsyncClient) -> None:
    on = await create_domain(admin)
    off = await create_domain(admin, enabled=False)

    r = await admin.get(f"{V3}/domains")
    assert r.status_code == 200
    names = {d["name"] for d in r.json()["domains"]}
    assert {"Default", on["name"], off["name"]} <= names

    r = await admin.get(f"{V3}/domains", params={"name": on["name"]})
    assert [d["id"] for d in r.json()["domains"]] == [on["id"]]

    r = await admin.get(f"{V3}/domains", params={"enabled": "false"})
    ids = {d["id"] for d in r.json()["domains"]}
    assert off["id"] in ids and on["id"] not in ids

    r = await admin.get(f"{V3}/domains", params={"enabled": "true"})
    ids = {d["id"] for d in r.json()["domains"]}
    assert on["id"] in ids and off["id"] not in ids


async def test_domain_with_explicit_id(admin: httpx.AsyncClient) -> None:
    wanted = "d" * 32
    created = await create_domain(admin, explicit_domain_id=wanted)
    assert created["id"] == wanted
    assert (await admin.get(f"{V3}/domains/{wanted}")).status_code == 200


async def test_duplicate_domain_name_is_409(admin: httpx.AsyncClient) -> None:
    name = unique("dom")
    await create_domain(admin, name)
    r = await admin.post(f"{V3}/domains", json={"domain": {"name": name}})
    assert_fault(r, 409)


async def test_enabled_domain_cannot_be_deleted(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    assert_fault(await admin.delete(f"{V3}/domains/{dom['id']}"), 403)
    assert (await admin.get(f"{V3}/domains/{dom['id']}")).status_code == 200


async def test_deleting_disabled_domain_cascades(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    parent = await create_project(admin, domain_id=dom["id"])
    child = await create_project(admin, domain_id=dom["id"], parent_id=parent["id"])
    user = await create_user(admin, domain_id=dom["id"])
    group = await create_group(admin, domain_id=dom["id"])
    role = await create_role(admin, domain_id=dom["id"])
    await grant(admin, "member", user=user["id"], project=child["id"])

    r = await admin.patch(f"{V3}/domains/{dom['id']}", json={"domain": {"enabled": False}})
    assert r.status_code == 200
    r = await admin.delete(f"{V3}/domains/{dom['id']}")
    assert r.status_code == 204, r.text

    assert_fault(await admin.get(f"{V3}/domains/{dom['id']}"), 404)
    for path in (
        f"projects/{parent['id']}",
        f"projects/{child['id']}",
        f"users/{user['id']}",
        f"groups/{group['id']}",
        f"roles/{role['id']}",
    ):
        assert_fault(await admin.get(f"{V3}/{path}"), 404)
    r = await admin.get(f"{V3}/role_assignments", params={"user.id": user["id"]})
    assert r.status_code == 200
    assert r.json()["role_assignments"] == []
    # The name can be used again.
    await create_domain(admin, dom["name"])


async def test_disabling_domain_invalidates_its_tokens(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    project = await create_project(admin, domain_id=dom["id"])
    user = await create_user(admin, domain_id=dom["id"])
    await grant(admin, "member", user=user["id"], project=project["id"])
    await grant(admin, "member", user=user["id"], domain=dom["id"])
    project_token, _ = await token_for(admin, user["id"], project=project["id"])
    domain_token, _ = await token_for(admin, user["id"], domain=dom["id"])
    assert (await validate(admin, project_token)).status_code == 200

    r = await admin.patch(f"{V3}/domains/{dom['id']}", json={"domain": {"enabled": False}})
    assert r.status_code == 200

    for token in (project_token, domain_token):
        assert_fault(await validate(admin, token), 404)
        assert_fault(await admin.get(f"{V3}/users/{user['id']}", headers=as_token(token)), 401)
    # And no new token while the domain is disabled.
    r = await admin.post(
        f"{V3}/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"id": user["id"], "password": "pa55-word-for-tests"}},
                }
            }
        },
    )
    assert_fault(r, 401)


async def test_projects_of_a_disabled_domain_cannot_be_scoped(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    project = await create_project(admin, domain_id=dom["id"])
    # The user lives in the default domain: only the project's domain is disabled.
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], project=project["id"])
    token, _ = await token_for(admin, user["id"], project=project["id"])

    r = await admin.patch(f"{V3}/domains/{dom['id']}", json={"domain": {"enabled": False}})
    assert r.status_code == 200
    assert_fault(await validate(admin, token), 404)
    r = await admin.post(
        f"{V3}/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"id": user["id"], "password": "pa55-word-for-tests"}},
                },
                "scope": {"project": {"id": project["id"]}},
            }
        },
    )
    assert_fault(r, 401)


# -- projects -------------------------------------------------------------------


async def test_create_show_update_delete_project(admin: httpx.AsyncClient) -> None:
    name = unique("proj")
    created = await create_project(admin, name, description="about", tags=["a", "b"])
    assert created["name"] == name
    assert created["domain_id"] == "default"
    assert created["parent_id"] == "default"
    assert created["is_domain"] is False
    assert created["enabled"] is True
    assert created["tags"] == ["a", "b"]

    r = await admin.get(f"{V3}/projects/{created['id']}")
    assert r.status_code == 200
    assert r.json()["project"] == created

    r = await admin.patch(
        f"{V3}/projects/{created['id']}",
        json={"project": {"description": "changed", "enabled": False, "color": "blue"}},
    )
    assert r.status_code == 200, r.text
    shown = (await admin.get(f"{V3}/projects/{created['id']}")).json()["project"]
    assert shown["description"] == "changed"
    assert shown["enabled"] is False
    assert shown["color"] == "blue"

    r = await admin.delete(f"{V3}/projects/{created['id']}")
    assert r.status_code == 204
    assert_fault(await admin.get(f"{V3}/projects/{created['id']}"), 404)
    assert_fault(await admin.delete(f"{V3}/projects/{created['id']}"), 404)


async def test_project_ids_and_domain_are_immutable(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    dom = await create_domain(admin)
    r = await admin.patch(
        f"{V3}/projects/{project['id']}", json={"project": {"domain_id": dom["id"]}}
    )
    assert_fault(r, 400)
    shown = (await admin.get(f"{V3}/projects/{project['id']}")).json()["project"]
    assert shown["domain_id"] == "default"


async def test_list_projects_filters(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    p1 = await create_project(admin, domain_id=dom["id"])
    p2 = await create_project(admin, domain_id=dom["id"], enabled=False)
    child = await create_project(admin, domain_id=dom["id"], parent_id=p1["id"])
    elsewhere = await create_project(admin)

    async def ids(**params: str) -> set[str]:
        r = await admin.get(f"{V3}/projects", params=params)
        assert r.status_code == 200, r.text
        return {p["id"] for p in r.json()["projects"]}

    assert await ids(domain_id=dom["id"]) == {p1["id"], p2["id"], child["id"]}
    assert await ids(name=p1["name"]) == {p1["id"]}
    assert await ids(domain_id=dom["id"], enabled="false") == {p2["id"]}
    assert await ids(domain_id=dom["id"], enabled="true") == {p1["id"], child["id"]}
    assert await ids(parent_id=p1["id"]) == {child["id"]}
    assert await ids(parent_id=dom["id"]) == {p1["id"], p2["id"]}
    assert elsewhere["id"] in await ids()
    # Domains are listed as projects only when asked for.
    assert dom["id"] not in await ids()
    as_domains = await ids(is_domain="true")
    assert dom["id"] in as_domains and "default" in as_domains
    assert p1["id"] not in as_domains


async def test_project_hierarchy(admin: httpx.AsyncClient) -> None:
    top = await create_project(admin)
    mid = await create_project(admin, parent_id=top["id"])
    leaf = await create_project(admin, parent_id=mid["id"])
    assert mid["parent_id"] == top["id"]
    assert leaf["parent_id"] == mid["id"]
    assert leaf["domain_id"] == "default"

    # A project with children is not a leaf: it cannot be deleted.
    assert_fault(await admin.delete(f"{V3}/projects/{mid['id']}"), 403)
    assert (await admin.get(f"{V3}/projects/{mid['id']}")).status_code == 200

    # A child must live in its parent's domain.
    other = await create_domain(admin)
    r = await admin.post(
        f"{V3}/projects",
        json={"project": {"name": unique(), "parent_id": top["id"], "domain_id": other["id"]}},
    )
    assert_fault(r, 400)

    # An unknown parent is a 404.
    r = await admin.post(
        f"{V3}/projects", json={"project": {"name": unique(), "parent_id": "f" * 32}}
    )
    assert_fault(r, 404)

    # Leaves first, then their parents.
    for project in (leaf, mid, top):
        assert (await admin.delete(f"{V3}/projects/{project['id']}")).status_code == 204


async def test_project_parents_and_subtree_as_ids(admin: httpx.AsyncClient) -> None:
    top = await create_project(admin)
    mid = await create_project(admin, parent_id=top["id"])
    leaf = await create_project(admin, parent_id=mid["id"])

    r = await admin.get(f"{V3}/projects/{leaf['id']}", params={"parents_as_ids": ""})
    assert r.status_code == 200
    parents = r.json()["project"].get("parents")
    assert isinstance(parents, dict), r.json()
    assert mid["id"] in parents
    assert top["id"] in parents[mid["id"]]

    r = await admin.get(f"{V3}/projects/{top['id']}", params={"subtree_as_ids": ""})
    subtree = r.json()["project"].get("subtree")
    assert isinstance(subtree, dict), r.json()
    assert subtree == {mid["id"]: {leaf["id"]: None}}


async def test_same_project_name_in_two_domains(admin: httpx.AsyncClient) -> None:
    name = unique("proj")
    dom = await create_domain(admin)
    await create_project(admin, name)
    await create_project(admin, name, domain_id=dom["id"])
    r = await admin.post(f"{V3}/projects", json={"project": {"name": name, "domain_id": dom["id"]}})
    assert_fault(r, 409)


async def test_project_in_unknown_domain_is_404(admin: httpx.AsyncClient) -> None:
    r = await admin.post(
        f"{V3}/projects", json={"project": {"name": unique(), "domain_id": "e" * 32}}
    )
    assert_fault(r, 404)


async def test_disabling_project_invalidates_its_tokens(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], project=project["id"])
    token, _ = await token_for(admin, user["id"], project=project["id"])
    unscoped, _ = await token_for(admin, user["id"])
    assert (
        await admin.get(f"{V3}/projects/{project['id']}", headers=as_token(token))
    ).status_code == 200

    r = await admin.patch(f"{V3}/projects/{project['id']}", json={"project": {"enabled": False}})
    assert r.status_code == 200

    assert_fault(await validate(admin, token), 404)
    assert_fault(await admin.get(f"{V3}/projects/{project['id']}", headers=as_token(token)), 401)
    # The user's unscoped token is not about the project: it still works.
    assert (await validate(admin, unscoped)).status_code == 200
    # No new token for a disabled project.
    r = await admin.post(
        f"{V3}/auth/tokens",
        json={
            "auth": {
                "identity": {"methods": ["token"], "token": {"id": unscoped}},
                "scope": {"project": {"id": project["id"]}},
            }
        },
    )
    assert_fault(r, 401)


async def test_deleting_project_invalidates_its_tokens(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], project=project["id"])
    token, _ = await token_for(admin, user["id"], project=project["id"])
    assert (await admin.delete(f"{V3}/projects/{project['id']}")).status_code == 204
    assert_fault(await validate(admin, token), 404)
    r = await admin.get(f"{V3}/role_assignments", params={"scope.project.id": project["id"]})
    assert r.status_code == 200 and r.json()["role_assignments"] == []


async def test_project_tags(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    pid = project["id"]
    r = await admin.put(f"{V3}/projects/{pid}/tags", json={"tags": ["red", "blue"]})
    assert r.status_code == 200
    assert sorted(r.json()["tags"]) == ["blue", "red"]
    assert (await admin.put(f"{V3}/projects/{pid}/tags/green")).status_code == 201
    assert (await admin.head(f"{V3}/projects/{pid}/tags/green")).status_code == 204
    r = await admin.get(f"{V3}/projects", params={"tags": "red,green"})
    assert [p["id"] for p in r.json()["projects"]] == [pid]
    assert (await admin.delete(f"{V3}/projects/{pid}/tags/red")).status_code == 204
    assert_fault(await admin.get(f"{V3}/projects/{pid}/tags/red"), 404)
    r = await admin.get(f"{V3}/projects/{pid}/tags")
    assert sorted(r.json()["tags"]) == ["blue", "green"]
