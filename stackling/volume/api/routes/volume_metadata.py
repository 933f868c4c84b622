"""Volume metadata: GET/POST/PUT /volumes/{id}/metadata and GET/PUT/DELETE of one key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api import schemas
from stackling.volume.api.deps import Body, CallDep
from stackling.volume.faults import InvalidInput
from stackling.volume.service import volume_metadata as service

router = APIRouter(tags=["volume metadata"])
BASE = "/volumes/{volume_id}/metadata"


def _metadata(body: Any) -> dict[str, str]:
    if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
        raise InvalidInput("Malformed request body: 'metadata' must be an object.")
    return schemas.metadata("metadata", body["metadata"])


@router.get(BASE)
async def show_metadata(volume_id: str, call: CallDep) -> Response:
    """Every key."""
    return call.reply({"metadata": await service.show(call.svc, call.ctx, volume_id)})


@router.post(BASE)
async def merge_metadata(volume_id: str, call: CallDep, body: Body) -> Response:
    """Add or change the keys given; the whole metadata after."""
    found = await service.write(call.svc, call.ctx, volume_id, _metadata(body), replace=False)
    return call.reply({"metadata": found})


@router.put(BASE)
async def replace_metadata(volume_id: str, call: CallDep, body: Body) -> Response:
    """Replace the whole metadata with the keys given."""
    found = await service.write(call.svc, call.ctx, volume_id, _metadata(body), replace=True)
    return call.reply({"metadata": found})


@router.get(BASE + "/{key}")
async def show_item(volume_id: str, key: str, call: CallDep) -> Response:
    """One key, as {"meta": {key: value}}."""
    found = await service.show(call.svc, call.ctx, volume_id)
    if key not in found:
        raise errors.NotFound(f"Metadata key {key} could not be found for volume {volume_id}.")
    return call.reply({"meta": {key: found[key]}})


@router.put(BASE + "/{key}")
async def set_item(volume_id: str, key: str, call: CallDep, body: Body) -> Response:
    """Set one key: the body is {"meta": {key: value}} with exactly that key."""
    meta = body.get("meta") if isinstance(body, dict) else None
    if not isinstance(meta, dict) or len(meta) != 1:
        raise InvalidInput("Malformed request body: 'meta' must hold exactly one key.")
    if key not in meta:
        raise InvalidInput("Request body and URI mismatch")
    items = schemas.metadata("meta", meta)
    await service.write(call.svc, call.ctx, volume_id, items, replace=False)
    return call.reply({"meta": items})


@router.delete(BASE + "/{key}")
async def delete_item(volume_id: str, key: str, call: CallDep) -> Response:
    """Remove one key (200, as Cinder)."""
    await service.delete_key(call.svc, call.ctx, volume_id, key)
    return call.reply(status=200)
