"""Users (passwords included), groups and group membership."""

from __future__ import annotations

import httpx

from tests.support.identity import (
    PASSWORD,
    V3,
    as_token,
    assert_fault,
    create_domain,
    create_group,
    create_project,
    create_user,
    grant,
    password_auth,
    token_for,
    unique,
    validate,
)

# -- users ------------------------------------------------------------------------


async def test_create_show_update_delete_user(admin: httpx.AsyncClient) -> None:
    name = unique("user")
    project = await create_project(admin)
    user = await create_user(
        admin, name, default_project_id=project["id"], description="d", email="u@example.org"
    )
    assert user["name"] == name
    assert user["domain_id"] == "default"
    assert user["enabled"] is True
    assert user["default_project_id"] == project["id"]
    assert user["email"] == "u@example.org"
    assert "password" not in user
    assert user["links"]["self"].endswith(f"/identity/v3/users/{user['id']}")

    r = await admin.get(f"{V3}/users/{user['id']}")
    assert r.status_code == 200
    assert r.json()["user"] == user

    r = await admin.patch(
        f"{V3}/users/{user['id']}", json={"user": {"name": "renamed", "email": "new@example.org"}}
    )
    assert r.status_code == 200, r.text
    shown = (await admin.get(f"{V3}/users/{user['id']}")).json()["user"]
    assert shown["name"] == "renamed"
    assert shown["email"] == "new@example.org"

    assert (await admin.delete(f"{V3}/users/{user['id']}")).status_code == 204
    assert_fault(await admin.get(f"{V3}/users/{user['id']}"), 404)
    assert_fault(await admin.delete(f"{V3}/users/{user['id']}"), 404)


async def test_list_users_filters(admin: httpx.AsyncClient) -> None:
    dom = await create_domain(admin)
    on = await create_user(admin, domain_id=dom["id"])
    off = await create_user(admin, domain_id=dom["id"], enabled=False)
    elsewhere = await create_user(admin)

    async def ids(**params: str) -> set[str]:
        r = await admin.get(f"{V3}/users", params=params)
        assert r.status_code == 200, r.text
        return {u["id"] for u in r.json()["users"]}

    assert await ids(domain_id=dom["id"]) == {on["id"], off["id"]}
    assert await ids(name=on["name"]) == {on["id"]}
    assert await ids(domain_id=dom["id"], enabled="false") == {off["id"]}
    assert elsewhere["id"] in await ids()
    assert elsewhere["id"] not in await ids(domain_id=dom["id"])


async def test_user_names_unique_per_domain(admin: httpx.AsyncClient) -> None:
    name = unique("user")
    dom = await create_domain(admin)
    await create_user(admin, name)
    await create_user(admin, name, domain_id=dom["id"])
    r = await admin.post(f"{V3}/users", json={"user": {"name": name, "domain_id": "default"}})
    assert_fault(r, 409)
    r = await admin.get(f"{V3}/users", params={"name": name})
    assert len(r.json()["users"]) == 2


async def test_user_in_unknown_domain_is_404(admin: httpx.AsyncClient) -> None:
    r = await admin.post(f"{V3}/users", json={"user": {"name": unique(), "domain_id": "a" * 32}})
    assert_fault(r, 404)


async def test_user_without_password_cannot_authenticate(admin: httpx.AsyncClient) -> None:
    user = await create_user(admin, password=None)
    r = await admin.post(f"{V3}/auth/tokens", json=password_auth(user_id=user["id"], password=""))
    assert_fault(r, 401)


async def test_disabled_user_cannot_authenticate(admin: httpx.AsyncClient) -> None:
    user = await create_user(admin)
    token, _ = await token_for(admin, user["id"])

    r = await admin.patch(f"{V3}/users/{user['id']}", json={"user": {"enabled": False}})
    assert r.status_code == 200
    assert r.json()["user"]["enabled"] is False

    r = await admin.post(f"{V3}/auth/tokens", json=password_auth(user_id=user["id"]))
    assert_fault(r, 401)
    r = await admin.post(
        f"{V3}/auth/tokens", json=password_auth(name=user["name"], domain="default")
    )
    assert_fault(r, 401)
    # Tokens issued before it was disabled stop working too.
    assert_fault(await validate(admin, token), 404)

    r = await admin.patch(f"{V3}/users/{user['id']}", json={"user": {"enabled": True}})
    assert r.status_code == 200
    await token_for(admin, user["id"])
    # Re-enabling does not resurrect the old token.
    assert_fault(await validate(admin, token), 404)


async def test_wrong_password_is_401(admin: httpx.AsyncClient) -> None:
    user = await create_user(admin)
    r = await admin.post(
        f"{V3}/auth/tokens", json=password_auth(user_id=user["id"], password="wrong")
    )
    assert_fault(r, 401)
    r = await admin.post(
        f"{V3}/auth/tokens", json=password_auth(name="nobody-here", domain="default")
    )
    assert_fault(r, 401)


