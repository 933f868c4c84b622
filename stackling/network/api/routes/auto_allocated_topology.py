"""/v2.0/auto-allocated-topology/{project_id}: a project's network to the outside, on request."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stackling.network.api.deps import V20, Context, NetworkDep
from stackling.network.service import auto_allocation

router = APIRouter(tags=["network-auto-allocated-topology"])

_MEMBER = V20 + "/auto-allocated-topology/{project_id}"


def _view(topology: auto_allocation.Topology) -> dict[str, Any]:
    return {
        "id": topology.id,
        "tenant_id": topology.project_id,
        "project_id": topology.project_id,
    }


@router.get(_MEMBER)
async def show_topology(
    project_id: str, request: Request, svc: NetworkDep, ctx: Context
) -> JSONResponse:
    """The project's auto-allocated network, built if need be (`fields=dry-run`: only checked)."""
    fields = [v for k, v in request.query_params.multi_items() if k == "fields" and v]
    topology = await auto_allocation.get_topology(svc, ctx, project_id, fields)
    return JSONResponse({"auto_allocated_topology": _view(topology)})


@router.delete(_MEMBER)
async def delete_topology(project_id: str, svc: NetworkDep, ctx: Context) -> Response:
    """Remove the project's auto-allocated topology."""
    await auto_allocation.delete_topology(svc, ctx, project_id)
    return Response(status_code=204)
