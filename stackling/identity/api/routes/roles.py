"""/v3/roles, role inference, grants (including OS-INHERIT) and /v3/role_assignments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Response

from stackling.identity.api import views
from stackling.identity.api.deps import Base, Context, IdentityDep, Query, enforce
from stackling.identity.api.schemas import RoleCreateBody, RoleUpdateBody
from stackling.identity.service import assignments, roles
from stackling.identity.service.assignments import SYSTEM, Target

router = APIRouter(tags=["roles"])


@router.get("/roles")
async def list_roles(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """List global roles, or one domain's roles."""
    enforce(ctx, "identity:list_roles", {"domain_id": query.get("domain_id")})
    rows = await roles.list_roles(idn, query)
    return views.collection(base, "roles", "roles", [views.role(base, r) for r in rows])


@router.post("/roles", status_code=201)
async def create_role(body: RoleCreateBody, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Create a role."""
    enforce(ctx, "identity:create_role")
    return {"role": views.role(base, await roles.create_role(idn, body.role.fields()))}


@router.get("/roles/{role_id}")
async def get_role(role_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a role."""
    row = await roles.get_role(idn, role_id)
    enforce(ctx, "identity:get_role", {"domain_id": row.domain_id})
    return {"role": views.role(base, row)}


@router.patch("/roles/{role_id}")
async def update_role(
    role_id: str, body: RoleUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a role."""
    enforce(ctx, "identity:update_role")
    return {"role": views.role(base, await roles.update_role(idn, role_id, body.role.fields()))}


@router.delete("/roles/{role_id}", status_code=204)
async def delete_role(role_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a role."""
    enforce(ctx, "identity:delete_role")
    await roles.delete_role(idn, role_id)
    return Response(status_code=204)


# -- inference -------------------------------------------------------------------


@router.get("/roles/{prior_id}/implies")
async def list_implied(prior_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Roles a role implies directly."""
    enforce(ctx, "identity:list_implied_roles")
    prior, implied = await roles.implied_by(idn, prior_id)
    return {
        "role_inference": views.inference(base, prior, implied),
        "links": {"self": f"{base}/roles/{prior_id}/implies"},
    }


@router.put("/roles/{prior_id}/implies/{implied_id}", status_code=201)
async def create_implied(
    prior_id: str, implied_id: str, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """prior now implies implied."""
    enforce(ctx, "identity:create_implied_role")
    prior, implied = await roles.create_inference(idn, prior_id, implied_id)
    return {
        "role_inference": views.inference(base, prior, implied),
        "links": {"self": f"{base}/roles/{prior_id}/implies/{implied_id}"},
    }


@router.get("/roles/{prior_id}/implies/{implied_id}")
async def get_implied(
    prior_id: str, implied_id: str, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Show one inference rule."""
    enforce(ctx, "identity:get_implied_role")
    prior, implied = await roles.get_inference(idn, prior_id, implied_id)
    return {
        "role_inference": views.inference(base, prior, implied),
        "links": {"self": f"{base}/roles/{prior_id}/implies/{implied_id}"},
    }


@router.head("/roles/{prior_id}/implies/{implied_id}", status_code=204)
async def check_implied(prior_id: str, implied_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """204 when the rule exists."""
    enforce(ctx, "identity:get_implied_role")
    await roles.get_inference(idn, prior_id, implied_id)
    return Response(status_code=204)


@router.delete("/roles/{prior_id}/implies/{implied_id}", status_code=204)
async def delete_implied(
    prior_id: str, implied_id: str, idn: IdentityDep, ctx: Context
) -> Response:
    """Remove an inference rule."""
    enforce(ctx, "identity:delete_implied_role")
    await roles.delete_inference(idn, prior_id, implied_id)
    return Response(status_code=204)


@router.get("/role_inferences")
async def list_inferences(idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Every inference rule."""
    enforce(ctx, "identity:list_role_inference_rules")
    rules = await roles.all_inferences(idn)
    return {
        "role_inferences": [views.inference(base, p, implied) for p, implied in rules],
        "links": {"self": f"{base}/role_inferences"},
    }


# -- grants ------------------------------------------------------------------------
# The same four operations exist for every (scope, actor, inherited) combination;
# they are registered from one table instead of written out twelve times.

Handler = Callable[..., Awaitable[Any]]


def _target(scope: str, scope_id: str | None) -> Target:
    return Target(scope, scope_id if scope != "system" else SYSTEM)


def _grant_routes(scope: str, actor: str, inherited: bool) -> None:
    scope_part = "/system" if scope == "system" else f"/{scope}s/{{scope_id}}"
    base_path = f"{scope_part}/{actor}s/{{actor_id}}/roles"
    suffix = ""
    if inherited:
        base_path = "/OS-INHERIT" + base_path
        suffix = "/inherited_to_projects"
    one = f"{base_path}/{{role_id}}{suffix}"
    many = f"{base_path}{suffix}"
    target_of = "project_id" if scope == "project" else "domain_id"

    async def list_(
        idn: IdentityDep, ctx: Context, base: Base, actor_id: str, scope_id: str | None = None
    ) -> dict:
        enforce(ctx, "identity:list_grants", {target_of: scope_id})
        rows = await assignments.list_grants(
            idn, actor, actor_id, _target(scope, scope_id), inherited=inherited
        )
        path = many.replace("{scope_id}", scope_id or "").replace("{actor_id}", actor_id)
        return {
            "roles": [views.role(base, r) for r in rows],
            "links": {"self": f"{base}{path}", "previous": None, "next": None},
        }

    async def put(
        idn: IdentityDep, ctx: Context, actor_id: str, role_id: str, scope_id: str | None = None
    ) -> Response:
        enforce(ctx, "identity:create_grant", {target_of: scope_id})
        await assignments.grant(
            idn, actor, actor_id, _target(scope, scope_id), role_id, inherited=inherited
        )
        return Response(status_code=204)

    async def check(
        idn: IdentityDep, ctx: Context, actor_id: str, role_id: str, scope_id: str | None = None
    ) -> Response:
        enforce(ctx, "identity:check_grant", {target_of: scope_id})
        await assignments.check(
            idn, actor, actor_id, _target(scope, scope_id), role_id, inherited=inherited
        )
        return Response(status_code=204)

    async def delete(
        idn: IdentityDep, ctx: Context, actor_id: str, role_id: str, scope_id: str | None = None
    ) -> Response:
        enforce(ctx, "identity:revoke_grant", {target_of: scope_id})
        await assignments.revoke(
            idn, actor, actor_id, _target(scope, scope_id), role_id, inherited=inherited
        )
        return Response(status_code=204)

    name = f"{'inherited_' if inherited else ''}{scope}_{actor}"
    router.add_api_route(many, list_, methods=["GET"], name=f"list_{name}_grants")
    router.add_api_route(one, put, methods=["PUT"], status_code=204, name=f"grant_{name}")
    for method in ("GET", "HEAD"):
        router.add_api_route(
            one, check, methods=[method], status_code=204, name=f"check_{name}_{method.lower()}"
        )
    router.add_api_route(one, delete, methods=["DELETE"], status_code=204, name=f"revoke_{name}")


for _scope in ("project", "domain", "system"):
    for _actor in ("user", "group"):
        _grant_routes(_scope, _actor, inherited=False)
for _scope in ("project", "domain"):
    for _actor in ("user", "group"):
        _grant_routes(_scope, _actor, inherited=True)


# -- /v3/role_assignments ----------------------------------------------------------


@router.get("/role_assignments")
async def list_role_assignments(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """Role assignments, direct or effective, with optional names."""
    enforce(
        ctx,
        "identity:list_role_assignments",
        {
            "project_id": query.get("scope.project.id"),
            "domain_id": query.get("scope.domain.id"),
            "user_id": query.get("user.id"),
        },
    )
    entries = await assignments.list_assignments(idn, query)
    return {
        "role_assignments": [views.assignment(base, e) for e in entries],
        "links": {"self": f"{base}/role_assignments", "previous": None, "next": None},
    }
