"""The router's member actions: add/remove_router_interface, add/remove_extraroutes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from stackling.common import errors
from stackling.network.api import views
from stackling.network.api.deps import V20, Body, Context, NetworkDep
from stackling.network.api.specs.routers import check_routes
from stackling.network.service import router_interfaces, routers

router = APIRouter(tags=["network-routers"])

_ROUTER = V20 + "/routers/{ident}"


@router.put(_ROUTER + "/add_router_interface")
async def add_router_interface(
    ident: str, data: Body, svc: NetworkDep, ctx: Context
) -> JSONResponse:
    """Attach the router to a subnet or a port."""
    return JSONResponse(await router_interfaces.add_interface(svc, ctx, ident, data))


@router.put(_ROUTER + "/remove_router_interface")
async def remove_router_interface(
    ident: str, data: Body, svc: NetworkDep, ctx: Context
) -> JSONResponse:
    """Detach the router from a subnet or a port."""
    return JSONResponse(await router_interfaces.remove_interface(svc, ctx, ident, data))


def _routes(data: Any) -> list[dict[str, str]]:
    """The routes of an extraroute-atomic body, {"router": {"routes": [...]}}, checked."""
    item = data.get("router") if isinstance(data, dict) else None
    if not isinstance(item, dict) or set(item) != {"routes"}:
        raise errors.BadRequest("Body must be {'router': {'routes': [...]}}")
    reason = check_routes(item["routes"])
    if reason:
        raise errors.BadRequest(f"Invalid input for routes. Reason: {reason}.")
    return list(item["routes"])


@router.put(_ROUTER + "/add_extraroutes")
async def add_extraroutes(ident: str, data: Body, svc: NetworkDep, ctx: Context) -> JSONResponse:
    """Add extra routes to the router's set."""
    record = await routers.change_extraroutes(svc, ctx, ident, _routes(data), add=True)
    return JSONResponse({"router": views.router(record, ctx, svc.conf)})


@router.put(_ROUTER + "/remove_extraroutes")
async def remove_extraroutes(ident: str, data: Body, svc: NetworkDep, ctx: Context) -> JSONResponse:
    """Remove extra routes from the router's set."""
    record = await routers.change_extraroutes(svc, ctx, ident, _routes(data), add=False)
    return JSONResponse({"router": views.router(record, ctx, svc.conf)})