async def test_password_change_revokes_old_tokens(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], project=project["id"])
    token, _ = await token_for(admin, user["id"], project=project["id"])
    other, _ = await token_for(admin, user["id"])

    r = await admin.post(
        f"{V3}/users/{user['id']}/password",
        json={"user": {"original_password": PASSWORD, "password": "n3w-secret"}},
        headers=as_token(token),
    )
    assert r.status_code == 204, r.text

    for old in (token, other):
        assert_fault(await validate(admin, old), 404)
        assert_fault(await admin.get(f"{V3}/users/{user['id']}", headers=as_token(old)), 401)
    r = await admin.post(f"{V3}/auth/tokens", json=password_auth(user_id=user["id"]))
    assert_fault(r, 401)
    new_token, body = await token_for(
        admin, user["id"], password="n3w-secret", project=project["id"]
    )
    assert body["project"]["id"] == project["id"]
    assert (await validate(admin, new_token)).status_code == 200


async def test_password_change_needs_the_original(admin: httpx.AsyncClient) -> None:
    user = await create_user(admin)
    token, _ = await token_for(admin, user["id"])
    r = await admin.post(
        f"{V3}/users/{user['id']}/password",
        json={"user": {"original_password": "not-it", "password": "n3w-secret"}},
        headers=as_token(token),
    )
    assert_fault(r, 401)
    # Nothing changed: the old password still works and the token is still valid.
    await token_for(admin, user["id"])
    assert (await validate(admin, token)).status_code == 200


async def test_password_change_needs_only_the_original(admin: httpx.AsyncClient) -> None:
    # As Keystone: knowing the original password is the authorisation (a user whose
    # password expired has no token), so no X-Auth-Token is needed.
    user = await create_user(admin)
    r = await admin.post(
        f"{V3}/users/{user['id']}/password",
        json={"user": {"original_password": PASSWORD, "password": "n3w-secret"}},
        headers={"X-Auth-Token": ""},
    )
    assert r.status_code == 204, r.text
    await token_for(admin, user["id"], password="n3w-secret")
    r = await admin.post(
        f"{V3}/users/{'0' * 32}/password",
        json={"user": {"original_password": PASSWORD, "password": "n3w-secret"}},
    )
    assert r.status_code in (401, 404), r.text
    assert_fault(r, r.status_code)


async def test_admin_password_reset_revokes_tokens(admin: httpx.AsyncClient) -> None:
    user = await create_user(admin)
    token, _ = await token_for(admin, user["id"])
    r = await admin.patch(f"{V3}/users/{user['id']}", json={"user": {"password": "reset-1"}})
    assert r.status_code == 200
    assert "password" not in r.json()["user"]
    assert_fault(await validate(admin, token), 404)
    await token_for(admin, user["id"], password="reset-1")


async def test_deleted_user_tokens_stop_working(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], project=project["id"])
    token, _ = await token_for(admin, user["id"], project=project["id"])
    assert (await admin.delete(f"{V3}/users/{user['id']}")).status_code == 204
    assert_fault(await validate(admin, token), 404)
    r = await admin.get(f"{V3}/role_assignments", params={"user.id": user["id"]})
    assert r.json()["role_assignments"] == []


async def test_user_domain_is_immutable(admin: httpx.AsyncClient) -> None:
    user = await create_user(admin)
    dom = await create_domain(admin)
    r = await admin.patch(f"{V3}/users/{user['id']}", json={"user": {"domain_id": dom["id"]}})
    assert_fault(r, 400)


async def test_user_projects(admin: httpx.AsyncClient) -> None:
    p1 = await create_project(admin)
    p2 = await create_project(admin)
    user = await create_user(admin)
    await grant(admin, "member", user=user["id"], project=p1["id"])
    r = await admin.get(f"{V3}/users/{user['id']}/projects")
    assert r.status_code == 200
    assert [p["id"] for p in r.json()["projects"]] == [p1["id"]]
    # A user lists their own projects with their own token.
    token, _ = await token_for(admin, user["id"])
    r = await admin.get(f"{V3}/users/{user['id']}/projects", headers=as_token(token))
    assert r.status_code == 200
    assert p2["id"] not in {p["id"] for p in r.json()["projects"]}


# -- groups -----------------------------------------------------------------------


async def test_create_show_update_delete_group(admin: httpx.AsyncClient) -> None:
    name = unique("group")
    group = await create_group(admin, name, description="ops")
    assert group["name"] == name
    assert group["domain_id"] == "default"
    assert group["description"] == "ops"

    r = await admin.get(f"{V3}/groups/{group['id']}")
    assert r.status_code == 200 and r.json()["group"] == group

    r = await admin.patch(f"{V3}/groups/{group['id']}", json={"group": {"description": "dev"}})
    assert r.status_code == 200
    assert (await admin.get(f"{V3}/groups/{group['id']}")).json()["group"]["description"] == "dev"

    r = await admin.get(f"{V3}/groups", params={"name": name})
    assert [g["id"] for g in r.json()["groups"]] == [group["id"]]

    assert (await admin.delete(f"{V3}/groups/{group['id']}")).status_code == 204
    assert_fault(await admin.get(f"{V3}/groups/{group['id']}"), 404)


