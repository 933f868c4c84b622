"""/os-server-external-events: events other services send about servers (admin or service)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Microversion
from stackling.compute.api.reply import reply
from stackling.compute.service import external_events

router = APIRouter(tags=["compute-external-events"])


@router.post(V21 + "/os-server-external-events")
async def create_events(data: Body, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """Answer each event with a code; 200 when all were accepted, 207 when only some were."""
    outcome = await external_events.create(svc, ctx, data, mv)
    return reply(mv, {"events": outcome.events}, outcome.status)
