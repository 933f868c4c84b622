"""Volume transfers: /os-volume-transfer (legacy) and /volume-transfers (3.55+)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume import models as m
from stackling.volume.api import schemas
from stackling.volume.api.deps import Body, Call, CallDep
from stackling.volume.api.views import when
from stackling.volume.service import transfers as service

router = APIRouter(tags=["transfers"])
LEGACY = "/os-volume-transfer"
CURRENT = "/volume-transfers"


def _links(call: Call, row: m.Transfer, path: str) -> list[dict[str, str]]:
    return [
        {"href": f"{call.root}/v3/{row.source_project_id}{path}/{row.id}", "rel": "self"},
        {"href": f"{call.root}/{row.source_project_id}{path}/{row.id}", "rel": "bookmark"},
    ]


def _summary(call: Call, row: m.Transfer, path: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "volume_id": row.volume_id,
        "links": _links(call, row, path),
    }


def _detail(call: Call, row: m.Transfer, path: str) -> dict[str, Any]:
    out = {**_summary(call, row, path), "created_at": when(row.created_at)}
    if call.version.at_least("3.57"):
        # An accepted transfer is gone from this cloud's table, so what is shown is pending.
        out["source_project_id"] = row.source_project_id
        out["destination_project_id"] = None
        out["accepted"] = False
    if call.version.at_least("3.55"):
        out["no_snapshots"] = row.no_snapshots
    return out


def _check_current(call: Call) -> None:
    if not call.version.at_least("3.55"):
        raise errors.NotFound("The resource could not be found.")


def _create_body(body: Any, *, current: bool) -> service.TransferCreate:
    inner = schemas.envelope(body, "transfer")
    volume_id = inner.get("volume_id")
    if not isinstance(volume_id, str) or not volume_id:
        raise schemas.invalid("volume_id", volume_id, "'volume_id' is a required property")
    name = schemas.text("name", inner.get("name"))
    if name is not None:
        name = name.strip()
    no_snapshots = False
    if current and "no_snapshots" in inner:
        no_snapshots = schemas.boolean("no_snapshots", inner["no_snapshots"])
    return service.TransferCreate(volume_id=volume_id, name=name, no_snapshots=no_snapshots)


def _auth_key(body: Any) -> str:
    inner = schemas.envelope(body, "accept")
    key = inner.get("auth_key")
    if not isinstance(key, str) or not key:
        raise schemas.invalid("auth_key", key, "'auth_key' is a required property")
    return key


async def _create(call: Call, body: Any, path: str) -> Response:
    created = await service.create(call.svc, call.ctx, _create_body(body, current=path == CURRENT))
    out = {**_detail(call, created.transfer, path), "auth_key": created.auth_key}
    return call.reply({"transfer": out}, status=202)


async def _list(call: Call, path: str, *, detail: bool) -> Response:
    params = call.params()
    all_projects = schemas.boolean("all_tenants", params.get("all_tenants", "false"))
    rows = await service.list_transfers(call.svc, call.ctx, all_projects=all_projects)
    view = _detail if detail else _summary
    return call.reply({"transfers": [view(call, row, path) for row in rows]})


async def _show(call: Call, transfer_id: str, path: str) -> Response:
    row = await service.show(call.svc, call.ctx, transfer_id)
    return call.reply({"transfer": _detail(call, row, path)})


async def _accept(call: Call, transfer_id: str, body: Any, path: str) -> Response:
    row = await service.accept(call.svc, call.ctx, transfer_id, _auth_key(body))
    return call.reply({"transfer": _summary(call, row, path)}, status=202)


async def _delete(call: Call, transfer_id: str) -> Response:
    await service.delete(call.svc, call.ctx, transfer_id)
    return call.reply(status=202)


@router.post(LEGACY)
async def create_legacy(call: CallDep, body: Body) -> Response:
    """Offer a volume; the answer carries the auth key, once (202)."""
    return await _create(call, body, LEGACY)


@router.get(LEGACY)
async def list_legacy(call: CallDep) -> Response:
    """The caller's transfers."""
    return await _list(call, LEGACY, detail=False)


@router.get(f"{LEGACY}/detail")
async def detail_legacy(call: CallDep) -> Response:
    """The caller's transfers, in detail."""
    return await _list(call, LEGACY, detail=True)


@router.get(f"{LEGACY}/{{transfer_id}}")
async def show_legacy(transfer_id: str, call: CallDep) -> Response:
    """One transfer."""
    return await _show(call, transfer_id, LEGACY)


@router.post(f"{LEGACY}/{{transfer_id}}/accept")
async def accept_legacy(transfer_id: str, call: CallDep, body: Body) -> Response:
    """Take the volume with the auth key (202)."""
    return await _accept(call, transfer_id, body, LEGACY)


@router.delete(f"{LEGACY}/{{transfer_id}}")
async def delete_legacy(transfer_id: str, call: CallDep) -> Response:
    """Withdraw a transfer (202)."""
    return await _delete(call, transfer_id)


@router.post(CURRENT)
async def create_current(call: CallDep, body: Body) -> Response:
    """Offer a volume, optionally without its snapshots (3.55; 202)."""
    _check_current(call)
    return await _create(call, body, CURRENT)


@router.get(CURRENT)
async def list_current(call: CallDep) -> Response:
    """The caller's transfers (3.55)."""
    _check_current(call)
    return await _list(call, CURRENT, detail=False)


@router.get(f"{CURRENT}/detail")
async def detail_current(call: CallDep) -> Response:
    """The caller's transfers, in detail (3.55)."""
    _check_current(call)
    return await _list(call, CURRENT, detail=True)


@router.get(f"{CURRENT}/{{transfer_id}}")
async def show_current(transfer_id: str, call: CallDep) -> Response:
    """One transfer (3.55)."""
    _check_current(call)
    return await _show(call, transfer_id, CURRENT)


@router.post(f"{CURRENT}/{{transfer_id}}/accept")
async def accept_current(transfer_id: str, call: CallDep, body: Body) -> Response:
    """Take the volume with the auth key (3.55; 202)."""
    _check_current(call)
    return await _accept(call, transfer_id, body, CURRENT)


@router.delete(f"{CURRENT}/{{transfer_id}}")
async def delete_current(transfer_id: str, call: CallDep) -> Response:
    """Withdraw a transfer (3.55; 202)."""
    _check_current(call)
    return await _delete(call, transfer_id)
