"""/v3/users and /v3/groups, with membership and self-service password change."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.identity.api import views
from stackling.identity.api.deps import Base, Context, IdentityDep, Query, enforce
from stackling.identity.api.schemas import (
    GroupCreateBody,
    GroupUpdateBody,
    PasswordChangeBody,
    UserCreateBody,
    UserUpdateBody,
)
from stackling.identity.service import users

router = APIRouter(tags=["users"])


def _domain_scoped(ctx: Context, query: dict[str, str]) -> dict[str, str]:
    if not ctx.is_admin and ctx.domain_id and "domain_id" not in query:
        return {**query, "domain_id": ctx.domain_id}
    return query


@router.get("/users")
async def list_users(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """List users."""
    query = _domain_scoped(ctx, query)
    enforce(ctx, "identity:list_users", {"domain_id": query.get("domain_id")})
    rows = await users.list_users(idn, query)
    return views.collection(base, "users", "users", [views.user(base, r) for r in rows])


@router.post("/users", status_code=201)
async def create_user(body: UserCreateBody, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Create a user."""
    enforce(ctx, "identity:create_user", {"domain_id": body.user.domain_id})
    return {"user": views.user(base, await users.create_user(idn, body.user.fields()))}


@router.get("/users/{user_id}")
async def get_user(user_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a user."""
    enforce(ctx, "identity:get_user", {"user_id": user_id})
    return {"user": views.user(base, await users.get_user(idn, user_id))}


@router.patch("/users/{user_id}")
async def update_user(
    user_id: str, body: UserUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a user (an admin may set the password here)."""
    enforce(ctx, "identity:update_user", {"user_id": user_id})
    return {"user": views.user(base, await users.update_user(idn, user_id, body.user.fields()))}


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(user_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a user."""
    enforce(ctx, "identity:delete_user", {"user_id": user_id})
    await users.delete_user(idn, user_id)
    return Response(status_code=204)


@router.post("/users/{user_id}/password", status_code=204)
async def change_password(user_id: str, body: PasswordChangeBody, idn: IdentityDep) -> Response:
    """A user changes their own password; knowing the original one is the authorisation.

    As in Keystone this needs no token: a user whose password expired cannot get one.
    """
    await users.change_password(idn, user_id, body.user.original_password, body.user.password)
    return Response(status_code=204)


@router.get("/users/{user_id}/groups")
async def list_user_groups(user_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Groups a user is in."""
    enforce(ctx, "identity:list_groups_for_user", {"user_id": user_id})
    rows = await users.user_groups(idn, user_id)
    return views.collection(
        base, f"users/{user_id}/groups", "groups", [views.group(base, r) for r in rows]
    )


# -- groups -----------------------------------------------------------------------


@router.get("/groups")
async def list_groups(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """List groups."""
    query = _domain_scoped(ctx, query)
    enforce(ctx, "identity:list_groups", {"domain_id": query.get("domain_id")})
    rows = await users.list_groups(idn, query)
    return views.collection(base, "groups", "groups", [views.group(base, r) for r in rows])


@router.post("/groups", status_code=201)
async def create_group(body: GroupCreateBody, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Create a group."""
    enforce(ctx, "identity:create_group", {"domain_id": body.group.domain_id})
    return {"group": views.group(base, await users.create_group(idn, body.group.fields()))}


@router.get("/groups/{group_id}")
async def get_group(group_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a group."""
    row = await users.get_group(idn, group_id)
    enforce(ctx, "identity:get_group", {"domain_id": row.domain_id})
    return {"group": views.group(base, row)}


@router.patch("/groups/{group_id}")
async def update_group(
    group_id: str, body: GroupUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a group."""
    enforce(ctx, "identity:update_group")
    return {
        "group": views.group(base, await users.update_group(idn, group_id, body.group.fields()))
    }


@router.delete("/groups/{group_id}", status_code=204)
async def delete_group(group_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a group."""
    enforce(ctx, "identity:delete_group")
    await users.delete_group(idn, group_id)
    return Response(status_code=204)


@router.get("/groups/{group_id}/users")
async def list_group_users(
    group_id: str, idn: IdentityDep, ctx: Context, base: Base, query: Query
) -> dict:
    """Members of a group."""
    enforce(ctx, "identity:list_users_in_group")
    rows = await users.group_users(idn, group_id, query)
    return views.collection(
        base, f"groups/{group_id}/users", "users", [views.user(base, r) for r in rows]
    )


@router.put("/groups/{group_id}/users/{user_id}", status_code=204)
async def add_member(group_id: str, user_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Add a user to a group."""
    enforce(ctx, "identity:add_user_to_group")
    await users.add_member(idn, group_id, user_id)
    return Response(status_code=204)


@router.get("/groups/{group_id}/users/{user_id}", status_code=204)
@router.head("/groups/{group_id}/users/{user_id}", status_code=204)
async def check_member(group_id: str, user_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """204 when the user is in the group."""
    enforce(ctx, "identity:check_user_in_group")
    await users.check_member(idn, group_id, user_id)
    return Response(status_code=204)


@router.delete("/groups/{group_id}/users/{user_id}", status_code=204)
async def remove_member(group_id: str, user_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Remove a user from a group."""
    enforce(ctx, "identity:remove_user_from_group")
    await users.remove_member(idn, group_id, user_id)
    return Response(status_code=204)
