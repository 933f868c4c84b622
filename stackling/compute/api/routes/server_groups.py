"""/os-server-groups: placement policies for sets of servers."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stackling.compute.api import views_misc as views
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Microversion
from stackling.compute.api.query_misc import Query
from stackling.compute.api.reply import reply
from stackling.compute.service import server_groups

router = APIRouter(tags=["compute-server-groups"])


@router.get(V21 + "/os-server-groups")
async def list_server_groups(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """The project's groups (all projects' for an admin passing all_projects)."""
    query = Query(request)
    query.only(mv, ("all_projects", "limit", "offset"))
    found = await server_groups.list_groups(
        svc,
        ctx,
        # Only presence counts, as in Nova; a non-admin asking is simply ignored.
        all_projects=query.has("all_projects") and ctx.is_admin,
        limit=query.integer("limit"),
        offset=query.integer("offset"),
    )
    return reply(mv, {"server_groups": [views.server_group(r, mv) for r in found]})


@router.post(V21 + "/os-server-groups")
async def create_server_group(
    data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Create a group."""
    record = await server_groups.create(svc, ctx, data, mv)
    return reply(mv, {"server_group": views.server_group(record, mv)})


@router.get(V21 + "/os-server-groups/{group_id}")
async def show_server_group(
    group_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One group with its members."""
    record = await server_groups.show(svc, ctx, group_id)
    return reply(mv, {"server_group": views.server_group(record, mv)})


@router.delete(V21 + "/os-server-groups/{group_id}")
async def delete_server_group(
    group_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Delete a group (204)."""
    await server_groups.delete(svc, ctx, group_id)
    return reply(mv, None, 204)
