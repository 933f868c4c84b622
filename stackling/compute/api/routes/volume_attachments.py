"""os-volume_attachments: the volumes of a server, attached and detached while it lives."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Microversion
from stackling.compute.api.reply import reply
from stackling.compute.service import volume_attachments as service

router = APIRouter(tags=["compute-volume-attachments"])

S = V21 + "/servers/{server_id}/os-volume_attachments"


@router.get(S)
async def list_volume_attachments(
    server_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """The server's volumes."""
    found = await service.list_attachments(svc, ctx, server_id, mv)
    return reply(mv, {"volumeAttachments": found})


@router.get(S + "/{volume_id}")
async def show_volume_attachment(
    server_id: str, volume_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One volume of the server."""
    found = await service.show_attachment(svc, ctx, server_id, volume_id, mv)
    return reply(mv, {"volumeAttachment": found})


@router.post(S)
async def attach_volume(
    server_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Attach a volume to the server."""
    found = await service.attach(svc, ctx, server_id, data, mv)
    return reply(mv, {"volumeAttachment": found})


@router.put(S + "/{volume_id}")
async def update_volume_attachment(
    server_id: str, volume_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Change delete_on_termination (2.85); swapping volumes is refused."""
    await service.set_delete_on_termination(svc, ctx, server_id, volume_id, data, mv)
    return reply(mv, None, 202)


@router.delete(S + "/{volume_id}")
async def detach_volume(
    server_id: str, volume_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Detach a volume from the server."""
    await service.detach(svc, ctx, server_id, volume_id)
    return reply(mv, None, 202)
