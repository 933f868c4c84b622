"""/v3/OS-TRUST/trusts and the roles a trust delegates."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.identity.api import views
from stackling.identity.api.deps import Base, Context, IdentityDep, Query, enforce
from stackling.identity.api.schemas import TrustCreateBody
from stackling.identity.service import trusts
from stackling.identity.service.trusts import TrustInfo

router = APIRouter(prefix="/OS-TRUST", tags=["trusts"])


def _target(info: TrustInfo) -> dict[str, str]:
    return {
        "trustor_user_id": info.row.trustor_user_id,
        "trustee_user_id": info.row.trustee_user_id,
    }


@router.post("/trusts", status_code=201)
async def create_trust(body: TrustCreateBody, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Create a trust; the caller must be its trustor."""
    fields = body.trust.fields()
    enforce(ctx, "identity:create_trust", {"trustor_user_id": fields["trustor_user_id"]})
    if ctx.token is None:
        raise errors.Forbidden("Trusts need a token of the trustor.")
    info = await trusts.create_trust(idn, fields, ctx.token)
    return {"trust": views.trust(base, info.row, info.roles)}


# python-keystoneclient and tempest list with a trailing slash.
@router.get("/trusts")
@router.get("/trusts/", include_in_schema=False)
async def list_trusts(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """Trusts of a trustor or trustee; every trust for an admin without a filter."""
    enforce(
        ctx,
        "identity:list_trusts",
        {
            "trustor_user_id": query.get("trustor_user_id"),
            "trustee_user_id": query.get("trustee_user_id"),
        },
    )
    rows = await trusts.list_trusts(idn, query)
    return views.collection(base, "OS-TRUST/trusts", "trusts", [views.trust(base, r) for r in rows])


@router.get("/trusts/{trust_id}")
async def get_trust(trust_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a trust (404 once deleted, expired or used up)."""
    info = await trusts.get_trust(idn, trust_id)
    enforce(ctx, "identity:get_trust", _target(info))
    return {"trust": views.trust(base, info.row, info.roles)}


@router.delete("/trusts/{trust_id}", status_code=204)
async def delete_trust(trust_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a trust and revoke its tokens."""
    row = await trusts.get_undeleted_trust(idn, trust_id)
    enforce(ctx, "identity:delete_trust", _target(TrustInfo(row)))
    await trusts.delete_trust(idn, trust_id, ctx.token)
    return Response(status_code=204)


@router.get("/trusts/{trust_id}/roles")
async def list_trust_roles(trust_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """The roles a trust delegates."""
    info = await trusts.get_trust(idn, trust_id)
    enforce(ctx, "identity:list_roles_for_trust", _target(info))
    return views.collection(
        base,
        f"OS-TRUST/trusts/{trust_id}/roles",
        "roles",
        [views.role(base, r) for r in info.roles],
    )


@router.get("/trusts/{trust_id}/roles/{role_id}")
async def get_trust_role(
    trust_id: str, role_id: str, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """One delegated role."""
    row, role = await trusts.trust_role(idn, trust_id, role_id)
    enforce(ctx, "identity:get_role_for_trust", _target(TrustInfo(row)))
    return {"role": views.role(base, role)}


@router.head("/trusts/{trust_id}/roles/{role_id}", status_code=200)
async def check_trust_role(trust_id: str, role_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """200 when the trust delegates the role."""
    row, _ = await trusts.trust_role(idn, trust_id, role_id)
    enforce(ctx, "identity:get_role_for_trust", _target(TrustInfo(row)))
    return Response(status_code=200)
