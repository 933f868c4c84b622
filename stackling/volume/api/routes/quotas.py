"""Quota sets, limits and availability zones."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.volume.api import schemas
from stackling.volume.api.deps import Body, CallDep
from stackling.volume.service import quota, quota_sets

router = APIRouter(tags=["quotas"])
TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")


@router.get("/os-quota-sets/{target_project}/defaults")
async def quota_defaults(target_project: str, call: CallDep) -> Response:
    """The default quota set."""
    found = await quota_sets.defaults(call.svc, call.ctx, target_project)
    return call.reply({"quota_set": found})


@router.get("/os-quota-sets/{target_project}")
async def show_quotas(target_project: str, call: CallDep) -> Response:
    """A project's quota set (?usage=True adds in_use and reserved)."""
    usage = call.params().get("usage", "false").strip().lower() in TRUE_STRINGS
    found = await quota_sets.show(call.svc, call.ctx, target_project, usage=usage)
    return call.reply({"quota_set": found})


@router.put("/os-quota-sets/{target_project}")
async def update_quotas(target_project: str, call: CallDep, body: Body) -> Response:
    """Set a project's limits (admin)."""
    new = schemas.quota_update(body, quota.RESOURCES)
    found = await quota_sets.update(call.svc, call.ctx, target_project, new)
    return call.reply({"quota_set": found})


@router.delete("/os-quota-sets/{target_project}")
async def delete_quotas(target_project: str, call: CallDep) -> Response:
    """Back to the defaults (admin)."""
    await quota_sets.reset(call.svc, call.ctx, target_project)
    return call.reply(status=200)


@router.get("/limits")
async def limits(call: CallDep) -> Response:
    """Absolute limits and usage of the caller's project; no rate limits."""
    absolute = await quota_sets.absolute_limits(call.svc, call.ctx)
    return call.reply({"limits": {"rate": [], "absolute": absolute}})


@router.get("/os-availability-zone")
async def availability_zones(call: CallDep) -> Response:
    """The one zone every volume is in."""
    zone = {"zoneName": call.svc.conf.availability_zone, "zoneState": {"available": True}}
    return call.reply({"availabilityZoneInfo": [zone]})
