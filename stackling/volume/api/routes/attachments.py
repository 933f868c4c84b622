"""Volume attachments (3.27+): /attachments, /attachments/detail, /attachments/{id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api import attachment_views as views
from stackling.volume.api import schemas
from stackling.volume.api.deps import Body, Call, CallDep
from stackling.volume.faults import InvalidInput
from stackling.volume.service import attachments as service

router = APIRouter(tags=["attachments"])

_FILTERS = ("volume_id", "instance_id", "status")


def _since(call: Call, version: str) -> None:
    """Older microversions do not have the resource at all (Cinder's 404)."""
    if not call.version.at_least(version):
        raise errors.NotFound("The resource could not be found.")


def _attachment(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("attachment"), dict):
        raise InvalidInput("Unable to find 'attachment' in request body.")
    return dict(body["attachment"])


def _connector(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"Invalid connector {value!r}: it is an object.")
    return dict(value)


@router.post("/attachments")
async def create_attachment(call: CallDep, body: Body) -> Response:
    """Reserve a volume for an instance, and connect it when a connector is given (200)."""
    _since(call, "3.27")
    item = _attachment(body)
    volume_id = item.get("volume_uuid")
    if not isinstance(volume_id, str) or not volume_id:
        raise InvalidInput("Must specify 'volume_uuid'.")
    instance_uuid = item.get("instance_uuid")
    if instance_uuid is not None and not isinstance(instance_uuid, str):
        raise InvalidInput(f"Invalid instance_uuid {instance_uuid!r}.")
    mode = "rw"
    if "mode" in item and call.version.at_least("3.54"):
        mode = item["mode"]
        if mode not in service.MODES:
            raise InvalidInput("Invalid attachment mode: it is 'rw' or 'ro'.")
    row = await service.attachment_create(
        call.svc, call.ctx, volume_id, instance_uuid, _connector(item.get("connector")), mode
    )
    return call.reply({"attachment": views.detail(row)})


async def _list(call: Call, detailed: bool) -> Response:
    _since(call, "3.27")
    params = call.params()
    all_projects = call.ctx.is_admin and schemas.boolean(
        "all_tenants", params.get("all_tenants", "false")
    )
    filters = {key: params[key] for key in _FILTERS if key in params}
    rows = await service.list_attachments(call.svc, call.ctx, all_projects=all_projects, **filters)
    render = views.detail if detailed else views.summary
    return call.reply({"attachments": [render(r) for r in rows]})


@router.get("/attachments")
async def list_attachments(call: CallDep) -> Response:
    """Attachments in brief."""
    return await _list(call, detailed=False)


@router.get("/attachments/detail")
async def list_attachments_detail(call: CallDep) -> Response:
    """Attachments in full."""
    return await _list(call, detailed=True)


@router.get("/attachments/{attachment_id}")
async def show_attachment(call: CallDep, attachment_id: str) -> Response:
    """One attachment."""
    _since(call, "3.27")
    row = await service.show(call.svc, call.ctx, attachment_id)
    return call.reply({"attachment": views.detail(row)})


@router.put("/attachments/{attachment_id}")
async def update_attachment(call: CallDep, attachment_id: str, body: Body) -> Response:
    """Give the host's connector; the attachment with its connection_info."""
    _since(call, "3.27")
    connector = _connector(_attachment(body).get("connector"))
    if not connector:
        raise InvalidInput("Must specify 'connector'.")
    await service.attachment_update(call.svc, call.ctx, attachment_id, connector)
    row = await service.show(call.svc, call.ctx, attachment_id)
    return call.reply({"attachment": views.detail(row)})


@router.post("/attachments/{attachment_id}/action")
async def attachment_action(call: CallDep, attachment_id: str, body: Body) -> Response:
    """os-complete (3.44): the host has the volume (204)."""
    _since(call, "3.44")
    if not isinstance(body, dict) or list(body) != ["os-complete"]:
        raise InvalidInput("There is no such action: only os-complete is.")
    await service.attachment_complete(call.svc, call.ctx, attachment_id)
    return call.reply(status=204)


@router.delete("/attachments/{attachment_id}")
async def delete_attachment(call: CallDep, attachment_id: str) -> Response:
    """Remove the attachment (200 with Cinder's empty attachments list)."""
    _since(call, "3.27")
    await service.attachment_delete(call.svc, call.ctx, attachment_id)
    return call.reply({"attachments": []})
