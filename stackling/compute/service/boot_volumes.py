"""Boot from volume at the API: the mappings checked against the volume service, then recorded.

Nova checks each volume a boot names before the server exists: it must be
visible to the caller and available, and an image or snapshot the host will
make a volume from must exist. The server's image properties come from the
boot volume's image metadata (what Cinder kept of the image it was made from),
and the server shows no image. The host makes the missing volumes, attaches
them and boots from the one with boot_index 0.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.compute import models as m
from stackling.compute.service.block_devices import BdmRequest, invalid
from stackling.compute.service.core import ComputeService

# Image metadata keys Cinder keeps that are not image properties.
_IMAGE_FIELDS = {
    "image_id", "image_name", "checksum", "container_format", "disk_format", "min_disk",
    "min_ram", "size",
}  # fmt: skip


@dataclass(slots=True)
class CheckedBoot:
    """What the API learned from a boot's mappings: image meta and the device each gets."""

    image_meta: dict[str, Any]
    devices: list[tuple[BdmRequest, str]]


def _devices(bdms: list[BdmRequest]) -> list[tuple[BdmRequest, str]]:
    """Each mapping with its guest device: the root is vda, the others follow in order."""
    names = iter(f"vd{chr(c)}" for c in range(ord("b"), ord("z") + 1))
    ordered = sorted(bdms, key=lambda b: (b.boot_index is None, b.boot_index or 0))
    return [(b, "vda" if b.is_root else next(names)) for b in ordered]


def meta_from_volume(image_metadata: dict[str, str], volume_id: str) -> dict[str, Any]:
    """Nova's image meta for a server booted from a volume made from an image."""

    def _int(key: str) -> int:
        try:
            return int(image_metadata.get(key) or 0)
        except ValueError:
            return 0

    return {
        "id": "",
        "name": image_metadata.get("image_name", ""),
        "disk_format": image_metadata.get("disk_format") or "qcow2",
        "container_format": image_metadata.get("container_format") or "bare",
        "min_ram": _int("min_ram"),
        "min_disk": _int("min_disk"),
        "size": _int("size"),
        "virtual_size": None,
        "properties": {k: v for k, v in image_metadata.items() if k not in _IMAGE_FIELDS},
        "boot_volume_id": volume_id,
    }


async def check(
    svc: ComputeService,
    ctx: RequestContext,
    bdms: list[BdmRequest],
    count: int,
    image_meta_of: Any,
) -> CheckedBoot:
    """400 in Nova's words for a mapping that cannot be had; the image meta of the root.

    `image_meta_of(image_id)` gives the meta of an image the caller may boot (or 400).
    """
    if not svc.has_peer("volume"):
        raise invalid("this cloud has no block storage service.")
    from stackling.volume.service import volumes as volume_api

    vsvc = svc.peer("volume")
    meta: dict[str, Any] | None = None
    for bdm in bdms:
        if bdm.source_type == "volume":
            if count > 1:
                raise errors.BadRequest("Cannot attach one or more volumes to multiple instances")
            try:
                rec = await volume_api.show(vsvc, ctx, bdm.uuid or "")
            except errors.NotFound:
                raise invalid(f"failed to get volume {bdm.uuid}.") from None
            volume = rec.volume
            if volume.status != "available":
                raise errors.BadRequest(
                    f"Invalid volume: volume '{volume.id}' status must be 'available'. "
                    f"Currently in '{volume.status}'"
                )
            if bdm.is_root:
                meta = meta_from_volume(getattr(rec, "image_metadata", {}) or {}, volume.id)
        elif bdm.source_type == "image":
            image_meta = await image_meta_of(bdm.uuid)
            needed = max(image_meta["size"] or 0, image_meta["virtual_size"] or 0)
            if bdm.volume_size and needed > bdm.volume_size * (1 << 30):
                raise errors.BadRequest(
                    f"Volume is smaller than the minimum size specified in image metadata. "
                    f"Volume size is {bdm.volume_size * (1 << 30)} bytes, minimum size is "
                    f"{needed} bytes."
                )
            if bdm.is_root:
                meta = dict(image_meta)
        elif bdm.source_type == "snapshot":
            await _check_snapshot(vsvc, ctx, bdm)
    if meta is None:
        meta = meta_from_volume({}, "")
    return CheckedBoot(image_meta=meta, devices=_devices(bdms))


async def _check_snapshot(vsvc: Any, ctx: RequestContext, bdm: BdmRequest) -> None:
    """The snapshot a volume is to be made from exists and is available."""
    try:
        from stackling.volume.service import snapshots as snapshot_api
    except ImportError:  # pragma: no cover - snapshots arrive with the volume service
        raise invalid("volumes from snapshots are not supported.") from None
    try:
        rec = await snapshot_api.show(vsvc, ctx, bdm.uuid or "")
    except errors.NotFound:
        raise invalid(f"failed to get snapshot {bdm.uuid}.") from None
    snapshot = getattr(rec, "snapshot", rec)
    if snapshot.status != "available":
        raise invalid(f"snapshot {bdm.uuid} is not available.")


def needs_reservation(checked: CheckedBoot | None) -> bool:
    """Does the boot name existing volumes, to be reserved before the server is recorded?"""
    return checked is not None and any(b.source_type == "volume" for b, _ in checked.devices)


async def reserve(
    svc: ComputeService, ctx: RequestContext, checked: CheckedBoot, instance_uuid: str
) -> dict[str, str]:
    """Reserve each existing volume for the new server, as Nova's API does; volume -> attachment.

    Two boots racing for one volume: the volume service lets one reserve it and
    refuses the other (400), before either server exists.
    """
    from stackling.volume.service import attachments as cinder

    reserved: dict[str, str] = {}
    try:
        for bdm, _ in checked.devices:
            if bdm.source_type == "volume" and bdm.uuid:
                vsvc = svc.peer("volume")
                att = await cinder.attachment_create(vsvc, ctx, bdm.uuid, instance_uuid)
                reserved[bdm.uuid] = att.id
    except BaseException:
        await unreserve(svc, ctx, reserved)
        raise
    return reserved


async def unreserve(svc: ComputeService, ctx: RequestContext, reserved: dict[str, str]) -> None:
    """Give back reservations of a boot that did not happen."""
    from stackling.volume.service import attachments as cinder

    for attachment_id in reserved.values():
        with contextlib.suppress(errors.NotFound):
            await cinder.attachment_delete(svc.peer("volume"), ctx, attachment_id)


def add_rows(
    s: AsyncSession, instance_uuid: str, checked: CheckedBoot, reserved: dict[str, str]
) -> None:
    """One BlockDeviceMapping per volume mapping of a new server (in its create transaction)."""
    for bdm, device in checked.devices:
        s.add(
            m.BlockDeviceMapping(
                uuid=new_uuid(),
                instance_uuid=instance_uuid,
                source_type=bdm.source_type,
                destination_type="volume",
                volume_id=bdm.uuid if bdm.source_type == "volume" else None,
                attachment_id=reserved.get(bdm.uuid or "") if bdm.source_type == "volume" else None,
                image_id=bdm.uuid if bdm.source_type == "image" else None,
                snapshot_id=bdm.uuid if bdm.source_type == "snapshot" else None,
                volume_size=bdm.volume_size,
                volume_type=bdm.volume_type,
                device_name=f"/dev/{device}",
                disk_bus=bdm.disk_bus or "virtio",
                device_type=bdm.device_type or "disk",
                boot_index=bdm.boot_index,
                delete_on_termination=bdm.delete_on_termination,
                tag=bdm.tag,
            )
        )
