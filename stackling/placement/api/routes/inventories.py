"""A provider's inventories: /resource_providers/{uuid}/inventories[/{resource_class}]."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stackling.common.context import RequestContext
from stackling.placement.api import body, views
from stackling.placement.api.deps import PREFIX, PlacementDep, VersionDep, authorize, since
from stackling.placement.api.microversion import Version
from stackling.placement.api.route import PlacementRoute
from stackling.placement.service import inventories
from stackling.placement.service.records import INVENTORY_FIELDS, Inventory, make_inventory

router = APIRouter(tags=["placement-inventories"], route_class=PlacementRoute)
INVS = f"{PREFIX}/resource_providers/{{uuid}}/inventories"
GENERATION = "resource_provider_generation"
_OPTIONAL = [f for f in INVENTORY_FIELDS if f != "total"]


def _values(raw: Any, where: str) -> dict[str, int | float]:
    """Inventory fields as sent; their ranges are checked by make_inventory."""
    data = body.obj(raw, where, required=["total"], optional=_OPTIONAL)
    return {k: v for k, v in data.items() if k in INVENTORY_FIELDS}


def _inventory(uuid: str, rc: str, raw: Any, version: Version) -> Inventory:
    return make_inventory(
        rc, _values(raw, rc), provider_uuid=uuid, reserved_may_equal_total=version.at_least(26)
    )


@router.get(INVS)
async def list_inventories(
    uuid: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_providers:inventories:list"),
) -> dict[str, Any]:
    """Every inventory of the provider."""
    return views.inventories(*await inventories.get_all(svc.db, uuid))


@router.put(INVS)
async def replace_inventories(
    uuid: str,
    request: Request,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:resource_providers:inventories:update"),
) -> dict[str, Any]:
    """Replace every inventory, given the provider's current generation."""
    data = body.obj(await body.json_body(request), "body", required=["inventories", GENERATION])
    generation = body.generation(data[GENERATION])
    raw = data["inventories"]
    if not isinstance(raw, dict):
        raise body.invalid("inventories must be an object")
    new = {
        body.resource_class(rc): _inventory(uuid, rc, values, version) for rc, values in raw.items()
    }
    invs, new_generation = await inventories.put_all(svc.db, uuid, generation, new)
    return views.inventories(invs, new_generation)


@router.post(INVS)
async def create_inventory(
    uuid: str,
    request: Request,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:resource_providers:inventories:create"),
) -> JSONResponse:
    """Add one class of inventory: 201 with it and a Location."""
    raw = await body.json_body(request)
    data = body.obj(
        raw, "body", required=["resource_class", GENERATION, "total"], optional=_OPTIONAL
    )
    rc = body.resource_class(data["resource_class"], "resource_class")
    generation = body.generation(data[GENERATION])
    values = {k: v for k, v in data.items() if k in INVENTORY_FIELDS}
    inv = _inventory(uuid, rc, values, version)
    new_generation = await inventories.set_one(svc.db, uuid, generation, inv, create=True)
    return JSONResponse(
        views.inventory(inv, new_generation),
        status_code=201,
        headers={"Location": f"{PREFIX}/resource_providers/{uuid}/inventories/{rc}"},
    )


@router.delete(INVS, status_code=204, dependencies=[since(5)])
async def delete_inventories(
    uuid: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_providers:inventories:delete"),
) -> Response:
    """Remove every inventory (1.5)."""
    await inventories.delete_all(svc.db, uuid)
    return Response(status_code=204)


@router.get(f"{INVS}/{{resource_class}}")
async def show_inventory(
    uuid: str,
    resource_class: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_providers:inventories:show"),
) -> dict[str, Any]:
    """One class of inventory."""
    return views.inventory(*await inventories.get_one(svc.db, uuid, resource_class))


@router.put(f"{INVS}/{{resource_class}}")
async def update_inventory(
    uuid: str,
    resource_class: str,
    request: Request,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:resource_providers:inventories:update"),
) -> dict[str, Any]:
    """Change one class of inventory, given the provider's current generation."""
    raw = await body.json_body(request)
    data = body.obj(raw, "body", required=[GENERATION, "total"], optional=_OPTIONAL)
    generation = body.generation(data[GENERATION])
    values = {k: v for k, v in data.items() if k in INVENTORY_FIELDS}
    inv = _inventory(uuid, body.resource_class(resource_class), values, version)
    new_generation = await inventories.set_one(svc.db, uuid, generation, inv, create=False)
    return views.inventory(inv, new_generation)


@router.delete(f"{INVS}/{{resource_class}}", status_code=204)
async def delete_inventory(
    uuid: str,
    resource_class: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_providers:inventories:delete"),
) -> Response:
    """Remove one class of inventory (409 while it has allocations)."""
    await inventories.delete_one(svc.db, uuid, resource_class)
    return Response(status_code=204)
