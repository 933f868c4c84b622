"""Volumes: /volumes, /volumes/detail, /volumes/summary, /volumes/{id} and its actions."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api import schemas, views
from stackling.volume.api.deps import Body, CallDep
from stackling.volume.api.routes import volume_actions
from stackling.volume.faults import InvalidInput
from stackling.volume.service import listing
from stackling.volume.service import volumes as service

router = APIRouter(tags=["volumes"])

# Cinder adds these to show and list only (its API extensions extend those two
# views), so a create or update answer never has them.
_SHOWN_ONLY = (
    "os-vol-tenant-attr:tenant_id",
    "os-vol-host-attr:host",
    "os-vol-mig-status-attr:migstat",
    "os-vol-mig-status-attr:name_id",
    "volume_image_metadata",
)


def _written(call: CallDep, rec: service.VolumeRecord) -> dict[str, object]:
    """A volume as a create or an update answers with it."""
    view = views.detail(call, rec)
    for key in _SHOWN_ONLY:
        view.pop(key, None)
    return view


@router.post("/volumes")
async def create_volume(call: CallDep, body: Body) -> Response:
    """Record a volume in `creating`; the agent builds it (202, as Cinder)."""
    rec = await service.create(call.svc, call.ctx, schemas.volume_create(body))
    return call.reply({"volume": _written(call, rec)}, status=202)


async def _list(call: CallDep, detailed: bool) -> Response:
    q = listing.parse(
        service.LISTING,
        call.params(),
        is_admin=call.ctx.is_admin,
        max_limit=call.svc.conf.osapi_max_limit,
    )
    if q.with_count and not call.version.at_least("3.45"):
        raise InvalidInput("Invalid filters with_count are found in query options.")
    records, count = await service.list_volumes(call.svc, call.ctx, q)
    render = views.detail if detailed else views.summary
    items = [render(call, rec) for rec in records]
    return call.reply(views.collection(call, "volumes", items, q.limit, count))


@router.get("/volumes")
async def list_volumes(call: CallDep) -> Response:
    """Volumes in brief: id, name, links."""
    return await _list(call, detailed=False)


@router.get("/volumes/detail")
async def list_volumes_detail(call: CallDep) -> Response:
    """Volumes in full."""
    return await _list(call, detailed=True)


@router.get("/volumes/summary")
async def volumes_summary(call: CallDep) -> Response:
    """Count and total size of the visible volumes (3.12; metadata from 3.36)."""
    if not call.version.at_least("3.12"):
        raise errors.NotFound("The resource could not be found.")
    params = call.params()
    all_projects = call.ctx.is_admin and params.get("all_tenants", "0").lower() not in (
        "0",
        "false",
        "f",
        "no",
        "n",
        "off",
    )
    found = await service.summary(call.svc, call.ctx, all_projects)
    if not call.version.at_least("3.36"):
        found.pop("metadata")
    return call.reply({"volume-summary": found})


@router.get("/volumes/")
@router.put("/volumes/")
@router.delete("/volumes/")
async def no_volume_named(call: CallDep) -> Response:
    """A volume path with an empty id names no volume (404, as Cinder; not the list)."""
    raise errors.NotFound("Volume  could not be found.")


@router.get("/volumes/{volume_id}")
async def show_volume(volume_id: str, call: CallDep) -> Response:
    """One volume."""
    rec = await service.show(call.svc, call.ctx, volume_id)
    return call.reply({"volume": views.detail(call, rec)})


@router.put("/volumes/{volume_id}")
async def update_volume(volume_id: str, call: CallDep, body: Body) -> Response:
    """Change name, description or metadata."""
    rec = await service.update(call.svc, call.ctx, volume_id, schemas.volume_update(body))
    return call.reply({"volume": _written(call, rec)})


@router.delete("/volumes/{volume_id}")
async def delete_volume(volume_id: str, call: CallDep) -> Response:
    """Start deleting a volume (202)."""
    cascade = schemas.boolean("cascade", call.params().get("cascade", "false"))
    await service.delete_volume(call.svc, call.ctx, volume_id, cascade=cascade)
    return call.reply(status=202)


@router.post("/volumes/{volume_id}/action")
async def volume_action(volume_id: str, call: CallDep, body: Body) -> Response:
    """One action on a volume, found by name among every module's handlers."""
    name, arg = schemas.action(body)
    handler = volume_actions.HANDLERS.get(name)
    if handler is None:
        raise errors.BadRequest(f"There is no such action: {name}")
    return await handler(call, volume_id, arg)
