"""Allocations: /allocations/{consumer_uuid} (GET, PUT, DELETE) and POST /allocations (1.13)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from stackling.common.context import RequestContext
from stackling.placement.api import body, views
from stackling.placement.api.deps import PREFIX, PlacementDep, VersionDep, authorize, since
from stackling.placement.api.microversion import Version
from stackling.placement.api.route import PlacementRoute
from stackling.placement.service import allocations
from stackling.placement.service.allocations import ConsumerWrite

router = APIRouter(tags=["placement-allocations"], route_class=PlacementRoute)
ALLOCATIONS = f"{PREFIX}/allocations"
# Who owns allocations written before 1.8 without saying (Placement's
# incomplete_consumer_project_id / incomplete_consumer_user_id defaults).
INCOMPLETE = "00000000-0000-0000-0000-000000000000"


def _dict_allocations(raw: Any, version: Version) -> dict[str, dict[str, int]]:
    """The 1.12+ form: {rp_uuid: {"resources": {...}, "generation": n}}."""
    if not isinstance(raw, dict):
        raise body.invalid("allocations must be an object")
    if not raw and not version.at_least(28):
        raise body.invalid("allocations does not have enough properties")
    out: dict[str, dict[str, int]] = {}
    for rp, entry in raw.items():
        body.uuid(rp, "allocations")
        data = body.obj(entry, f"allocations.{rp}", required=["resources"], optional=["generation"])
        out[rp] = _resources(data["resources"], rp)
    return out


def _list_allocations(raw: Any) -> dict[str, dict[str, int]]:
    """The pre-1.12 form: [{"resource_provider": {"uuid": ...}, "resources": {...}}]."""
    if not isinstance(raw, list) or not raw:
        raise body.invalid("allocations must be a non-empty array")
    out: dict[str, dict[str, int]] = {}
    for entry in raw:
        data = body.obj(entry, "allocation", required=["resource_provider", "resources"])
        rp_data = body.obj(data["resource_provider"], "resource_provider", required=["uuid"])
        rp = body.uuid(rp_data["uuid"], "resource_provider.uuid")
        for rc, n in _resources(data["resources"], rp).items():
            out.setdefault(rp, {})[rc] = n
    return out


def _resources(raw: Any, rp: str) -> dict[str, int]:
    found = body.resources(raw, f"resources of {rp}")
    if not found:
        raise body.invalid(f"resources of {rp} does not have enough properties")
    return found


def _consumer(raw: Any, consumer_uuid: str, version: Version, *, listed: bool) -> ConsumerWrite:
    """One consumer's request, checked against what its microversion requires."""
    required = ["allocations"]
    optional: list[str] = []
    for minor, key in ((8, "project_id"), (8, "user_id"), (28, "consumer_generation")):
        (required if version.at_least(minor) else optional).append(key)
    if version.at_least(38):
        required.append("consumer_type")
    if version.at_least(34):
        optional.append("mappings")
    data = body.obj(raw, "body", required=required, optional=optional)
    amounts = (
        _list_allocations(data["allocations"])
        if listed
        else _dict_allocations(data["allocations"], version)
    )
    generation = data.get("consumer_generation")
    if generation is not None:
        body.generation(generation, "consumer_generation")
    consumer_type = data.get("consumer_type")
    if consumer_type is not None:
        body.resource_class(consumer_type, "consumer_type")
    return ConsumerWrite(
        consumer_uuid=consumer_uuid,
        project_id=body.string(data.get("project_id", INCOMPLETE), "project_id"),
        user_id=body.string(data.get("user_id", INCOMPLETE), "user_id"),
        allocations=amounts,
        consumer_type=consumer_type,
        consumer_generation=generation,
        check_generation=version.at_least(28),
    )


@router.get(f"{ALLOCATIONS}/{{consumer_uuid}}")
async def show_allocations(
    consumer_uuid: str,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:allocations:list"),
) -> dict[str, Any]:
    """What the consumer holds, by provider (`{"allocations": {}}` when nothing)."""
    return views.consumer_allocations(await allocations.read(svc.db, consumer_uuid), version)


@router.put(f"{ALLOCATIONS}/{{consumer_uuid}}", status_code=204)
async def put_allocations(
    consumer_uuid: str,
    request: Request,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:allocations:update"),
) -> Response:
    """Replace what the consumer holds, all or nothing."""
    body.uuid(consumer_uuid, "consumer_uuid")
    raw = await body.json_body(request)
    write = _consumer(raw, consumer_uuid, version, listed=not version.at_least(12))
    await allocations.replace(svc.db, [write])
    return Response(status_code=204)


@router.post(ALLOCATIONS, status_code=204, dependencies=[since(13)])
async def post_allocations(
    request: Request,
    svc: PlacementDep,
    version: VersionDep,
    ctx: RequestContext = authorize("placement:allocations:manage"),
) -> Response:
    """Replace what several consumers hold in one transaction (1.13)."""
    raw = await body.json_body(request)
    if not isinstance(raw, dict) or not raw:
        raise body.invalid("the body must be a non-empty object keyed by consumer uuid")
    writes = [
        _consumer(entry, body.uuid(consumer, "consumer uuid"), version, listed=False)
        for consumer, entry in raw.items()
    ]
    await allocations.replace(svc.db, writes)
    return Response(status_code=204)


@router.delete(f"{ALLOCATIONS}/{{consumer_uuid}}", status_code=204)
async def delete_allocations(
    consumer_uuid: str,
    svc: PlacementDep,
    ctx: RequestContext = authorize("placement:allocations:delete"),
) -> Response:
    """Drop everything the consumer holds; 404 when it holds nothing."""
    await allocations.delete_consumer(svc.db, consumer_uuid, missing_ok=False)
    return Response(status_code=204)
