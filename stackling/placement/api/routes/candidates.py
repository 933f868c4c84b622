"""GET /allocation_candidates (1.10) and GET /usages (1.9)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from stackling.common.context import RequestContext
from stackling.placement.api import query, views
from stackling.placement.api.deps import (
    PREFIX,
    Context,
    PlacementDep,
    VersionDep,
    authorize,
    since,
)
from stackling.placement.api.route import PlacementRoute
from stackling.placement.policy import POLICY
from stackling.placement.service import candidates, usages

router = APIRouter(tags=["placement-candidates"], route_class=PlacementRoute)


@router.get(f"{PREFIX}/allocation_candidates", dependencies=[since(10)])
async def allocation_candidates(
    request: Request,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:allocation_candidates:list"),
) -> dict[str, Any]:
    """Single providers that can hold the whole request, with their summaries."""
    wanted, limit = query.candidates(request, version)
    found = await candidates.find(svc.db, wanted, limit)
    return views.candidates(found, wanted.resources, version)


@router.get(f"{PREFIX}/usages", dependencies=[since(9)])
async def project_usages(
    request: Request, ctx: Context, svc: PlacementDep, version: VersionDep
) -> dict[str, Any]:
    """A project's (and user's) usage; grouped by consumer type from 1.38."""
    allowed = {"project_id", "user_id"} | ({"consumer_type"} if version.at_least(38) else set())
    params = query.pairs(request, allowed)
    project_id = query.single(params, "project_id")
    if not project_id:
        raise query.bad("'project_id' is a required property")
    POLICY.enforce(ctx, "placement:usages", {"project_id": project_id})
    user_id = query.single(params, "user_id")
    if version.at_least(38):
        consumer_type = query.single(params, "consumer_type")
        grouped = await usages.of_project_by_type(svc.db, project_id, user_id, consumer_type)
        return {"usages": grouped}
    return {"usages": await usages.of_project(svc.db, project_id, user_id)}
