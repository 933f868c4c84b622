"""/os-quota-sets, /os-quota-class-sets and /limits."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stackling.compute.api import views_quotas as views
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Microversion
from stackling.compute.api.query_misc import Query
from stackling.compute.api.reply import reply
from stackling.compute.service import quota_sets

router = APIRouter(tags=["compute-quotas"])


def _user_id(request: Request, mv: Microversion) -> str | None:
    query = Query(request)
    query.only(mv, ("user_id",))
    return query.get("user_id")


@router.get(V21 + "/os-quota-sets/{project_id}")
async def show_quota_set(
    project_id: str, request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """A project's (or, with user_id, a user's) limits."""
    user_id = _user_id(request, mv)
    view = await quota_sets.show(svc, ctx, project_id, mv, user_id=user_id)
    return reply(mv, {"quota_set": {"id": project_id, **view.limits}})


@router.get(V21 + "/os-quota-sets/{project_id}/defaults")
async def show_quota_defaults(
    project_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """The default limits."""
    found = await quota_sets.defaults(svc, ctx, project_id, mv)
    return reply(mv, {"quota_set": {"id": project_id, **found}})


@router.get(V21 + "/os-quota-sets/{project_id}/detail")
async def show_quota_detail(
    project_id: str, request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Limits with what is in use."""
    user_id = _user_id(request, mv)
    view = await quota_sets.show(svc, ctx, project_id, mv, user_id=user_id, detail=True)
    return reply(mv, {"quota_set": {"id": project_id, **views.quota_detail(view)}})


@router.put(V21 + "/os-quota-sets/{project_id}")
async def update_quota_set(
    project_id: str, request: Request, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Set limits (admin)."""
    user_id = _user_id(request, mv)
    found = await quota_sets.update(svc, ctx, project_id, data, mv, user_id=user_id)
    return reply(mv, {"quota_set": found})


@router.delete(V21 + "/os-quota-sets/{project_id}")
async def revert_quota_set(
    project_id: str, request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Back to the defaults (admin, 202)."""
    await quota_sets.revert(svc, ctx, project_id, user_id=_user_id(request, mv))
    return reply(mv, None, 202)


@router.get(V21 + "/os-quota-class-sets/{name}")
async def show_quota_class(name: str, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """A quota class (admin)."""
    found = await quota_sets.show_class(svc, ctx, name, mv)
    return reply(mv, {"quota_class_set": {"id": name, **found}})


@router.put(V21 + "/os-quota-class-sets/{name}")
async def update_quota_class(
    name: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Set a quota class's limits (admin); `default` changes every project's defaults."""
    found = await quota_sets.update_class(svc, ctx, name, data, mv)
    return reply(mv, {"quota_class_set": found})


@router.get(V21 + "/limits")
async def show_limits(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """The caller's project's absolute limits and usage."""
    query = Query(request)
    query.only(mv, ("tenant_id", "reserved"))
    view = await quota_sets.limits(svc, ctx, query.get("tenant_id"))
    return reply(mv, views.limits(view, mv))
