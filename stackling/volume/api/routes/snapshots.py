"""Snapshots: /snapshots, /snapshots/detail, /snapshots/{id}, its metadata and actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api import schemas, snapshot_views, views
from stackling.volume.api.deps import Body, CallDep
from stackling.volume.faults import InvalidInput
from stackling.volume.service import listing
from stackling.volume.service import snapshots as service

router = APIRouter(tags=["snapshots"])


def _create_body(call: CallDep, body: Any) -> service.SnapshotCreate:
    snap = schemas.envelope(body, "snapshot")
    if "volume_id" not in snap:
        raise errors.BadRequest("Invalid input received: 'volume_id' is a required property.")
    if snap["volume_id"] is None:
        # Cinder looks a null id up like any other, and finds no volume.
        raise errors.NotFound("Volume None could not be found.")
    if not isinstance(snap["volume_id"], str):
        raise errors.BadRequest("Invalid input received: 'volume_id' must be a string.")
    force = schemas.boolean("force", snap.get("force", False))
    if call.version.at_least("3.66") and "force" in snap and not force:
        # 3.66 dropped the flag: snapshots of in-use volumes need no force, and
        # asking for force=false is refused rather than silently ignored.
        raise InvalidInput("The 'force' flag is not supported (it may only be true) since 3.66.")
    return service.SnapshotCreate(
        volume_id=snap["volume_id"],
        name=schemas.text("name", snap.get("name", snap.get("display_name"))),
        description=schemas.text(
            "description",
            snap.get("description", snap.get("display_description")),
            max_len=65535,
        ),
        metadata=schemas.metadata("metadata", snap["metadata"]) if snap.get("metadata") else {},
        allow_in_use=force or call.version.at_least("3.66"),
    )


@router.post("/snapshots")
async def create_snapshot(call: CallDep, body: Body) -> Response:
    """Record a snapshot in `creating`; the agent makes it (202)."""
    rec = await service.create(call.svc, call.ctx, _create_body(call, body))
    return call.reply({"snapshot": snapshot_views.detail(call, rec, extended=False)}, status=202)


async def _list(call: CallDep, detailed: bool) -> Response:
    q = listing.parse(
        service.LISTING,
        call.params(),
        is_admin=call.ctx.is_admin,
        max_limit=call.svc.conf.osapi_max_limit,
    )
    if q.with_count and not call.version.at_least("3.45"):
        raise InvalidInput("Invalid filters with_count are found in query options.")
    records, count = await service.list_snapshots(call.svc, call.ctx, q)
    items = [
        snapshot_views.detail(call, rec) if detailed else snapshot_views.summary(call, rec)
        for rec in records
    ]
    return call.reply(views.collection(call, "snapshots", items, q.limit, count))


@router.get("/snapshots")
async def list_snapshots(call: CallDep) -> Response:
    """Snapshots in brief."""
    return await _list(call, detailed=False)


@router.get("/snapshots/detail")
async def list_snapshots_detail(call: CallDep) -> Response:
    """Snapshots in full."""
    return await _list(call, detailed=True)


@router.get("/snapshots/{snapshot_id}")
async def show_snapshot(snapshot_id: str, call: CallDep) -> Response:
    """One snapshot."""
    rec = await service.show(call.svc, call.ctx, snapshot_id)
    return call.reply({"snapshot": snapshot_views.detail(call, rec)})


@router.put("/snapshots/{snapshot_id}")
async def update_snapshot(snapshot_id: str, call: CallDep, body: Body) -> Response:
    """Rename or describe a snapshot."""
    snap = schemas.envelope(body, "snapshot")
    changes: dict[str, Any] = {}
    for key, legacy in (("name", "display_name"), ("description", "display_description")):
        for attr in (key, legacy):
            if attr in snap:
                limit = 255 if key == "name" else 65535
                changes[key] = schemas.text(attr, snap[attr], max_len=limit)
    if not changes:
        raise errors.BadRequest("Invalid input received: Specify name or description to update.")
    rec = await service.update(call.svc, call.ctx, snapshot_id, changes)
    return call.reply({"snapshot": snapshot_views.detail(call, rec, extended=False)})


@router.delete("/snapshots/{snapshot_id}")
async def delete_snapshot(snapshot_id: str, call: CallDep) -> Response:
    """Start deleting a snapshot (202)."""
    await service.delete_snapshot(call.svc, call.ctx, snapshot_id)
    return call.reply(status=202)


def _status_update(arg: Any) -> tuple[str, str | None]:
    """{"status", "progress"?}: progress is a whole percentage written as "80%"."""
    if not isinstance(arg, dict) or not isinstance(arg.get("status"), str):
        raise schemas.invalid("status", arg, "'status' is a required property")
    progress = arg.get("progress")
    if progress is None or progress == "":
        return arg["status"], None
    digits = progress[:-1] if isinstance(progress, str) else ""
    if not (digits.isdigit() and progress.endswith("%") and int(digits) <= 100):
        raise errors.BadRequest("progress must be an integer percentage")
    return arg["status"], progress


@router.post("/snapshots/{snapshot_id}/action")
async def snapshot_action(snapshot_id: str, call: CallDep, body: Body) -> Response:
    """os-reset_status, os-force_delete (admin) or os-update_snapshot_status (202)."""
    name, arg = schemas.action(body)
    if name == "os-reset_status":
        if not isinstance(arg, dict) or not isinstance(arg.get("status"), str):
            raise InvalidInput("Must specify 'status'.")
        await service.reset_status(call.svc, call.ctx, snapshot_id, arg["status"].lower())
    elif name == "os-force_delete":
        await service.delete_snapshot(call.svc, call.ctx, snapshot_id, force=True)
    elif name == "os-update_snapshot_status":
        status, progress = _status_update(arg)
        await service.update_status(call.svc, call.ctx, snapshot_id, status, progress)
    else:
        raise errors.BadRequest(f"There is no such action: {name}")
    return call.reply(status=202)


@router.get("/snapshots/{snapshot_id}/metadata")
async def show_metadata(snapshot_id: str, call: CallDep) -> Response:
    """All of a snapshot's metadata."""
    found = await service.get_metadata(call.svc, call.ctx, snapshot_id)
    return call.reply({"metadata": found})


