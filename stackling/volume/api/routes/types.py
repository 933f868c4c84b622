"""Volume types and their extra specs: /types, /types/default, /types/{id}/extra_specs."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.volume.api import schemas, views
from stackling.volume.api.deps import Body, CallDep
from stackling.volume.service import types as service

router = APIRouter(tags=["types"])


@router.get("/types")
async def list_types(call: CallDep) -> Response:
    """Visible types; admins may ask for private ones with is_public."""
    found = await service.list_types(call.svc, call.ctx, call.params().get("is_public"))
    return call.reply({"volume_types": [views.volume_type(call, rec) for rec in found]})


@router.post("/types")
async def create_type(call: CallDep, body: Body) -> Response:
    """A new type (admin)."""
    rec = await service.create(call.svc, call.ctx, schemas.type_create(body))
    # Cinder's create answer has no QoS association (a new type has none to show).
    view = views.volume_type(call, rec)
    view.pop("qos_specs_id", None)
    return call.reply({"volume_type": view})


@router.get("/types/default")
async def default_type(call: CallDep) -> Response:
    """The type volumes get when they name none."""
    rec = await service.show_default(call.svc, call.ctx)
    return call.reply({"volume_type": views.volume_type(call, rec)})


@router.get("/types/{type_id}")
async def show_type(type_id: str, call: CallDep) -> Response:
    """One type."""
    rec = await service.show(call.svc, call.ctx, type_id)
    return call.reply({"volume_type": views.volume_type(call, rec)})


@router.put("/types/{type_id}")
async def update_type(type_id: str, call: CallDep, body: Body) -> Response:
    """Rename, describe or publish a type (admin)."""
    rec = await service.update(call.svc, call.ctx, type_id, schemas.type_update(body))
    # Cinder's update answer is the bare type, without the access and QoS extensions' keys.
    view = views.volume_type(call, rec)
    view.pop("qos_specs_id", None)
    view.pop("os-volume-type-access:is_public", None)
    return call.reply({"volume_type": view})


@router.delete("/types/{type_id}")
async def delete_type(type_id: str, call: CallDep) -> Response:
    """Delete an unused type (admin; 202)."""
    await service.delete_type(call.svc, call.ctx, type_id)
    return call.reply(status=202)


@router.get("/types/{type_id}/extra_specs")
async def list_specs(type_id: str, call: CallDep) -> Response:
    """A type's extra specs."""
    return call.reply({"extra_specs": await service.get_specs(call.svc, call.ctx, type_id)})


@router.post("/types/{type_id}/extra_specs")
async def create_specs(type_id: str, call: CallDep, body: Body) -> Response:
    """Add or replace extra specs (admin)."""
    specs = schemas.extra_specs_body(body)
    return call.reply({"extra_specs": await service.set_specs(call.svc, call.ctx, type_id, specs)})


@router.get("/types/{type_id}/extra_specs/{key}")
async def show_spec(type_id: str, key: str, call: CallDep) -> Response:
    """One extra spec."""
    return call.reply({key: await service.get_spec(call.svc, call.ctx, type_id, key)})


@router.put("/types/{type_id}/extra_specs/{key}")
async def update_spec(type_id: str, key: str, call: CallDep, body: Body) -> Response:
    """Set one extra spec (admin); the body names exactly that key."""
    value = schemas.extra_spec_item(body, key)
    await service.set_specs(call.svc, call.ctx, type_id, {key: value})
    return call.reply({key: value})


@router.delete("/types/{type_id}/extra_specs/{key}")
async def delete_spec(type_id: str, key: str, call: CallDep) -> Response:
    """Remove one extra spec (admin; 202)."""
    await service.delete_spec(call.svc, call.ctx, type_id, key)
    return call.reply(status=202)


@router.get("/types/{type_id}/os-volume-type-access")
async def list_access(type_id: str, call: CallDep) -> Response:
    """The projects that may use a private type (admin)."""
    found = await service.list_access(call.svc, call.ctx, type_id)
    items = [{"volume_type_id": type_id, "project_id": project} for project in found]
    return call.reply({"volume_type_access": items})


@router.post("/types/{type_id}/action")
async def type_action(type_id: str, call: CallDep, body: Body) -> Response:
    """addProjectAccess / removeProjectAccess on a private type (admin; 202)."""
    name, project = schemas.type_access_action(body)
    if name == "addProjectAccess":
        await service.add_access(call.svc, call.ctx, type_id, project)
    else:
        await service.remove_access(call.svc, call.ctx, type_id, project)
    return call.reply(status=202)