async def test_duplicate_group_name_in_domain_is_409(admin: httpx.AsyncClient) -> None:
    name = unique("group")
    await create_group(admin, name)
    r = await admin.post(f"{V3}/groups", json={"group": {"name": name, "domain_id": "default"}})
    assert_fault(r, 409)
    dom = await create_domain(admin)
    await create_group(admin, name, domain_id=dom["id"])


async def test_group_membership(admin: httpx.AsyncClient) -> None:
    group = await create_group(admin)
    alice = await create_user(admin)
    bob = await create_user(admin)
    gid = group["id"]

    for user in (alice, bob):
        r = await admin.put(f"{V3}/groups/{gid}/users/{user['id']}")
        assert r.status_code == 204, r.text
    # Adding twice is fine.
    assert (await admin.put(f"{V3}/groups/{gid}/users/{alice['id']}")).status_code == 204

    assert (await admin.head(f"{V3}/groups/{gid}/users/{alice['id']}")).status_code == 204
    assert (await admin.get(f"{V3}/groups/{gid}/users/{alice['id']}")).status_code == 204
    r = await admin.get(f"{V3}/groups/{gid}/users")
    assert r.status_code == 200
    assert {u["id"] for u in r.json()["users"]} == {alice["id"], bob["id"]}
    r = await admin.get(f"{V3}/users/{alice['id']}/groups")
    assert [g["id"] for g in r.json()["groups"]] == [gid]

    assert (await admin.delete(f"{V3}/groups/{gid}/users/{alice['id']}")).status_code == 204
    assert_fault(await admin.get(f"{V3}/groups/{gid}/users/{alice['id']}"), 404)
    assert_fault(await admin.delete(f"{V3}/groups/{gid}/users/{alice['id']}"), 404)
    r = await admin.get(f"{V3}/groups/{gid}/users")
    assert {u["id"] for u in r.json()["users"]} == {bob["id"]}

    assert_fault(await admin.put(f"{V3}/groups/{gid}/users/{'0' * 32}"), 404)
    assert_fault(await admin.put(f"{V3}/groups/{'0' * 32}/users/{bob['id']}"), 404)


async def test_group_roles_reach_members(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    group = await create_group(admin)
    user = await create_user(admin)
    await grant(admin, "member", group=group["id"], project=project["id"])

    # Not a member yet: no access.
    r = await admin.post(
        f"{V3}/auth/tokens",
        json=password_auth(user_id=user["id"], scope={"project": {"id": project["id"]}}),
    )
    assert_fault(r, 401)

    assert (await admin.put(f"{V3}/groups/{group['id']}/users/{user['id']}")).status_code == 204
    token, body = await token_for(admin, user["id"], project=project["id"])
    assert {r["name"] for r in body["roles"]} == {"member", "reader"}

    # Leaving the group takes the access away, old tokens included.
    r = await admin.delete(f"{V3}/groups/{group['id']}/users/{user['id']}")
    assert r.status_code == 204
    assert_fault(await validate(admin, token), 404)


async def test_deleting_group_revokes_members_tokens(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    group = await create_group(admin)
    user = await create_user(admin)
    await grant(admin, "member", group=group["id"], project=project["id"])
    assert (await admin.put(f"{V3}/groups/{group['id']}/users/{user['id']}")).status_code == 204
    token, _ = await token_for(admin, user["id"], project=project["id"])
    assert (await admin.delete(f"{V3}/groups/{group['id']}")).status_code == 204
    assert_fault(await validate(admin, token), 404)
    # The user is still there, just without the group.
    r = await admin.get(f"{V3}/users/{user['id']}/groups")
    assert r.status_code == 200 and r.json()["groups"] == []


async def test_default_project_cannot_be_a_domain(admin: httpx.AsyncClient) -> None:
    # Keystone: "User's default project ID cannot be a domain ID" (400).
    dom = await create_domain(admin)
    r = await admin.post(
        f"{V3}/users", json={"user": {"name": unique(), "default_project_id": dom["id"]}}
    )
    assert_fault(r, 400)
    user = await create_user(admin)
    r = await admin.patch(
        f"{V3}/users/{user['id']}", json={"user": {"default_project_id": dom["id"]}}
    )
    assert_fault(r, 400)


async def test_default_project_without_a_role_gives_unscoped_token(
    admin: httpx.AsyncClient,
) -> None:
    project = await create_project(admin)
    user = await create_user(admin, default_project_id=project["id"])
    _, body = await token_for(admin, user["id"])
    assert "project" not in body and "roles" not in body
