"""What hangs off a provider: its traits, aggregates, usages and allocations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from stackling.common.context import RequestContext
from stackling.placement.api import body, views
from stackling.placement.api.deps import PREFIX, PlacementDep, VersionDep, authorize, since
from stackling.placement.api.route import PlacementRoute
from stackling.placement.service import allocations, associations, usages

router = APIRouter(tags=["placement-provider-links"], route_class=PlacementRoute)
RP = f"{PREFIX}/resource_providers/{{uuid}}"
GENERATION = "resource_provider_generation"


@router.get(f"{RP}/traits", dependencies=[since(6)])
async def list_traits(
    uuid: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_providers:traits:list"),
) -> dict[str, Any]:
    """The provider's traits (1.6)."""
    traits, generation = await associations.get_traits(svc.db, uuid)
    return {"traits": sorted(traits), GENERATION: generation}


@router.put(f"{RP}/traits", dependencies=[since(6)])
async def set_traits(
    uuid: str,
    request: Request,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_providers:traits:update"),
) -> dict[str, Any]:
    """Replace the provider's traits, given its current generation."""
    data = body.obj(await body.json_body(request), "body", required=["traits", GENERATION])
    wanted = set(body.string_list(data["traits"], "traits"))
    traits, generation = await associations.set_traits(
        svc.db, uuid, wanted, body.generation(data[GENERATION])
    )
    return {"traits": sorted(traits), GENERATION: generation}


@router.delete(f"{RP}/traits", status_code=204, dependencies=[since(6)])
async def clear_traits(
    uuid: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_providers:traits:delete"),
) -> Response:
    """Remove every trait from the provider."""
    await associations.clear_traits(svc.db, uuid)
    return Response(status_code=204)


def _aggregates_view(aggregates: set[str], generation: int, version: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"aggregates": sorted(aggregates)}
    if version.at_least(19):
        out[GENERATION] = generation
    return out


@router.get(f"{RP}/aggregates", dependencies=[since(1)])
async def list_aggregates(
    uuid: str,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:resource_providers:aggregates:list"),
) -> dict[str, Any]:
    """The provider's aggregates (1.1; with its generation from 1.19)."""
    return _aggregates_view(*await associations.get_aggregates(svc.db, uuid), version)


@router.put(f"{RP}/aggregates", dependencies=[since(1)])
async def set_aggregates(
    uuid: str,
    request: Request,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:resource_providers:aggregates:update"),
) -> dict[str, Any]:
    """Replace the provider's aggregates: a bare list before 1.19, then with a generation."""
    raw = await body.json_body(request)
    generation: int | None = None
    if version.at_least(19):
        data = body.obj(raw, "body", required=["aggregates", GENERATION])
        generation = body.generation(data[GENERATION])
        raw = data["aggregates"]
    wanted = {body.uuid(a, "aggregates") for a in body.string_list(raw, "aggregates")}
    return _aggregates_view(
        *await associations.set_aggregates(svc.db, uuid, wanted, generation), version
    )


@router.get(f"{RP}/usages")
async def provider_usages(
    uuid: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_providers:usages"),
) -> dict[str, Any]:
    """How much of each class of the provider's inventory is allocated."""
    used, generation = await usages.of_provider(svc.db, uuid)
    return {"usages": dict(sorted(used.items())), GENERATION: generation}


@router.get(f"{RP}/allocations")
async def provider_allocations(
    uuid: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:resource_providers:allocations:list"),
) -> dict[str, Any]:
    """Every allocation against the provider, by consumer."""
    return views.provider_allocations(*await allocations.of_provider(svc.db, uuid))
