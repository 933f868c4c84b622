"""/v3/regions, /v3/services and /v3/endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.identity.api import views
from stackling.identity.api.deps import Base, Context, IdentityDep, Query, enforce
from stackling.identity.api.schemas import (
    EndpointCreateBody,
    EndpointUpdateBody,
    RegionCreateBody,
    RegionUpdateBody,
    ServiceCreateBody,
    ServiceUpdateBody,
)
from stackling.identity.service import catalog

router = APIRouter(tags=["catalog"])


@router.get("/regions")
async def list_regions(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """List regions."""
    enforce(ctx, "identity:list_regions")
    rows = await catalog.list_regions(idn, query)
    return views.collection(base, "regions", "regions", [views.region(base, r) for r in rows])


@router.post("/regions", status_code=201)
async def create_region(body: RegionCreateBody, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Create a region."""
    enforce(ctx, "identity:create_region")
    return {"region": views.region(base, await catalog.create_region(idn, body.region.fields()))}


@router.put("/regions/{region_id}", status_code=201)
async def create_region_with_id(
    region_id: str, body: RegionCreateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Create a region with the id in the path."""
    enforce(ctx, "identity:create_region")
    row = await catalog.create_region(idn, body.region.fields(), region_id=region_id)
    return {"region": views.region(base, row)}


@router.get("/regions/{region_id}")
async def get_region(region_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a region."""
    enforce(ctx, "identity:get_region")
    return {"region": views.region(base, await catalog.get_region(idn, region_id))}


@router.patch("/regions/{region_id}")
async def update_region(
    region_id: str, body: RegionUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a region."""
    enforce(ctx, "identity:update_region")
    row = await catalog.update_region(idn, region_id, body.region.fields())
    return {"region": views.region(base, row)}


@router.delete("/regions/{region_id}", status_code=204)
async def delete_region(region_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a region."""
    enforce(ctx, "identity:delete_region")
    await catalog.delete_region(idn, region_id)
    return Response(status_code=204)


@router.get("/services")
async def list_services(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """List services."""
    enforce(ctx, "identity:list_services")
    rows = await catalog.list_services(idn, query)
    return views.collection(base, "services", "services", [views.service(base, r) for r in rows])


@router.post("/services", status_code=201)
async def create_service(
    body: ServiceCreateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Register a service."""
    enforce(ctx, "identity:create_service")
    return {
        "service": views.service(base, await catalog.create_service(idn, body.service.fields()))
    }


@router.get("/services/{service_id}")
async def get_service(service_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a service."""
    enforce(ctx, "identity:get_service")
    return {"service": views.service(base, await catalog.get_service(idn, service_id))}


@router.patch("/services/{service_id}")
async def update_service(
    service_id: str, body: ServiceUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a service."""
    enforce(ctx, "identity:update_service")
    row = await catalog.update_service(idn, service_id, body.service.fields())
    return {"service": views.service(base, row)}


@router.delete("/services/{service_id}", status_code=204)
async def delete_service(service_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a service and its endpoints."""
    enforce(ctx, "identity:delete_service")
    await catalog.delete_service(idn, service_id)
    return Response(status_code=204)


@router.get("/endpoints")
async def list_endpoints(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """List endpoints."""
    enforce(ctx, "identity:list_endpoints")
    rows = await catalog.list_endpoints(idn, query)
    return views.collection(base, "endpoints", "endpoints", [views.endpoint(base, r) for r in rows])


@router.post("/endpoints", status_code=201)
async def create_endpoint(
    body: EndpointCreateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Create an endpoint."""
    enforce(ctx, "identity:create_endpoint")
    row = await catalog.create_endpoint(idn, body.endpoint.fields())
    return {"endpoint": views.endpoint(base, row)}


@router.get("/endpoints/{endpoint_id}")
async def get_endpoint(endpoint_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show an endpoint."""
    enforce(ctx, "identity:get_endpoint")
    return {"endpoint": views.endpoint(base, await catalog.get_endpoint(idn, endpoint_id))}


@router.patch("/endpoints/{endpoint_id}")
async def update_endpoint(
    endpoint_id: str, body: EndpointUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update an endpoint."""
    enforce(ctx, "identity:update_endpoint")
    row = await catalog.update_endpoint(idn, endpoint_id, body.endpoint.fields())
    return {"endpoint": views.endpoint(base, row)}


@router.delete("/endpoints/{endpoint_id}", status_code=204)
async def delete_endpoint(endpoint_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete an endpoint."""
    enforce(ctx, "identity:delete_endpoint")
    await catalog.delete_endpoint(idn, endpoint_id)
    return Response(status_code=204)
