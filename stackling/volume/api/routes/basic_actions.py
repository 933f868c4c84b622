"""Volume actions on the volume alone: extend, reset status, force delete, set bootable."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from stackling.volume.api import schemas
from stackling.volume.api.deps import Call
from stackling.volume.api.routes.action_types import Handler
from stackling.volume.faults import InvalidInput
from stackling.volume.service import volumes as service


async def extend(call: Call, volume_id: str, arg: Any) -> Response:
    """os-extend: grow the volume (202)."""
    online = call.version.at_least("3.42")
    await service.extend(call.svc, call.ctx, volume_id, schemas.extend_size(arg), online)
    return call.reply(status=202)


async def reset_status(call: Call, volume_id: str, arg: Any) -> Response:
    """os-reset_status: set the status an admin names (202)."""
    if not isinstance(arg, dict) or not isinstance(arg.get("status"), str):
        raise InvalidInput("Must specify 'status'.")
    await service.reset_status(call.svc, call.ctx, volume_id, arg["status"].lower())
    return call.reply(status=202)


async def force_delete(call: Call, volume_id: str, arg: Any) -> Response:
    """os-force_delete: delete whatever the state (202)."""
    await service.force_delete(call.svc, call.ctx, volume_id)
    return call.reply(status=202)


async def set_bootable(call: Call, volume_id: str, arg: Any) -> Response:
    """os-set_bootable (200)."""
    if not isinstance(arg, dict) or "bootable" not in arg:
        raise InvalidInput("Must specify bootable in request.")
    bootable = schemas.boolean("bootable", arg["bootable"])
    await service.set_bootable(call.svc, call.ctx, volume_id, bootable)
    return call.reply(status=200)


HANDLERS: dict[str, Handler] = {
    "os-extend": extend,
    "os-reset_status": reset_status,
    "os-force_delete": force_delete,
    "os-set_bootable": set_bootable,
}
