"""/os-aggregates: host aggregates and the availability zones they make (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.compute.api import views_hosts as views
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Microversion
from stackling.compute.api.reply import reply
from stackling.compute.service import aggregate_actions, aggregates

router = APIRouter(tags=["compute-aggregates"])


@router.get(V21 + "/os-aggregates")
async def list_aggregates(svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """Every aggregate."""
    found = await aggregates.list_aggregates(svc, ctx)
    return reply(mv, {"aggregates": [views.aggregate(r, mv) for r in found]})


@router.post(V21 + "/os-aggregates")
async def create_aggregate(data: Body, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """Create an aggregate, optionally as an availability zone."""
    record = await aggregates.create(svc, ctx, data)
    return reply(mv, {"aggregate": views.aggregate(record, mv, created=True)})


@router.get(V21 + "/os-aggregates/{aggregate_id}")
async def show_aggregate(
    aggregate_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One aggregate with its hosts and metadata."""
    record = await aggregates.show(svc, ctx, aggregate_id)
    return reply(mv, {"aggregate": views.aggregate(record, mv)})


@router.put(V21 + "/os-aggregates/{aggregate_id}")
async def update_aggregate(
    aggregate_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Rename an aggregate or change its zone."""
    record = await aggregates.update(svc, ctx, aggregate_id, data)
    return reply(mv, {"aggregate": views.aggregate(record, mv)})


@router.delete(V21 + "/os-aggregates/{aggregate_id}")
async def delete_aggregate(
    aggregate_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Delete an empty aggregate (200, no body)."""
    await aggregates.delete_aggregate(svc, ctx, aggregate_id)
    return reply(mv, None, 200)


@router.post(V21 + "/os-aggregates/{aggregate_id}/action")
async def aggregate_action(
    aggregate_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """add_host, remove_host or set_metadata."""
    record = await aggregate_actions.aggregate_action(svc, ctx, aggregate_id, data)
    return reply(mv, {"aggregate": views.aggregate(record, mv)})
