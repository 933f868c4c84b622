"""Volume actions on the volume alone: extend, reset status, force delete, set bootable."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from stackling.volume.api import schemas
from stackling.volume.api.deps import Call
from stackling.volume.api.routes.action_types import Handler
from stackling.volume.faults import InvalidInput
from stackling.volume.service import volume_admin
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
    bootable = schemas.action_flag(arg, "bootable")
    await service.set_bootable(call.svc, call.ctx, volume_id, bootable)
    return call.reply(status=200)


async def retype(call: Call, volume_id: str, arg: Any) -> Response:
    """os-retype: another type for the volume (202); no data moves on one backend."""
    if not isinstance(arg, dict) or not isinstance(arg.get("new_type"), str):
        raise InvalidInput("New volume type must be specified.")
    policy_name = arg.get("migration_policy") or "never"
    await volume_admin.retype(call.svc, call.ctx, volume_id, arg["new_type"], str(policy_name))
    return call.reply(status=202)


async def force_detach(call: Call, volume_id: str, arg: Any) -> Response:
    """os-force_detach: drop an attachment, or all, whatever the host did (admin, 202)."""
    attachment_id = arg.get("attachment_id") if isinstance(arg, dict) else None
    if attachment_id is not None and not isinstance(attachment_id, str):
        raise InvalidInput("attachment_id must be a string.")
    await volume_admin.force_detach(call.svc, call.ctx, volume_id, attachment_id)
    return call.reply(status=202)


HANDLERS: dict[str, Handler] = {
    "os-retype": retype,
    "os-force_detach": force_detach,
    "os-extend": extend,
    "os-reset_status": reset_status,
    "os-force_delete": force_delete,
    "os-set_bootable": set_bootable,
}
