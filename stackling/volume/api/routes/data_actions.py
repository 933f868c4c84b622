"""Volume actions on the volume's data: upload to image, image metadata, revert, retype."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from stackling.common import errors
from stackling.volume.api import schemas
from stackling.volume.api.deps import Call
from stackling.volume.api.routes.action_types import Handler
from stackling.volume.api.views import when
from stackling.volume.faults import InvalidInput
from stackling.volume.service import image_metadata, snapshots, uploads

# Formats a volume may be uploaded as (Cinder's list, less ploop, which qemu-img cannot write).
DISK_FORMATS = ("raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx")
CONTAINER_FORMATS = ("bare",)
VISIBILITIES = ("public", "private", "shared", "community")


def _choice(attr: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(
            f"Invalid {attr} {value!r} is specified. Allowed values are {', '.join(allowed)}."
        )
    return str(value)


def upload_request(call: Call, arg: Any) -> uploads.UploadRequest:
    """The checked body of os-volume_upload_image (visibility and protected from 3.1)."""
    if not isinstance(arg, dict):
        raise InvalidInput("os-volume_upload_image must be an object.")
    if not arg.get("image_name"):
        raise InvalidInput("No image_name was specified in request.")
    name = schemas.text("image_name", arg["image_name"], nullable=False)
    req = uploads.UploadRequest(
        image_name=str(name),
        force=schemas.boolean("force", arg.get("force", False)),
        disk_format=_choice("disk_format", arg.get("disk_format", "raw"), DISK_FORMATS),
        container_format=_choice(
            "container_format", arg.get("container_format", "bare"), CONTAINER_FORMATS
        ),
    )
    if call.version.at_least("3.1"):
        # Cinder's defaults from 3.1: a private, unprotected image.
        req.visibility = _choice("visibility", arg.get("visibility", "private"), VISIBILITIES)
        req.protected = schemas.boolean("protected", arg.get("protected", False))
    return req


async def upload_image(call: Call, volume_id: str, arg: Any) -> Response:
    """os-volume_upload_image: a new image receiving the volume's data (202)."""
    started = await uploads.upload_to_image(
        call.svc, call.ctx, volume_id, upload_request(call, arg)
    )
    v, t, image = started.volume, started.volume_type, started.image
    out: dict[str, Any] = {
        "id": v.id,
        "updated_at": when(v.updated_at),
        "status": v.status,
        "display_description": v.description,
        "size": v.size,
        "volume_type": None
        if t is None
        else {"id": t.id, "name": t.name, "description": t.description, "is_public": t.is_public},
        "image_id": image.id,
        "container_format": image.container_format,
        "disk_format": image.disk_format,
        "image_name": image.name,
    }
    if call.version.at_least("3.1"):
        out["visibility"] = image.visibility
        out["protected"] = image.protected
    return call.reply({"os-volume_upload_image": out}, status=202)


async def show_image_metadata(call: Call, volume_id: str, arg: Any) -> Response:
    """os-show_image_metadata: the volume's image metadata (200)."""
    found = await image_metadata.show(call.svc, call.ctx, volume_id)
    return call.reply({"metadata": found})


async def set_image_metadata(call: Call, volume_id: str, arg: Any) -> Response:
    """os-set_image_metadata: add or replace keys (200, all keys after)."""
    if not isinstance(arg, dict) or "metadata" not in arg:
        raise InvalidInput("Malformed request body: 'metadata' is required.")
    wanted = schemas.metadata("metadata", arg["metadata"])
    found = await image_metadata.set_keys(call.svc, call.ctx, volume_id, wanted)
    return call.reply({"metadata": found})


async def unset_image_metadata(call: Call, volume_id: str, arg: Any) -> Response:
    """os-unset_image_metadata: remove one key (200, no body)."""
    if not isinstance(arg, dict) or not isinstance(arg.get("key"), str) or not arg["key"]:
        raise InvalidInput("Malformed request body: 'key' is required.")
    await image_metadata.unset_key(call.svc, call.ctx, volume_id, arg["key"])
    return call.reply(status=200)


async def revert(call: Call, volume_id: str, arg: Any) -> Response:
    """revert (3.40): the volume back to its latest snapshot (202)."""
    if not call.version.at_least("3.40"):
        raise errors.BadRequest("There is no such action: revert")
    if not isinstance(arg, dict) or not isinstance(arg.get("snapshot_id"), str):
        raise InvalidInput("Must specify 'snapshot_id'.")
    await snapshots.revert(call.svc, call.ctx, volume_id, arg["snapshot_id"])
    return call.reply(status=202)


HANDLERS: dict[str, Handler] = {
    "revert": revert,
    "os-volume_upload_image": upload_image,
    "os-show_image_metadata": show_image_metadata,
    "os-set_image_metadata": set_image_metadata,
    "os-unset_image_metadata": unset_image_metadata,
}
