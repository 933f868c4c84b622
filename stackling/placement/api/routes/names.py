"""Resource classes (/resource_classes, 1.2) and traits (/traits, 1.6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.placement.api import body, query, views
from stackling.placement.api.deps import PREFIX, PlacementDep, VersionDep, authorize, since
from stackling.placement.api.route import PlacementRoute
from stackling.placement.service import names

router = APIRouter(tags=["placement-names"], route_class=PlacementRoute)
CLASSES = f"{PREFIX}/resource_classes"
TRAITS = f"{PREFIX}/traits"


@router.get(CLASSES, dependencies=[since(2)])
async def list_classes(
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_classes:list"),
) -> dict[str, Any]:
    """Every resource class, standard and custom."""
    return {"resource_classes": [views.resource_class(n) for n in await names.list_classes(svc.db)]}


@router.post(CLASSES, status_code=201, dependencies=[since(2)])
async def create_class(
    request: Request,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_classes:create"),
) -> Response:
    """Create a custom resource class: 201 with a Location."""
    data = body.obj(await body.json_body(request), "body", required=["name"])
    name = body.string(data["name"], "name")
    await names.create_class(svc.db, name)
    return Response(status_code=201, headers={"Location": f"{CLASSES}/{name}"})


@router.get(f"{CLASSES}/{{name}}", dependencies=[since(2)])
async def show_class(
    name: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_classes:show"),
) -> dict[str, Any]:
    """One resource class."""
    return views.resource_class(await names.show_class(svc.db, name))


@router.put(f"{CLASSES}/{{name}}", dependencies=[since(2)])
async def put_class(
    name: str,
    request: Request,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:resource_classes:update"),
) -> Response:
    """From 1.7 create-or-verify (201/204); before, rename a custom class."""
    if version.at_least(7):
        created = await names.ensure_class(svc.db, name)
        headers = {"Location": f"{CLASSES}/{name}"}
        return Response(status_code=201 if created else 204, headers=headers)
    data = body.obj(await body.json_body(request), "body", required=["name"])
    new_name = body.string(data["name"], "name")
    await names.rename_class(svc.db, name, new_name)
    return JSONResponse(views.resource_class(new_name))


@router.delete(f"{CLASSES}/{{name}}", status_code=204, dependencies=[since(2)])
async def delete_class(
    name: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_classes:delete"),
) -> Response:
    """Delete a custom class no inventory uses."""
    await names.delete_class(svc.db, name)
    return Response(status_code=204)


@router.get(TRAITS, dependencies=[since(6)])
async def list_traits(
    request: Request,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:traits:list"),
) -> dict[str, Any]:
    """Traits, filtered by `name=in:A,B` or `name=startswith:P` and `associated`."""
    params = query.pairs(request, {"name", "associated"})
    wanted: set[str] | None = None
    prefix: str | None = None
    name = query.single(params, "name")
    if name is not None:
        if name.startswith("in:"):
            wanted = set(name[3:].split(","))
        elif name.startswith("startswith:"):
            prefix = name[len("startswith:") :]
        else:
            raise errors.BadRequest(
                f"Badly formatted name parameter. Expected name query string parameter in "
                f'form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "{name}"'
            )
    associated: bool | None = None
    flag = query.single(params, "associated")
    if flag is not None:
        if flag.lower() not in ("true", "false"):
            raise query.bad(f"'associated' must be true or false. Got: {flag}")
        associated = flag.lower() == "true"
    found = await names.list_traits(svc.db, names=wanted, prefix=prefix, associated=associated)
    return {"traits": found}


@router.get(f"{TRAITS}/{{name}}", status_code=204, dependencies=[since(6)])
async def show_trait(
    name: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:traits:show"),
) -> Response:
    """204 when the trait exists."""
    if not await names.trait_exists(svc.db, name):
        raise errors.NotFound(f"No such trait(s): {name}")
    return Response(status_code=204)


@router.put(f"{TRAITS}/{{name}}", dependencies=[since(6)])
async def put_trait(
    name: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:traits:update"),
) -> Response:
    """Create a custom trait (201), or confirm it exists (204)."""
    created = await names.ensure_trait(svc.db, name)
    return Response(status_code=201 if created else 204, headers={"Location": f"{TRAITS}/{name}"})


@router.delete(f"{TRAITS}/{{name}}", status_code=204, dependencies=[since(6)])
async def delete_trait(
    name: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:traits:delete"),
) -> Response:
    """Delete a custom trait no provider has."""
    await names.delete_trait(svc.db, name)
    return Response(status_code=204)
