"""/v2.0/quotas: per-project limits (quotas, quota_details)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from stackling.common import errors
from stackling.network import faults
from stackling.network.api import attributes as a
from stackling.network.api.deps import V20, Body, Context, NetworkDep
from stackling.network.service import quota_api

router = APIRouter(tags=["network-quotas"])

_LIMIT = a.in_range(-1, 0x7FFFFFFF)


def _limits(data: Any) -> tuple[dict[str, int], bool]:
    """The limits a PUT sets, checked as Neutron checks them, and whether it forces them."""
    if not isinstance(data, dict) or not isinstance(data.get("quota"), dict):
        raise errors.BadRequest("Unable to find 'quota' in request body")
    body = dict(data["quota"])
    force = a.to_boolean(body.pop("force", False))
    body.pop("check_limit", None)
    unknown = sorted(set(body) - set(quota_api.RESOURCES))
    if unknown:
        raise errors.BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    out = {}
    for name, value in body.items():
        number = a.to_int(value)
        reason = _LIMIT(number)
        if reason:
            raise errors.BadRequest(f"Invalid input for {name}. Reason: {reason}.")
        out[name] = number
    return out, force


@router.get(V20 + "/quotas")
async def list_quotas(svc: NetworkDep, ctx: Context) -> JSONResponse:
    """Every project with limits of its own (admin only)."""
    return JSONResponse({"quotas": await quota_api.list_quotas(svc, ctx)})


@router.get(V20 + "/quotas/project")
async def own_project(ctx: Context) -> JSONResponse:
    """The caller's project id."""
    if not ctx.project_id:
        raise faults.BadRequest("quota", "Project-id was missing from quota request")
    return JSONResponse({"project": {"project_id": ctx.project_id}})


@router.get(V20 + "/quotas/tenant")
async def own_tenant(ctx: Context) -> JSONResponse:
    """The caller's project id, by its older name."""
    if not ctx.project_id:
        raise faults.BadRequest("quota", "Tenant-id was missing from quota request")
    return JSONResponse({"tenant": {"tenant_id": ctx.project_id}})


@router.get(V20 + "/quotas/{project_id}")
async def show_quota(project_id: str, svc: NetworkDep, ctx: Context) -> JSONResponse:
    """A project's limits."""
    return JSONResponse({"quota": await quota_api.show(svc, ctx, project_id)})


@router.get(V20 + "/quotas/{project_id}/default")
async def default_quota(project_id: str, svc: NetworkDep, ctx: Context) -> JSONResponse:
    """The default limits, as they would apply to the project."""
    return JSONResponse({"quota": await quota_api.defaults(svc, ctx, project_id)})


@router.get(V20 + "/quotas/{project_id}/details")
async def quota_details(project_id: str, svc: NetworkDep, ctx: Context) -> JSONResponse:
    """A project's limits with what it uses."""
    return JSONResponse({"quota": await quota_api.details(svc, ctx, project_id)})


@router.put(V20 + "/quotas/{project_id}")
async def update_quota(project_id: str, data: Body, svc: NetworkDep, ctx: Context) -> JSONResponse:
    """Set some of a project's limits (admin only)."""
    limits, force = _limits(data)
    return JSONResponse({"quota": await quota_api.update(svc, ctx, project_id, limits, force)})


@router.delete(V20 + "/quotas/{project_id}")
async def delete_quota(project_id: str, svc: NetworkDep, ctx: Context) -> Response:
    """Forget a project's own limits (admin only)."""
    await quota_api.reset(svc, ctx, project_id)
    return Response(status_code=204)
