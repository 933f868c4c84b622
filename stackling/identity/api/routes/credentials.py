"""/v3/credentials and /v3/users/{user_id}/credentials/OS-EC2."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.identity.api import views
from stackling.identity.api.deps import Base, Context, IdentityDep, Query, enforce
from stackling.identity.api.schemas import (
    CredentialCreateBody,
    CredentialUpdateBody,
    Ec2CreateBody,
)
from stackling.identity.service import app_creds, credentials
from stackling.identity.service.core import Identity

router = APIRouter(tags=["credentials"])


def _visible(ctx: RequestContext, project_id: str | None) -> bool:
    try:
        credentials.check_delegated_scope(ctx.token, project_id)
    except errors.Forbidden:
        return False
    return True


async def _authorized(
    idn: Identity, ctx: RequestContext, action: str, cred_id: str
) -> credentials.Cred:
    """The credential, once policy allows `action` on it.

    A missing credential is checked against an empty target first, so that
    only callers who could see it learn that it does not exist.
    """
    try:
        cred = await credentials.get_credential(idn, cred_id)
    except errors.NotFound:
        enforce(ctx, action, {})
        raise
    enforce(ctx, action, {"user_id": cred.row.user_id, "project_id": cred.row.project_id})
    credentials.check_delegated_scope(ctx.token, cred.row.project_id)
    return cred


@router.get("/credentials")
async def list_credentials(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """Credentials: all of them for an admin, otherwise the caller's own."""
    enforce(ctx, "identity:list_credentials")
    only_user = None if ctx.is_admin else ctx.user_id
    rows = await credentials.list_credentials(idn, query, only_user=only_user)
    return views.collection(
        base,
        "credentials",
        "credentials",
        [views.credential(base, c) for c in rows if _visible(ctx, c.row.project_id)],
    )


@router.post("/credentials", status_code=201)
async def create_credential(
    body: CredentialCreateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Store a credential."""
    fields = body.credential.fields()
    enforce(ctx, "identity:create_credential", {"user_id": fields["user_id"]})
    if fields["type"] == credentials.EC2:
        app_creds.ensure_manageable(ctx.token, changes=True, what="ec2 credentials")
    credentials.check_delegated_scope(ctx.token, fields.get("project_id"))
    cred = await credentials.create_credential(
        idn, fields, token=ctx.token, require_role=not ctx.is_admin
    )
    return {"credential": views.credential(base, cred)}


@router.get("/credentials/{cred_id}")
async def get_credential(cred_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a credential."""
    cred = await _authorized(idn, ctx, "identity:get_credential", cred_id)
    return {"credential": views.credential(base, cred)}


@router.patch("/credentials/{cred_id}")
async def update_credential(
    cred_id: str, body: CredentialUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a credential; the result must still be one the caller may manage."""
    current = await _authorized(idn, ctx, "identity:update_credential", cred_id)
    fields = body.credential.fields()
    if fields.get("id", cred_id) != cred_id:
        raise errors.BadRequest("Cannot change the id of a credential.")
    target = {
        "user_id": fields.get("user_id", current.row.user_id),
        "project_id": fields.get("project_id", current.row.project_id),
    }
    enforce(ctx, "identity:update_credential", target)
    credentials.check_delegated_scope(ctx.token, target["project_id"])
    cred = await credentials.update_credential(idn, cred_id, fields)
    return {"credential": views.credential(base, cred)}


@router.delete("/credentials/{cred_id}", status_code=204)
async def delete_credential(cred_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a credential."""
    await _authorized(idn, ctx, "identity:delete_credential", cred_id)
    await credentials.delete_credential(idn, cred_id)
    return Response(status_code=204)


# -- OS-EC2 -----------------------------------------------------------------------------


@router.post("/users/{user_id}/credentials/OS-EC2", status_code=201)
async def create_ec2(
    user_id: str, body: Ec2CreateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Mint an EC2 key pair for a user on a project."""
    enforce(ctx, "identity:ec2_create_credential", {"user_id": user_id})
    app_creds.ensure_manageable(ctx.token, changes=True, what="ec2 credentials")
    credentials.check_delegated_scope(ctx.token, body.tenant_id)
    cred = await credentials.ec2_create(
        idn, user_id, body.tenant_id, token=ctx.token, require_role=not ctx.is_admin
    )
    return {"credential": views.ec2_credential(base, cred)}


@router.get("/users/{user_id}/credentials/OS-EC2")
async def list_ec2(user_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """A user's EC2 key pairs."""
    enforce(ctx, "identity:ec2_list_credentials", {"user_id": user_id})
    rows = await credentials.ec2_list(idn, user_id)
    return views.collection(
        base,
        f"users/{user_id}/credentials/OS-EC2",
        "credentials",
        [views.ec2_credential(base, c) for c in rows if _visible(ctx, c.row.project_id)],
    )


@router.get("/users/{user_id}/credentials/OS-EC2/{access}")
async def get_ec2(user_id: str, access: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """One EC2 key pair, by access key."""
    enforce(ctx, "identity:ec2_get_credential", {"user_id": user_id})
    cred = await credentials.ec2_get(idn, user_id, access)
    credentials.check_delegated_scope(ctx.token, cred.row.project_id)
    return {"credential": views.ec2_credential(base, cred)}


@router.delete("/users/{user_id}/credentials/OS-EC2/{access}", status_code=204)
async def delete_ec2(user_id: str, access: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete an EC2 key pair."""
    enforce(ctx, "identity:ec2_delete_credential", {"user_id": user_id})
    cred = await credentials.ec2_get(idn, user_id, access)
    credentials.check_delegated_scope(ctx.token, cred.row.project_id)
    await credentials.ec2_delete(idn, user_id, access)
    return Response(status_code=204)