def _metadata_body(body: Any) -> dict[str, str]:
    if not isinstance(body, dict) or "metadata" not in body:
        raise errors.BadRequest("Malformed request body")
    return schemas.metadata("metadata", body["metadata"])


@router.post("/snapshots/{snapshot_id}/metadata")
async def merge_metadata(snapshot_id: str, call: CallDep, body: Body) -> Response:
    """Add or change keys; all of the metadata after."""
    found = await service.set_metadata(
        call.svc, call.ctx, snapshot_id, _metadata_body(body), replace=False
    )
    return call.reply({"metadata": found})


@router.put("/snapshots/{snapshot_id}/metadata")
async def replace_metadata(snapshot_id: str, call: CallDep, body: Body) -> Response:
    """Replace all of the metadata."""
    found = await service.set_metadata(
        call.svc, call.ctx, snapshot_id, _metadata_body(body), replace=True
    )
    return call.reply({"metadata": found})


@router.get("/snapshots/{snapshot_id}/metadata/{key}")
async def show_metadata_item(snapshot_id: str, key: str, call: CallDep) -> Response:
    """One key of the metadata."""
    value = await service.get_metadata_item(call.svc, call.ctx, snapshot_id, key)
    return call.reply({"meta": {key: value}})


@router.put("/snapshots/{snapshot_id}/metadata/{key}")
async def set_metadata_item(snapshot_id: str, key: str, call: CallDep, body: Body) -> Response:
    """Set one key: the body is {"meta": {key: value}}."""
    meta = body.get("meta") if isinstance(body, dict) else None
    if not isinstance(meta, dict) or not meta:
        raise errors.BadRequest("Malformed request body")
    if len(meta) > 1:
        raise errors.BadRequest("Request body contains too many items")
    if key not in meta:
        raise errors.BadRequest("Request body and URI mismatch")
    item = schemas.metadata("meta", meta)
    await service.set_metadata(call.svc, call.ctx, snapshot_id, item, replace=False)
    return call.reply({"meta": item})


@router.delete("/snapshots/{snapshot_id}/metadata/{key}")
async def delete_metadata_item(snapshot_id: str, key: str, call: CallDep) -> Response:
    """Remove one key (200, no body, as Cinder)."""
    await service.delete_metadata_item(call.svc, call.ctx, snapshot_id, key)
    return call.reply(status=200)
