"""/v3/auth: issue, validate, check and revoke tokens; what a token may scope to."""

from __future__ import annotations

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.identity.api import views
from stackling.identity.api.deps import Base, Context, IdentityDep, enforce
from stackling.identity.api.schemas import AuthBody
from stackling.identity.service import assignments, auth, resources
from stackling.identity.service.core import Identity
from stackling.identity.service.filters import is_true
from stackling.identity.tokens import TokenData

router = APIRouter(prefix="/auth", tags=["auth"])


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    return value is not None and (value == "" or is_true(value))


@router.post("/tokens", status_code=201)
async def issue(body: AuthBody, request: Request, idn: IdentityDep) -> JSONResponse:
    """Authenticate and issue a token (X-Subject-Token)."""
    token, tok = await auth.issue_token(idn, body.auth)
    catalog = (
        None
        if _flag(request, "nocatalog")
        else idn.catalog_for(tok.project.id if tok.project else None, tok.user.id)
    )
    return JSONResponse(
        views.token(tok, catalog), status_code=201, headers={"X-Subject-Token": token}
    )


def _subject(
    idn: Identity, ctx: RequestContext, subject: str | None, allow_expired: bool
) -> TokenData:
    if not subject:
        raise errors.NotFound("X-Subject-Token is missing.")
    tok = auth.validate(idn, subject, allow_expired=allow_expired)
    enforce(ctx, "identity:validate_token", {"user_id": tok.user.id})
    return tok


@router.get("/tokens")
async def validate(
    request: Request,
    idn: IdentityDep,
    ctx: Context,
    x_subject_token: str | None = Header(default=None),
) -> JSONResponse:
    """Validate a token and show what it asserts."""
    tok = _subject(idn, ctx, x_subject_token, _flag(request, "allow_expired"))
    catalog = (
        None
        if _flag(request, "nocatalog")
        else idn.catalog_for(tok.project.id if tok.project else None, tok.user.id)
    )
    return JSONResponse(
        views.token(tok, catalog), headers={"X-Subject-Token": x_subject_token or ""}
    )


@router.head("/tokens", status_code=200)
async def check(
    request: Request,
    idn: IdentityDep,
    ctx: Context,
    x_subject_token: str | None = Header(default=None),
) -> Response:
    """200 when the token is valid."""
    _subject(idn, ctx, x_subject_token, _flag(request, "allow_expired"))
    return Response(status_code=200, headers={"X-Subject-Token": x_subject_token or ""})


@router.delete("/tokens", status_code=204)
async def revoke(
    idn: IdentityDep, ctx: Context, x_subject_token: str | None = Header(default=None)
) -> Response:
    """Revoke a token."""
    if not x_subject_token:
        raise errors.NotFound("X-Subject-Token is missing.")
    tok = auth.validate(idn, x_subject_token)
    enforce(ctx, "identity:revoke_token", {"user_id": tok.user.id})
    await auth.revoke_token(idn, x_subject_token)
    return Response(status_code=204)


@router.get("/catalog")
async def catalog(request: Request, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """The catalog of the calling token."""
    if ctx.token is None or ctx.token.scope == "unscoped":
        raise errors.Forbidden("The catalog needs a scoped token.")
    return {
        "catalog": idn.catalog_for(ctx.project_id, ctx.user_id),
        "links": {"self": f"{base}/auth/catalog", "previous": None, "next": None},
    }


@router.get("/projects")
async def projects(idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Projects the caller can scope a token to."""
    async with idn.db.session() as s:
        ids = await assignments.user_project_ids(s, ctx.user_id or "")
    rows = await resources.list_projects(idn, {"enabled": "true"}, only_ids=ids)
    return views.collection(
        base, "auth/projects", "projects", [views.project(base, r, t) for r, t in rows]
    )


@router.get("/domains")
async def domains(idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Domains the caller can scope a token to."""
    async with idn.db.session() as s:
        ids = await assignments.user_domain_ids(s, ctx.user_id or "")
    rows = await resources.list_domains(idn, {"enabled": "true"}, only_ids=ids)
    return views.collection(
        base, "auth/domains", "domains", [views.domain(base, r, t) for r, t in rows]
    )


@router.get("/system")
async def system(idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """The system, when the caller holds a role on it."""
    async with idn.db.session() as s:
        has = await assignments.has_system_role(s, ctx.user_id or "")
    return {"system": [{"all": True}] if has else [], "links": {"self": f"{base}/auth/system"}}
