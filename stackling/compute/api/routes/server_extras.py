"""What hangs off a server: metadata, tags, IPs, interfaces, instance actions, diagnostics."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.compute.api import views
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Microversion
from stackling.compute.api.reply import reply
from stackling.compute.service import host_calls, interfaces, server_meta, servers

router = APIRouter(tags=["compute-server-extras"])

S = V21 + "/servers/{server_id}"


@router.get(S + "/metadata")
async def list_metadata(
    server_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """All metadata of a server."""
    return reply(mv, {"metadata": await server_meta.get_metadata(svc, ctx, server_id)})


@router.post(S + "/metadata")
async def merge_metadata(
    server_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Add or change metadata keys."""
    merged = await server_meta.set_metadata(
        svc, ctx, server_id, data.get("metadata"), replace=False
    )
    return reply(mv, {"metadata": merged})


@router.put(S + "/metadata")
async def replace_metadata(
    server_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Replace all metadata."""
    result = await server_meta.set_metadata(svc, ctx, server_id, data.get("metadata"), replace=True)
    return reply(mv, {"metadata": result})


@router.get(S + "/metadata/{key}")
async def show_metadata_item(
    server_id: str, key: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One metadata item."""
    value = await server_meta.get_item(svc, ctx, server_id, key)
    return reply(mv, {"meta": {key: value}})


@router.put(S + "/metadata/{key}")
async def set_metadata_item(
    server_id: str, key: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Set one metadata item (the body names exactly that key)."""
    meta = data.get("meta")
    if not isinstance(meta, dict) or len(meta) != 1:
        raise errors.BadRequest("Request body and URI mismatch")
    if key not in meta:
        raise errors.BadRequest("Request body and URI mismatch")
    await server_meta.set_metadata(svc, ctx, server_id, meta, replace=False)
    return reply(mv, {"meta": meta})


@router.delete(S + "/metadata/{key}")
async def delete_metadata_item(
    server_id: str, key: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Remove one metadata item."""
    await server_meta.delete_item(svc, ctx, server_id, key)
    return reply(mv, None, 204)


def _require_tags(mv: Any) -> None:
    if not mv.at_least("2.26"):
        raise errors.NotFound("The resource could not be found.")


@router.get(S + "/tags")
async def list_tags(server_id: str, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """A server's tags (2.26)."""
    _require_tags(mv)
    return reply(mv, {"tags": await server_meta.get_tags(svc, ctx, server_id)})


@router.put(S + "/tags")
async def replace_tags(
    server_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Replace a server's tags."""
    _require_tags(mv)
    return reply(mv, {"tags": await server_meta.set_tags(svc, ctx, server_id, data.get("tags"))})


@router.delete(S + "/tags")
async def delete_all_tags(
    server_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Remove every tag."""
    _require_tags(mv)
    await server_meta.delete_tags(svc, ctx, server_id)
    return reply(mv, None, 204)


@router.get(S + "/tags/{tag}")
async def check_tag(
    server_id: str, tag: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """204 when the server has the tag, else 404."""
    _require_tags(mv)
    await server_meta.has_tag(svc, ctx, server_id, tag)
    return reply(mv, None, 204)


@router.put(S + "/tags/{tag}")
async def add_tag(
    server_id: str, tag: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Add one tag (201 when new, 204 when it was there)."""
    _require_tags(mv)
    before = await server_meta.get_tags(svc, ctx, server_id)
    await server_meta.set_tags(svc, ctx, server_id, [tag], add_one=True)
    # Headers are latin-1: a tag may hold any character, so the URL carries it escaped.
    location = f"/compute/v2.1/servers/{server_id}/tags/{quote(tag, safe='')}"
    return reply(mv, None, 204 if tag in before else 201, {"Location": location})


@router.delete(S + "/tags/{tag}")
async def delete_tag(
    server_id: str, tag: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Remove one tag."""
    _require_tags(mv)
    await server_meta.delete_tags(svc, ctx, server_id, tag)
    return reply(mv, None, 204)


@router.get(S + "/ips")
async def list_ips(server_id: str, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """The server's addresses by network."""
    record = await servers.show(svc, ctx, server_id)
    return reply(mv, {"addresses": views.addresses(record.instance)})


@router.get(S + "/ips/{network}")
async def show_ips(
    server_id: str, network: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """The server's addresses on one network."""
    record = await servers.show(svc, ctx, server_id)
    found = views.addresses(record.instance)
    if network not in found:
        raise errors.NotFound("Instance is not a member of specified network")
    return reply(mv, {network: found[network]})


@router.get(S + "/os-interface")
async def list_interfaces(
    server_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """The server's ports."""
    found = await interfaces.list_interfaces(svc, ctx, server_id, mv)
    return reply(mv, {"interfaceAttachments": found})


@router.get(S + "/os-interface/{port_id}")
async def show_interface(
    server_id: str, port_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One port of the server."""
    found = await interfaces.show_interface(svc, ctx, server_id, port_id, mv)
    return reply(mv, {"interfaceAttachment": found})


@router.post(S + "/os-interface")
async def attach_interface(
    server_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Hot-plug a port (given, or made on a network) into the server."""
    found = await interfaces.attach(svc, ctx, server_id, data, mv)
    return reply(mv, {"interfaceAttachment": found})


@router.delete(S + "/os-interface/{port_id}")
async def detach_interface(
    server_id: str, port_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Unplug a port from the server."""
    await interfaces.detach(svc, ctx, server_id, port_id)
    return reply(mv, None, 202)


def _action_view(action: Any, mv: Any) -> dict[str, Any]:
    body = {
        "action": action.action,
        "instance_uuid": action.instance_uuid,
        "request_id": action.request_id,
        "user_id": action.user_id,
        "project_id": action.project_id,
        "start_time": views.usage_time(action.start_time),
        "message": action.message,
    }
    if mv.at_least("2.58"):
        body["updated_at"] = views.usage_time(action.updated_at)
    return body


@router.get(S + "/os-instance-actions")
async def list_instance_actions(
    server_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """What was done to a server, newest first."""
    rows = await server_meta.instance_actions(svc, ctx, server_id)
    return reply(mv, {"instanceActions": [_action_view(a, mv) for a in rows]})


@router.get(S + "/os-instance-actions/{request_id}")
async def show_instance_action(
    server_id: str, request_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One action with its events."""
    action, events = await server_meta.instance_action(svc, ctx, server_id, request_id)
    body = _action_view(action, mv)
    body["events"] = [
        {
            "event": e.event,
            "start_time": views.usage_time(e.start_time),
            "finish_time": views.usage_time(e.finish_time),
            "result": e.result,
            **({"traceback": e.traceback} if ctx.is_admin else {}),
            **(
                {"host": e.host, "hostId": views.host_id(action.project_id, e.host)}
                if mv.at_least("2.62")
                else {}
            ),
            **({"details": e.details} if mv.at_least("2.84") else {}),
        }
        for e in events
    ]
    return reply(mv, {"instanceAction": body})


@router.get(S + "/diagnostics")
async def diagnostics(server_id: str, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """Hypervisor statistics of a server (admin)."""
    return reply(mv, await host_calls.diagnostics(svc, ctx, server_id))
