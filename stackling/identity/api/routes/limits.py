"""/v3/registered_limits, /v3/limits and /v3/limits/model (unified limits)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.identity.api import views
from stackling.identity.api.deps import Base, Context, IdentityDep, Query, enforce
from stackling.identity.api.schemas import (
    LimitsCreateBody,
    LimitUpdateBody,
    RegisteredLimitsCreateBody,
    RegisteredLimitUpdateBody,
)
from stackling.identity.service import limits

router = APIRouter(tags=["limits"])

ADMIN = "identity:admin"


def _sees_everything(ctx: RequestContext) -> bool:
    # Services read every project's limits to enforce them, as Keystone lets them.
    return ctx.is_admin or ctx.system_scope or "service" in ctx.roles


# Registered limits are readable by any authenticated caller (Keystone's default),
# so their reads check only the token the Context dependency already validated.


@router.get("/registered_limits")
async def list_registered_limits(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """Registered (default) limits."""
    rows = await limits.list_registered_limits(idn, query)
    return views.collection(
        base,
        "registered_limits",
        "registered_limits",
        [views.registered_limit(base, r) for r in rows],
    )


@router.post("/registered_limits", status_code=201)
async def create_registered_limits(
    body: RegisteredLimitsCreateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Register default limits."""
    enforce(ctx, ADMIN)
    items = [x.model_dump(exclude_unset=True) for x in body.registered_limits]
    rows = await limits.create_registered_limits(idn, items)
    return {"registered_limits": [views.registered_limit(base, r) for r in rows]}


@router.get("/registered_limits/{limit_id}")
async def get_registered_limit(limit_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a registered limit."""
    row = await limits.get_registered_limit(idn, limit_id)
    return {"registered_limit": views.registered_limit(base, row)}


@router.patch("/registered_limits/{limit_id}")
async def update_registered_limit(
    limit_id: str, body: RegisteredLimitUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a registered limit."""
    enforce(ctx, ADMIN)
    fields = body.registered_limit.model_dump(exclude_unset=True)
    row = await limits.update_registered_limit(idn, limit_id, fields)
    return {"registered_limit": views.registered_limit(base, row)}


@router.delete("/registered_limits/{limit_id}", status_code=204)
async def delete_registered_limit(limit_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a registered limit."""
    enforce(ctx, ADMIN)
    await limits.delete_registered_limit(idn, limit_id)
    return Response(status_code=204)


# -- limits --------------------------------------------------------------------------------


@router.get("/limits/model")
async def limit_model(ctx: Context) -> dict:
    """The enforcement model: flat."""
    return {"model": dict(limits.MODEL)}


@router.get("/limits")
async def list_limits(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """Limits: all for an admin or service, else those of the token's project or domain."""
    if _sees_everything(ctx):
        rows = await limits.list_limits(idn, query)
    elif ctx.domain_id:
        rows = await limits.list_limits(idn, query, domain_id=ctx.domain_id)
    elif ctx.project_id:
        rows = await limits.list_limits(idn, query, project_id=ctx.project_id)
    else:
        rows = []
    return views.collection(base, "limits", "limits", [views.limit(base, r) for r in rows])


@router.post("/limits", status_code=201)
async def create_limits(body: LimitsCreateBody, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Set project or domain limits."""
    enforce(ctx, ADMIN)
    rows = await limits.create_limits(idn, [x.model_dump(exclude_unset=True) for x in body.limits])
    return {"limits": [views.limit(base, r) for r in rows]}


@router.get("/limits/{limit_id}")
async def get_limit(limit_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a limit (to an admin, or to a reader of its project or domain)."""
    row, domain_id = await limits.get_limit(idn, limit_id)
    mine = (row.project_id is not None and row.project_id == ctx.project_id) or (
        ctx.domain_id is not None and ctx.domain_id == domain_id
    )
    if not (_sees_everything(ctx) or (mine and ctx.is_reader)):
        raise errors.Forbidden(
            "You are not authorized to perform the requested action: identity:get_limit."
        )
    return {"limit": views.limit(base, row)}


@router.patch("/limits/{limit_id}")
async def update_limit(
    limit_id: str, body: LimitUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a limit's value or description."""
    enforce(ctx, ADMIN)
    row = await limits.update_limit(idn, limit_id, body.limit.model_dump(exclude_unset=True))
    return {"limit": views.limit(base, row)}


@router.delete("/limits/{limit_id}", status_code=204)
async def delete_limit(limit_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a limit."""
    enforce(ctx, ADMIN)
    await limits.delete_limit(idn, limit_id)
    return Response(status_code=204)
