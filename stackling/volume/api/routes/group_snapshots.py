"""Group snapshots (3.14+): /group_snapshots, /group_snapshots/detail, /group_snapshots/{id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api import group_views as views
from stackling.volume.api import schemas
from stackling.volume.api.deps import Body, Call, CallDep
from stackling.volume.service import group_snapshots as service

router = APIRouter(tags=["group_snapshots"])


def _since(call: Call, version: str = "3.14") -> None:
    """Older microversions do not have the resource or action (Cinder's 404)."""
    if not call.version.at_least(version):
        raise errors.NotFound("The resource could not be found.")


def _all_projects(call: Call) -> bool:
    value = call.params().get("all_tenants", "false")
    return call.ctx.is_admin and schemas.boolean("all_tenants", value)


def _create_body(body: Any) -> service.GroupSnapshotCreate:
    item = schemas.envelope(body, "group_snapshot")
    if item.get("group_id") is None:
        raise schemas.invalid("group_snapshot", item, "'group_id' is a required property")
    return service.GroupSnapshotCreate(
        group_id=str(schemas.uuid_ref("group_id", item["group_id"])),
        name=schemas.text("name", item.get("name")),
        description=schemas.text("description", item.get("description")),
    )


@router.get("/group_snapshots")
async def list_group_snapshots(call: CallDep) -> Response:
    """The caller's group snapshots, as ids and names."""
    _since(call)
    found = await service.list_group_snapshots(call.svc, call.ctx, all_projects=_all_projects(call))
    return call.reply({"group_snapshots": [views.group_snapshot_summary(r) for r in found]})


@router.get("/group_snapshots/detail")
async def list_group_snapshots_detail(call: CallDep) -> Response:
    """The caller's group snapshots in full."""
    _since(call)
    found = await service.list_group_snapshots(call.svc, call.ctx, all_projects=_all_projects(call))
    return call.reply({"group_snapshots": [views.group_snapshot_detail(call, r) for r in found]})


@router.post("/group_snapshots")
async def create_group_snapshot(call: CallDep, body: Body) -> Response:
    """A snapshot of each volume of a group (202)."""
    _since(call)
    row = await service.create(call.svc, call.ctx, _create_body(body))
    return call.reply({"group_snapshot": views.group_snapshot_created(row)}, status=202)


@router.get("/group_snapshots/{group_snapshot_id}")
async def show_group_snapshot(group_snapshot_id: str, call: CallDep) -> Response:
    """One group snapshot."""
    _since(call)
    row = await service.show(call.svc, call.ctx, group_snapshot_id)
    return call.reply({"group_snapshot": views.group_snapshot_detail(call, row)})


@router.delete("/group_snapshots/{group_snapshot_id}")
async def delete_group_snapshot(group_snapshot_id: str, call: CallDep) -> Response:
    """Delete a group snapshot and its member snapshots (202)."""
    _since(call)
    await service.delete_group_snapshot(call.svc, call.ctx, group_snapshot_id)
    return call.reply(status=202)


@router.post("/group_snapshots/{group_snapshot_id}/action")
async def group_snapshot_action(group_snapshot_id: str, call: CallDep, body: Body) -> Response:
    """reset_status (3.19, admin; 202)."""
    _since(call)
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.BadRequest("Invalid request body: it names exactly one action.")
    name, args = next(iter(body.items()))
    if name != "reset_status" or not call.version.at_least("3.19"):
        raise errors.BadRequest(f"There is no such action: {name}")
    if not isinstance(args, dict) or not isinstance(args.get("status"), str):
        raise errors.BadRequest("Must specify 'status'.")
    await service.reset_status(call.svc, call.ctx, group_snapshot_id, args["status"].lower())
    return call.reply(status=202)
