"""Volume actions of attaching: reserve, attach, detach, connections, readonly."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from stackling.volume.api import schemas
from stackling.volume.api.deps import Call
from stackling.volume.api.routes.action_types import Handler
from stackling.volume.faults import InvalidInput
from stackling.volume.service import attachments as service


def _connector(arg: Any) -> dict[str, Any]:
    if not isinstance(arg, dict) or not isinstance(arg.get("connector"), dict):
        raise InvalidInput("Must specify 'connector'.")
    return dict(arg["connector"])


async def reserve(call: Call, volume_id: str, arg: Any) -> Response:
    """os-reserve: the volume is about to be attached (202)."""
    await service.reserve(call.svc, call.ctx, volume_id)
    return call.reply(status=202)


async def unreserve(call: Call, volume_id: str, arg: Any) -> Response:
    """os-unreserve: the attach was abandoned (202)."""
    await service.unreserve(call.svc, call.ctx, volume_id)
    return call.reply(status=202)


async def begin_detaching(call: Call, volume_id: str, arg: Any) -> Response:
    """os-begin_detaching: in-use -> detaching (202)."""
    await service.begin_detaching(call.svc, call.ctx, volume_id)
    return call.reply(status=202)


async def roll_detaching(call: Call, volume_id: str, arg: Any) -> Response:
    """os-roll_detaching: detaching -> in-use (202)."""
    await service.roll_detaching(call.svc, call.ctx, volume_id)
    return call.reply(status=202)


async def attach(call: Call, volume_id: str, arg: Any) -> Response:
    """os-attach: record the volume attached to an instance or a host (202)."""
    if not isinstance(arg, dict):
        raise InvalidInput("Must specify 'instance_uuid' or 'host_name'.")
    instance_uuid, host_name = arg.get("instance_uuid"), arg.get("host_name")
    if instance_uuid is None and host_name is None:
        raise InvalidInput("Must specify 'instance_uuid' or 'host_name'.")
    if instance_uuid is not None and not isinstance(instance_uuid, str):
        raise InvalidInput(f"Invalid instance_uuid {instance_uuid!r}.")
    mountpoint = arg.get("mountpoint")
    if mountpoint is not None and not isinstance(mountpoint, str):
        raise InvalidInput(f"Invalid mountpoint {mountpoint!r}.")
    mode = arg.get("mode", "rw")
    if mode not in service.MODES:
        raise InvalidInput("Invalid attaching mode: it is 'rw' or 'ro'.")
    await service.attach_legacy(
        call.svc,
        call.ctx,
        volume_id,
        instance_uuid,
        mountpoint,
        mode,
        host_name if isinstance(host_name, str) else None,
    )
    return call.reply(status=202)


async def detach(call: Call, volume_id: str, arg: Any) -> Response:
    """os-detach: remove an attachment (the only one when unnamed) (202)."""
    attachment_id = arg.get("attachment_id") if isinstance(arg, dict) else None
    if attachment_id is not None and not isinstance(attachment_id, str):
        raise InvalidInput(f"Invalid attachment_id {attachment_id!r}.")
    await service.detach_legacy(call.svc, call.ctx, volume_id, attachment_id)
    return call.reply(status=202)


async def initialize_connection(call: Call, volume_id: str, arg: Any) -> Response:
    """os-initialize_connection: what a host with this connector opens (200)."""
    info = await service.initialize_connection(call.svc, call.ctx, volume_id, _connector(arg))
    return call.reply({"connection_info": info}, status=200)


async def terminate_connection(call: Call, volume_id: str, arg: Any) -> Response:
    """os-terminate_connection: the host is done with the volume (202)."""
    _connector(arg)
    await service.terminate_connection(call.svc, call.ctx, volume_id)
    return call.reply(status=202)


async def update_readonly_flag(call: Call, volume_id: str, arg: Any) -> Response:
    """os-update_readonly_flag: available volumes only (202)."""
    readonly = schemas.action_flag(arg, "readonly")
    await service.update_readonly(call.svc, call.ctx, volume_id, readonly)
    return call.reply(status=202)


HANDLERS: dict[str, Handler] = {
    "os-reserve": reserve,
    "os-unreserve": unreserve,
    "os-begin_detaching": begin_detaching,
    "os-roll_detaching": roll_detaching,
    "os-attach": attach,
    "os-detach": detach,
    "os-initialize_connection": initialize_connection,
    "os-terminate_connection": terminate_connection,
    "os-update_readonly_flag": update_readonly_flag,
}
