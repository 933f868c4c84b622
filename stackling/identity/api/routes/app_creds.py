"""/v3/users/{user_id}/application_credentials and /v3/users/{user_id}/access_rules."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.identity.api import views
from stackling.identity.api.deps import Base, Context, IdentityDep, Query, enforce
from stackling.identity.api.schemas import AppCredCreateBody
from stackling.identity.service import app_creds

router = APIRouter(tags=["application credentials"])

_APP_CREDS = "application credentials"


@router.post("/users/{user_id}/application_credentials", status_code=201)
async def create_app_cred(
    user_id: str, body: AppCredCreateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Create an application credential (its secret is shown only here)."""
    enforce(ctx, "identity:create_application_credential", {"user_id": user_id})
    if ctx.token is None:
        raise errors.Forbidden("Application credentials need a token of the user.")
    fields = body.application_credential.model_dump(exclude_unset=True)
    cred = await app_creds.create_app_cred(idn, user_id, ctx.token, fields)
    return {"application_credential": views.app_cred(base, cred)}


@router.get("/users/{user_id}/application_credentials")
async def list_app_creds(
    user_id: str, idn: IdentityDep, ctx: Context, base: Base, query: Query
) -> dict:
    """A user's application credentials."""
    enforce(ctx, "identity:list_application_credentials", {"user_id": user_id})
    app_creds.ensure_manageable(ctx.token, changes=False, what=_APP_CREDS)
    rows = await app_creds.list_app_creds(idn, user_id, query)
    return views.collection(
        base,
        f"users/{user_id}/application_credentials",
        "application_credentials",
        [views.app_cred(base, c) for c in rows],
    )


@router.get("/users/{user_id}/application_credentials/{cred_id}")
async def get_app_cred(
    user_id: str, cred_id: str, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Show an application credential."""
    enforce(ctx, "identity:get_application_credential", {"user_id": user_id})
    app_creds.ensure_manageable(ctx.token, changes=False, what=_APP_CREDS)
    cred = await app_creds.get_app_cred(idn, user_id, cred_id)
    return {"application_credential": views.app_cred(base, cred)}


@router.delete("/users/{user_id}/application_credentials/{cred_id}", status_code=204)
async def delete_app_cred(user_id: str, cred_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete an application credential and revoke the tokens issued with it."""
    enforce(ctx, "identity:delete_application_credential", {"user_id": user_id})
    await app_creds.delete_app_cred(idn, user_id, cred_id, ctx.token)
    return Response(status_code=204)


# -- access rules ----------------------------------------------------------------------


@router.get("/users/{user_id}/access_rules")
async def list_access_rules(
    user_id: str, idn: IdentityDep, ctx: Context, base: Base, query: Query
) -> dict:
    """A user's access rules."""
    enforce(ctx, "identity:list_access_rules", {"user_id": user_id})
    app_creds.ensure_manageable(ctx.token, changes=False, what="access rules")
    rows = await app_creds.list_access_rules(idn, user_id, query)
    return views.collection(
        base,
        f"users/{user_id}/access_rules",
        "access_rules",
        [views.access_rule(base, r) for r in rows],
    )


@router.get("/users/{user_id}/access_rules/{rule_id}")
async def get_access_rule(
    user_id: str, rule_id: str, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Show an access rule."""
    enforce(ctx, "identity:get_access_rule", {"user_id": user_id})
    app_creds.ensure_manageable(ctx.token, changes=False, what="access rules")
    row = await app_creds.get_access_rule(idn, user_id, rule_id)
    return {"access_rule": views.access_rule(base, row)}


@router.delete("/users/{user_id}/access_rules/{rule_id}", status_code=204)
async def delete_access_rule(
    user_id: str, rule_id: str, idn: IdentityDep, ctx: Context
) -> Response:
    """Delete an access rule that no application credential uses."""
    enforce(ctx, "identity:delete_access_rule", {"user_id": user_id})
    app_creds.ensure_manageable(ctx.token, changes=False, what="access rules")
    await app_creds.delete_access_rule(idn, user_id, rule_id)
    return Response(status_code=204)
