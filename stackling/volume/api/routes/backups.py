"""Volume backups: /backups, their restore, and the admin's reset, force delete, export, import."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api import backup_views as views
from stackling.volume.api import schemas
from stackling.volume.api.deps import Body, Call, CallDep
from stackling.volume.api.views import collection
from stackling.volume.service import backup_records, listing
from stackling.volume.service import backups as service

router = APIRouter(tags=["backups"])
PATH = "/backups"


def _container(value: Any) -> str | None:
    """A container names one directory of the target: no slashes, no leading dot."""
    found = schemas.text("container", value)
    if found is not None and (not found or "/" in found or "\\" in found or found[0] == "."):
        raise schemas.invalid("container", value, "A container is one name without '/'.")
    return found


def _uuid(attr: str, value: Any, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise schemas.invalid(attr, value, f"'{attr}' is a required property")
    return value


def _create_body(call: Call, body: Any) -> service.BackupCreate:
    inner = schemas.envelope(body, "backup")
    metadata: dict[str, str] = {}
    # Metadata came with 3.43; earlier microversions ignore it, as Cinder's schema did.
    if call.version.at_least("3.43") and inner.get("metadata") is not None:
        metadata = schemas.metadata("metadata", inner["metadata"])
    return service.BackupCreate(
        volume_id=str(_uuid("volume_id", inner.get("volume_id"), required=True)),
        container=_container(inner.get("container")),
        name=schemas.text("name", inner.get("name")),
        description=schemas.text("description", inner.get("description")),
        incremental=schemas.boolean("incremental", inner.get("incremental", False)),
        force=schemas.boolean("force", inner.get("force", False)),
        snapshot_id=_uuid("snapshot_id", inner.get("snapshot_id"), required=False),
        metadata=metadata,
    )


def _update_body(call: Call, body: Any) -> dict[str, Any]:
    inner = schemas.envelope(body, "backup")
    allowed = {"name", "description"} | ({"metadata"} if call.version.at_least("3.43") else set())
    unknown = sorted(set(inner) - allowed)
    if unknown:
        raise errors.BadRequest(
            f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
            "were unexpected)"
        )
    changes: dict[str, Any] = {}
    for key in ("name", "description"):
        if key in inner:
            changes[key] = schemas.text(key, inner[key])
    if "metadata" in inner:
        changes["metadata"] = schemas.metadata("metadata", inner["metadata"])
    return changes


def _restore_body(body: Any) -> tuple[str | None, str | None]:
    inner = schemas.envelope(body, "restore")
    volume_id = _uuid("volume_id", inner.get("volume_id"), required=False)
    return volume_id, schemas.text("name", inner.get("name"))


async def _list(call: CallDep, *, detail: bool) -> Response:
    q = listing.parse(
        service.LISTING,
        call.params(),
        is_admin=call.ctx.is_admin,
        max_limit=call.svc.conf.osapi_max_limit,
    )
    if not call.version.at_least("3.45"):
        q.with_count = False
    recs, count = await service.list_backups(call.svc, call.ctx, q)
    view = views.detail if detail else views.summary
    items = [view(call, rec) for rec in recs]
    return call.reply(collection(call, "backups", items, q.limit, count))


@router.post(PATH)
async def create(call: CallDep, body: Body) -> Response:
    """Back a volume (or one of its snapshots) up, in full or incrementally (202)."""
    rec = await service.create(call.svc, call.ctx, _create_body(call, body))
    return call.reply({"backup": views.summary(call, rec)}, status=202)


@router.get(PATH)
async def list_backups(call: CallDep) -> Response:
    """The caller's backups: id, name, links."""
    return await _list(call, detail=False)


@router.get(f"{PATH}/detail")
async def list_detail(call: CallDep) -> Response:
    """The caller's backups in full."""
    return await _list(call, detail=True)


@router.get(f"{PATH}/{{backup_id}}")
async def show(backup_id: str, call: CallDep) -> Response:
    """One backup."""
    rec = await service.show(call.svc, call.ctx, backup_id)
    return call.reply({"backup": views.detail(call, rec)})


@router.put(f"{PATH}/{{backup_id}}")
async def update(backup_id: str, call: CallDep, body: Body) -> Response:
    """Rename or describe a backup (3.9), or set its metadata (3.43)."""
    if not call.version.at_least("3.9"):
        raise errors.NotFound("The resource could not be found.")
    rec = await service.update(call.svc, call.ctx, backup_id, _update_body(call, body))
    # Cinder answers an update with the summary only, as its schema requires.
    return call.reply({"backup": views.summary(call, rec)})


@router.delete(f"{PATH}/{{backup_id}}")
async def delete(backup_id: str, call: CallDep) -> Response:
    """Delete a backup that no incremental backup builds on (202)."""
    await service.delete_backup(call.svc, call.ctx, backup_id)
    return call.reply(status=202)


@router.post(f"{PATH}/{{backup_id}}/restore")
async def restore(backup_id: str, call: CallDep, body: Body) -> Response:
    """Restore into the volume named, or into a new one (202)."""
    volume_id, name = _restore_body(body)
    result = await service.restore(call.svc, call.ctx, backup_id, volume_id, name)
    return call.reply(views.restore(result), status=202)


@router.post(f"{PATH}/{{backup_id}}/action")
async def action(backup_id: str, call: CallDep, body: Body) -> Response:
    """The admin's os-reset_status and os-force_delete (202)."""
    name, arg = schemas.action(body)
    if name == "os-reset_status":
        if not isinstance(arg, dict) or not isinstance(arg.get("status"), str):
            raise schemas.invalid("status", arg, "'status' is a required property")
        await service.reset_status(call.svc, call.ctx, backup_id, arg["status"].lower())
    elif name == "os-force_delete":
        await service.delete_backup(call.svc, call.ctx, backup_id, force=True)
    else:
        raise errors.BadRequest(f"There is no such action: {name}")
    return call.reply(status=202)


@router.get(f"{PATH}/{{backup_id}}/export_record")
async def export_record(backup_id: str, call: CallDep) -> Response:
    """An available backup as a portable record (admin)."""
    found = await backup_records.export_record(call.svc, call.ctx, backup_id)
    record = {"backup_service": found.backup_service, "backup_url": found.backup_url}
    return call.reply({"backup-record": record})


@router.post(f"{PATH}/import_record")
async def import_record(call: CallDep, body: Body) -> Response:
    """A backup row from an exported record (admin, 201)."""
    inner = schemas.envelope(body, "backup-record")
    fields = {}
    for key in ("backup_service", "backup_url"):
        value = inner.get(key)
        if not isinstance(value, str) or not value:
            raise schemas.invalid(key, value, f"'{key}' is a required property")
        fields[key] = value
    rec = await backup_records.import_record(
        call.svc, call.ctx, fields["backup_service"], fields["backup_url"]
    )
    return call.reply({"backup": views.summary(call, rec)}, status=201)
