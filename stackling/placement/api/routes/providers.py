"""Resource providers: /placement/resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stackling.common.context import RequestContext
from stackling.placement.api import body, query, views
from stackling.placement.api.deps import PREFIX, PlacementDep, VersionDep, authorize
from stackling.placement.api.microversion import Version
from stackling.placement.api.route import PlacementRoute
from stackling.placement.service import providers

router = APIRouter(tags=["placement-providers"], route_class=PlacementRoute)
RPS = f"{PREFIX}/resource_providers"


def _fields(raw: Any, version: Version, *, create: bool) -> dict[str, Any]:
    optional = ["uuid"] if create else []
    if version.at_least(14):
        optional.append("parent_provider_uuid")
    data = body.obj(raw, "resource provider", required=["name"], optional=optional)
    out: dict[str, Any] = {"name": body.string(data["name"], "name", max_length=200)}
    if "uuid" in data:
        out["uuid"] = body.uuid(data["uuid"], "uuid")
    if "parent_provider_uuid" in data:
        parent = data["parent_provider_uuid"]
        out["parent_provider_uuid"] = (
            None if parent is None else body.uuid(parent, "parent_provider_uuid")
        )
    return out


@router.get(RPS)
async def list_providers(
    request: Request,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:resource_providers:list"),
) -> dict[str, Any]:
    """Providers, filtered as the microversion allows."""
    found = await providers.find(svc.db, query.provider_list(request, version))
    return views.providers(found, version)


@router.post(RPS)
async def create_provider(
    request: Request,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:resource_providers:create"),
) -> Response:
    """Create a provider: 201 and a Location; from 1.20, 200 with the provider."""
    fields = _fields(await body.json_body(request), version, create=True)
    rp = await providers.create(svc.db, **fields)
    headers = {"Location": views.provider_url(rp.uuid)}
    if version.at_least(20):
        return JSONResponse(views.provider(rp, version), headers=headers)
    return Response(status_code=201, headers=headers)


@router.get(f"{RPS}/{{uuid}}")
async def show_provider(
    uuid: str,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:resource_providers:show"),
) -> dict[str, Any]:
    """One provider."""
    return views.provider(await providers.show(svc.db, uuid), version)


@router.put(f"{RPS}/{{uuid}}")
async def update_provider(
    uuid: str,
    request: Request,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:resource_providers:update"),
) -> dict[str, Any]:
    """Rename a provider, or set its parent (re-parent from 1.37)."""
    fields = _fields(await body.json_body(request), version, create=False)
    rp = await providers.update_provider(
        svc.db,
        uuid,
        name=fields["name"],
        parent_provider_uuid=fields.get("parent_provider_uuid", providers.KEEP),
        allow_reparent=version.at_least(37),
    )
    return views.provider(rp, version)


@router.delete(f"{RPS}/{{uuid}}", status_code=204)
async def delete_provider(
    uuid: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_providers:delete"),
) -> Response:
    """Delete a provider without allocations or children."""
    await providers.delete_provider(svc.db, uuid)
    return Response(status_code=204)
