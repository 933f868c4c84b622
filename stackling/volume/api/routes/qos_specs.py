"""QoS specs (admin): /qos-specs, their keys and their volume type associations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api import schemas
from stackling.volume.api.deps import Body, Call, CallDep
from stackling.volume.service import qos as service

router = APIRouter(tags=["qos-specs"])


def _links(call: Call, qos_id: str) -> list[dict[str, str]]:
    project = call.ctx.project_id
    return [
        {"href": f"{call.root}/v3/{project}/qos-specs/{qos_id}", "rel": "self"},
        {"href": f"{call.root}/{project}/qos-specs/{qos_id}", "rel": "bookmark"},
    ]


def _view(rec: service.QosRecord) -> dict[str, Any]:
    q = rec.qos
    return {"id": q.id, "name": q.name, "consumer": q.consumer, "specs": dict(rec.specs)}


def _string_keys(attr: str, value: Any) -> dict[str, str]:
    out = schemas.metadata(attr, value)
    if any(not k.strip() for k in out):
        raise schemas.invalid(attr, value, "Keys must not be blank.")
    return out


def _type_id(call: Call) -> str:
    type_id = call.params().get("vol_type_id")
    if not type_id:
        raise errors.BadRequest("Volume Type id must not be None.")
    return type_id


@router.post("/qos-specs")
async def create_qos(call: CallDep, body: Body) -> Response:
    """A new QoS specs entry: name, consumer, and any other keys as specs."""
    inner = dict(schemas.envelope(body, "qos_specs"))
    name = schemas.name("name", inner.pop("name", None))
    consumer = inner.pop("consumer", "back-end")
    if not isinstance(consumer, str):
        raise schemas.invalid("consumer", consumer, f"{consumer!r} is not of type 'string'")
    specs = _string_keys("qos_specs", inner)
    rec = await service.create(call.svc, call.ctx, name.strip(), consumer, specs)
    return call.reply({"qos_specs": _view(rec), "links": _links(call, rec.qos.id)})


@router.get("/qos-specs")
async def list_qos(call: CallDep) -> Response:
    """Every QoS specs entry."""
    found = await service.list_qos(call.svc, call.ctx)
    return call.reply({"qos_specs": [_view(rec) for rec in found]})


@router.get("/qos-specs/{qos_id}")
async def show_qos(qos_id: str, call: CallDep) -> Response:
    """One QoS specs entry."""
    rec = await service.show(call.svc, call.ctx, qos_id)
    return call.reply({"qos_specs": _view(rec), "links": _links(call, qos_id)})


@router.put("/qos-specs/{qos_id}")
async def update_qos(qos_id: str, call: CallDep, body: Body) -> Response:
    """Add or replace keys."""
    specs = _string_keys("qos_specs", schemas.envelope(body, "qos_specs"))
    if not specs:
        raise errors.BadRequest("Missing required element 'qos_specs' in request body.")
    return call.reply({"qos_specs": await service.set_keys(call.svc, call.ctx, qos_id, specs)})


@router.delete("/qos-specs/{qos_id}")
async def delete_qos(qos_id: str, call: CallDep) -> Response:
    """Delete an entry; one in use needs ?force=True (202)."""
    force = schemas.boolean("force", call.params().get("force", "false"))
    await service.delete_qos(call.svc, call.ctx, qos_id, force=force)
    return call.reply(status=202)


@router.put("/qos-specs/{qos_id}/delete_keys")
async def delete_keys(qos_id: str, call: CallDep, body: Body) -> Response:
    """Remove the listed keys (202)."""
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise errors.BadRequest("Missing required element 'keys' in request body.")
    await service.delete_keys(call.svc, call.ctx, qos_id, keys)
    return call.reply(status=202)


@router.get("/qos-specs/{qos_id}/associations")
async def associations(qos_id: str, call: CallDep) -> Response:
    """The volume types carrying an entry."""
    found = await service.associations(call.svc, call.ctx, qos_id)
    items = [{"association_type": "volume_type", "name": t.name, "id": t.id} for t in found]
    return call.reply({"qos_associations": items})


@router.get("/qos-specs/{qos_id}/associate")
async def associate(qos_id: str, call: CallDep) -> Response:
    """Give ?vol_type_id= these specs (202)."""
    await service.associate(call.svc, call.ctx, qos_id, _type_id(call))
    return call.reply(status=202)


@router.get("/qos-specs/{qos_id}/disassociate")
async def disassociate(qos_id: str, call: CallDep) -> Response:
    """Take these specs from ?vol_type_id= (202)."""
    await service.disassociate(call.svc, call.ctx, qos_id, _type_id(call))
    return call.reply(status=202)


@router.get("/qos-specs/{qos_id}/disassociate_all")
async def disassociate_all(qos_id: str, call: CallDep) -> Response:
    """Take these specs from every type (202)."""
    await service.disassociate(call.svc, call.ctx, qos_id, None)
    return call.reply(status=202)
