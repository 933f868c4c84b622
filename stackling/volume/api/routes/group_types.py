"""Group types (3.11+) and their group specs: /group_types, /group_types/{id}/group_specs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api import group_views as views
from stackling.volume.api import schemas
from stackling.volume.api.deps import Body, Call, CallDep
from stackling.volume.service import group_types as service

router = APIRouter(tags=["group_types"])


def _since(call: Call) -> None:
    """Before 3.11 the resource does not exist (Cinder's 404)."""
    if not call.version.at_least("3.11"):
        raise errors.NotFound("The resource could not be found.")


def _specs(value: Any) -> dict[str, str]:
    """Group specs: keys of 1-255 characters, string values (numbers and booleans as text)."""
    if not isinstance(value, dict):
        raise schemas.invalid("group_specs", value, f"{value!r} is not of type 'object'")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not key or len(key) > 255:
            raise schemas.invalid("group_specs", value, f"{key!r} is not a valid group spec key")
        if isinstance(item, bool | int | float):
            item = str(item)
        if not isinstance(item, str) or len(item) > 255:
            raise schemas.invalid("group_specs", value, f"{item!r} is not a valid group spec")
        out[key] = item
    return out


def _create_body(body: Any) -> service.GroupTypeCreate:
    item = schemas.envelope(body, "group_type")
    if "name" not in item:
        raise schemas.invalid("group_type", item, "'name' is a required property")
    return service.GroupTypeCreate(
        name=schemas.name("name", item["name"]),
        description=schemas.text("description", item.get("description")),
        is_public=schemas.boolean("is_public", item.get("is_public", True)),
        group_specs=_specs(item.get("group_specs") or {}),
    )


def _update_body(body: Any) -> dict[str, object]:
    item = schemas.envelope(body, "group_type")
    changes: dict[str, object] = {}
    if item.get("name") is not None:
        changes["name"] = schemas.name("name", item["name"])
    if "description" in item:
        changes["description"] = schemas.text("description", item["description"])
    if item.get("is_public") is not None:
        changes["is_public"] = schemas.boolean("is_public", item["is_public"])
    if not changes:
        raise errors.BadRequest(
            "Specify group type name, description or is_public or a combination thereof."
        )
    return changes


@router.get("/group_types")
async def list_group_types(call: CallDep) -> Response:
    """Visible group types; admins may ask for private ones with is_public."""
    _since(call)
    params = call.params()
    found = await service.list_types(
        call.svc, call.ctx, params.get("is_public"), params.get("sort")
    )
    return call.reply({"group_types": [views.group_type(call, rec) for rec in found]})


@router.post("/group_types")
async def create_group_type(call: CallDep, body: Body) -> Response:
    """A new group type (admin; 202)."""
    _since(call)
    rec = await service.create(call.svc, call.ctx, _create_body(body))
    return call.reply({"group_type": views.group_type(call, rec)}, status=202)


@router.get("/group_types/default")
async def default_group_type(call: CallDep) -> Response:
    """The group type groups get when they name none."""
    _since(call)
    rec = await service.show_default(call.svc, call.ctx)
    return call.reply({"group_type": views.group_type(call, rec)})


@router.get("/group_types/{group_type_id}")
async def show_group_type(group_type_id: str, call: CallDep) -> Response:
    """One group type."""
    _since(call)
    rec = await service.show(call.svc, call.ctx, group_type_id)
    return call.reply({"group_type": views.group_type(call, rec)})


@router.put("/group_types/{group_type_id}")
async def update_group_type(group_type_id: str, call: CallDep, body: Body) -> Response:
    """Rename, describe or publish a group type (admin)."""
    _since(call)
    rec = await service.update(call.svc, call.ctx, group_type_id, _update_body(body))
    return call.reply({"group_type": views.group_type(call, rec)})


@router.delete("/group_types/{group_type_id}")
async def delete_group_type(group_type_id: str, call: CallDep) -> Response:
    """Delete a group type no group uses (admin; 202)."""
    _since(call)
    await service.delete_type(call.svc, call.ctx, group_type_id)
    return call.reply(status=202)


@router.get("/group_types/{group_type_id}/group_specs")
async def list_specs(group_type_id: str, call: CallDep) -> Response:
    """A group type's specs (admin)."""
    _since(call)
    specs = await service.get_specs(call.svc, call.ctx, group_type_id)
    return call.reply({"group_specs": specs})


@router.post("/group_types/{group_type_id}/group_specs")
async def create_specs(group_type_id: str, call: CallDep, body: Body) -> Response:
    """Add or replace group specs (admin; 202)."""
    _since(call)
    if not isinstance(body, dict) or "group_specs" not in body:
        raise errors.BadRequest("Missing required element 'group_specs' in request body.")
    specs = _specs(body["group_specs"])
    done = await service.set_specs(call.svc, call.ctx, group_type_id, specs)
    return call.reply({"group_specs": done}, status=202)


@router.get("/group_types/{group_type_id}/group_specs/{key}")
async def show_spec(group_type_id: str, key: str, call: CallDep) -> Response:
    """One group spec."""
    _since(call)
    return call.reply({key: await service.get_spec(call.svc, call.ctx, group_type_id, key)})


@router.put("/group_types/{group_type_id}/group_specs/{key}")
async def update_spec(group_type_id: str, key: str, call: CallDep, body: Body) -> Response:
    """Set one group spec (admin); the body names exactly that key."""
    _since(call)
    if not isinstance(body, dict) or not body:
        raise errors.BadRequest("Malformed request body.")
    if len(body) > 1:
        raise errors.BadRequest("Request body contains too many items.")
    if key not in body:
        raise errors.BadRequest("Request body and URI mismatch.")
    value = _specs(body)[key]
    await service.set_specs(call.svc, call.ctx, group_type_id, {key: value})
    return call.reply({key: value})


@router.delete("/group_types/{group_type_id}/group_specs/{key}")
async def delete_spec(group_type_id: str, key: str, call: CallDep) -> Response:
    """Remove one group spec (admin; 202)."""
    _since(call)
    await service.delete_spec(call.svc, call.ctx, group_type_id, key)
    return call.reply(status=202)
