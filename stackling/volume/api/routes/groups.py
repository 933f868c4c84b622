"""Generic volume groups (3.13+): /groups, /groups/detail, /groups/{id}, their actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api import group_views as views
from stackling.volume.api import schemas
from stackling.volume.api.deps import Body, Call, CallDep
from stackling.volume.service import groups as service

router = APIRouter(tags=["groups"])


def _since(call: Call, version: str = "3.13") -> None:
    """Older microversions do not have the resource or action (Cinder's 404)."""
    if not call.version.at_least(version):
        raise errors.NotFound("The resource could not be found.")


def _all_projects(call: Call) -> bool:
    value = call.params().get("all_tenants", "false")
    return call.ctx.is_admin and schemas.boolean("all_tenants", value)


def _list_volume(call: Call) -> bool:
    return schemas.boolean("list_volume", call.params().get("list_volume", "false"))


def _id_list(attr: str, value: Any) -> list[str]:
    """Cinder's comma-separated list of volume ids ("" for none)."""
    if value is None:
        return []
    if not isinstance(value, str):
        raise schemas.invalid(attr, value, f"{value!r} is not of type 'string'")
    return [part.strip() for part in value.split(",") if part.strip()]


def _create_body(body: Any) -> service.GroupCreate:
    item = schemas.envelope(body, "group")
    for key in ("group_type", "volume_types"):
        if item.get(key) is None:
            raise schemas.invalid("group", item, f"'{key}' is a required property")
    vtypes = item["volume_types"]
    if not isinstance(vtypes, list) or not vtypes:
        raise schemas.invalid("volume_types", vtypes, "it must be a non-empty list")
    return service.GroupCreate(
        group_type=schemas.name("group_type", item["group_type"]),
        volume_types=[schemas.name("volume_types", vtype) for vtype in vtypes],
        name=schemas.text("name", item.get("name")),
        description=schemas.text("description", item.get("description")),
        availability_zone=schemas.text("availability_zone", item.get("availability_zone")),
    )


def _update_body(body: Any) -> service.GroupUpdate:
    item = schemas.envelope(body, "group")
    req = service.GroupUpdate(
        add_volumes=_id_list("add_volumes", item.get("add_volumes")),
        remove_volumes=_id_list("remove_volumes", item.get("remove_volumes")),
    )
    for key in ("name", "description"):
        if key in item:
            req.changes[key] = schemas.text(key, item[key])
    if not req.changes and not req.add_volumes and not req.remove_volumes:
        raise errors.BadRequest(
            "Name, description, add_volumes, and remove_volumes can not be all empty in the "
            "request body."
        )
    both = set(req.add_volumes) & set(req.remove_volumes)
    if both:
        raise errors.BadRequest(
            f"Invalid input received: volume(s) {', '.join(sorted(both))} are both added "
            "and removed."
        )
    return req


def _source_body(body: Any) -> service.GroupSource:
    item = schemas.envelope(body, "create-from-src")
    snap = schemas.uuid_ref("group_snapshot_id", item.get("group_snapshot_id"))
    source = schemas.uuid_ref("source_group_id", item.get("source_group_id"))
    if (snap is None) == (source is None):
        raise errors.BadRequest(
            "Invalid input received: Either 'group_snapshot_id' or 'source_group_id' must "
            "be provided, but not both."
        )
    return service.GroupSource(
        group_snapshot_id=snap,
        source_group_id=source,
        name=schemas.text("name", item.get("name")),
        description=schemas.text("description", item.get("description")),
    )


@router.get("/groups")
async def list_groups(call: CallDep) -> Response:
    """The caller's groups, as ids and names."""
    _since(call)
    found = await service.list_groups(call.svc, call.ctx, all_projects=_all_projects(call))
    return call.reply({"groups": [views.group_summary(rec.group) for rec in found]})


@router.get("/groups/detail")
async def list_groups_detail(call: CallDep) -> Response:
    """The caller's groups in full."""
    _since(call)
    found = await service.list_groups(call.svc, call.ctx, all_projects=_all_projects(call))
    with_volumes = _list_volume(call)
    items = [views.group_detail(call, rec, list_volume=with_volumes) for rec in found]
    return call.reply({"groups": items})


@router.post("/groups")
async def create_group(call: CallDep, body: Body) -> Response:
    """A new group (202)."""
    _since(call)
    rec = await service.create(call.svc, call.ctx, _create_body(body))
    return call.reply({"group": views.group_summary(rec.group)}, status=202)


@router.post("/groups/action")
async def create_group_from_source(call: CallDep, body: Body) -> Response:
    """create-from-src (3.14): a group copied from a group snapshot or a group (202)."""
    _since(call, "3.14")
    if not isinstance(body, dict) or "create-from-src" not in body:
        raise errors.BadRequest("Missing required element 'create-from-src' in request body.")
    rec = await service.create_from_source(call.svc, call.ctx, _source_body(body))
    return call.reply({"group": views.group_summary(rec.group)}, status=202)


@router.get("/groups/{group_id}")
async def show_group(group_id: str, call: CallDep) -> Response:
    """One group."""
    _since(call)
    rec = await service.show(call.svc, call.ctx, group_id)
    return call.reply({"group": views.group_detail(call, rec, list_volume=_list_volume(call))})


@router.put("/groups/{group_id}")
async def update_group(group_id: str, call: CallDep, body: Body) -> Response:
    """Rename or describe a group, add or remove volumes (202)."""
    _since(call)
    await service.update(call.svc, call.ctx, group_id, _update_body(body))
    return call.reply(status=202)


@router.post("/groups/{group_id}/action")
async def group_action(group_id: str, call: CallDep, body: Body) -> Response:
    """delete (with or without its volumes) or reset_status (3.20, admin); 202."""
    _since(call)
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.BadRequest("Invalid request body: it names exactly one action.")
    name, args = next(iter(body.items()))
    if name == "delete":
        args = args if isinstance(args, dict) else {}
        delete_volumes = schemas.boolean("delete-volumes", args.get("delete-volumes", False))
        await service.delete_group(call.svc, call.ctx, group_id, delete_volumes=delete_volumes)
    elif name == "reset_status" and call.version.at_least("3.20"):
        if not isinstance(args, dict) or not isinstance(args.get("status"), str):
            raise errors.BadRequest("Must specify 'status'.")
        await service.reset_status(call.svc, call.ctx, group_id, args["status"].lower())
    else:
        raise errors.BadRequest(f"There is no such action: {name}")
    return call.reply(status=202)
