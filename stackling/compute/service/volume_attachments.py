"""os-volume_attachments: volumes attached to a server, and attached or detached while it lives.

The API checks what Nova checks (state, lock, the volume, the device asked
for), has the volume service reserve the volume (an attachment, created with
a compare-and-set, so two servers racing for one volume cannot both win),
records the block device mapping, then asks the server's host to connect and
plug the disk. A failed attach leaves the volume available and no mapping.
"""

from __future__ import annotations

import contextlib
import logging
import re
import string
import uuid as uuidlib
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.bus.base import BusTimeout, NoConsumer
from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute.faults import InvalidState
from stackling.compute.service import access, actions, checks, history
from stackling.compute.service.core import ComputeService, host_topic
from stackling.volume.service import attachments as cinder
from stackling.volume.service import volumes as cinder_volumes

LOG = logging.getLogger(__name__)

# Plugging a disk waits for libvirt (and, to unplug, for the guest).
HOST_CALL_TIMEOUT_S = 120.0
_TAG_MAX = 60
# Nova's schema for a requested device name (it is then ignored, as libvirt picks).
_DEVICE = re.compile(r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$")
_FAULTS: dict[int, type[errors.StacklingError]] = {
    400: errors.BadRequest,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
}


def _volume_svc(svc: ComputeService) -> Any:
    if not svc.has_peer("volume"):
        raise errors.NotFound("The block storage service is not available in this cloud.")
    return svc.peer("volume")


def view(bdm: m.BlockDeviceMapping, mv: Version) -> dict[str, Any]:
    """Nova's volumeAttachment for a mapping."""
    body: dict[str, Any] = {
        "device": bdm.device_name,
        "serverId": bdm.instance_uuid,
        "volumeId": bdm.volume_id,
    }
    if mv.at_least("2.89"):
        body["attachment_id"] = bdm.attachment_id
        body["bdm_uuid"] = bdm.uuid
    else:
        body["id"] = bdm.volume_id
    if mv.at_least("2.70"):
        body["tag"] = bdm.tag
    if mv.at_least("2.79"):
        body["delete_on_termination"] = bdm.delete_on_termination
    return body


async def mappings(s: AsyncSession, uuid: str) -> list[m.BlockDeviceMapping]:
    """A server's volume mappings, in attach order."""
    query = (
        select(m.BlockDeviceMapping)
        .where(
            m.BlockDeviceMapping.instance_uuid == uuid,
            m.BlockDeviceMapping.destination_type == "volume",
            m.BlockDeviceMapping.volume_id.is_not(None),
        )
        .order_by(m.BlockDeviceMapping.created_at, m.BlockDeviceMapping.uuid)
    )
    return list((await s.scalars(query)).all())


async def list_attachments(
    svc: ComputeService, ctx: RequestContext, uuid: str, mv: Version
) -> list[dict[str, Any]]:
    """The server's volumes."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        await access.load_instance(s, ctx, uuid)
        return [view(b, mv) for b in await mappings(s, uuid)]


def _not_attached(volume_id: str) -> errors.NotFound:
    return errors.NotFound(f"No volume Block Device Mapping with id {volume_id}.")


async def show_attachment(
    svc: ComputeService, ctx: RequestContext, uuid: str, volume_id: str, mv: Version
) -> dict[str, Any]:
    """One volume of the server; 404 when it is not attached to it."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        await access.load_instance(s, ctx, uuid)
        for bdm in await mappings(s, uuid):
            if bdm.volume_id == volume_id:
                return view(bdm, mv)
    raise _not_attached(volume_id)


def _uuid(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise checks.invalid(field, value, f"{value!r} is not of type 'string'")
    try:
        uuidlib.UUID(value)
    except ValueError:
        raise checks.invalid(field, value, f"'{value}' is not a 'uuid'") from None
    return value


def parse_attach(body: Any, mv: Version) -> tuple[str, str | None, bool]:
    """(volume id, tag, delete_on_termination) of a POST body, checked as Nova's schema."""
    data = checks.obj(body, "body")
    checks.only(data, ("volumeAttachment",), "body")
    checks.required(data, ("volumeAttachment",), "body")
    item = checks.obj(data["volumeAttachment"], "volumeAttachment")
    allowed = ["volumeId", "device"]
    if mv.at_least("2.49"):
        allowed.append("tag")
    if mv.at_least("2.79"):
        allowed.append("delete_on_termination")
    checks.only(item, allowed, "volumeAttachment")
    checks.required(item, ("volumeId",), "volumeAttachment")
    volume_id = _uuid(item["volumeId"], "volumeId")
    device = item.get("device")
    if device is not None and (not isinstance(device, str) or not _DEVICE.match(device)):
        raise checks.invalid("device", device, f"{device!r} does not match a device name")
    tag = None
    if "tag" in item:
        tag = checks.string(item["tag"], "tag", min_length=1, max_length=_TAG_MAX)
        if "/" in tag or "," in tag:
            raise checks.invalid("tag", tag, "A tag has no '/' or ','.")
    remove = False
    if "delete_on_termination" in item:
        remove = checks.boolean(item["delete_on_termination"], "delete_on_termination")
    return volume_id, tag, remove


def next_device(used: set[str]) -> str:
    """The first free virtio disk name after the root's: /dev/vdb, /dev/vdc, ..."""
    names = [f"/dev/vd{c}" for c in string.ascii_lowercase[1:]]
    names += [f"/dev/vd{a}{b}" for a in string.ascii_lowercase for b in string.ascii_lowercase]
    for name in names:
        if name not in used:
            return name
    raise errors.BadRequest("No free disk device names for prefix 'vd'")


def _checked(instance: m.Instance, ctx: RequestContext, action: str) -> None:
    actions.check_lock(ctx, instance)
    actions.check_state(instance, action)
    if instance.host is None:
        raise InvalidState(action, instance.uuid, "vm_state", instance.vm_state)


async def _ask_host(svc: ComputeService, instance: m.Instance, message: dict[str, Any]) -> Any:
    """A call to the server's host; its fault (status and message) raised here."""
    host = instance.host or ""
    try:
        answer = await svc.bus.call(
            host_topic(host), {"instance": instance.uuid, **message}, HOST_CALL_TIMEOUT_S
        )
    except (BusTimeout, NoConsumer):
        raise errors.Conflict(
            f"The compute host {host} of instance {instance.uuid} is not answering."
        ) from None
    if isinstance(answer, dict) and "fault" in answer:
        fault = answer["fault"]
        raise _FAULTS.get(int(fault.get("status", 500)), errors.StacklingError)(
            str(fault.get("message") or "")
        )
    return answer


def service_context(instance: m.Instance) -> RequestContext:
    """How compute speaks to the volume service for a server (Nova's service user)."""
    return RequestContext(
        request_id=f"req-{new_uuid()}",
        user_id=instance.user_id,
        project_id=instance.project_id,
        roles=frozenset({"admin", "member", "reader"}),
    )


async def undo_attach(svc: ComputeService, instance: m.Instance, bdm_uuid: str) -> None:
    """Give a failed attach back: no attachment (the volume available), no mapping."""
    async with svc.db.session() as s:
        bdm = await s.get(m.BlockDeviceMapping, bdm_uuid)
        attachment_id = bdm.attachment_id if bdm is not None else None
    if attachment_id is not None:
        with contextlib.suppress(errors.NotFound):
            await cinder.attachment_delete(
                _volume_svc(svc), service_context(instance), attachment_id
            )

    async def _drop(s: AsyncSession) -> None:
        await s.execute(delete(m.BlockDeviceMapping).where(m.BlockDeviceMapping.uuid == bdm_uuid))

    await svc.tx(_drop)


async def attach(
    svc: ComputeService, ctx: RequestContext, uuid: str, body: Any, mv: Version
) -> dict[str, Any]:
    """Attach a volume to a server; the new volumeAttachment."""
    volume_id, tag, remove = parse_attach(body, mv)
    access.require_member(ctx)
    async with svc.db.session() as s:
        instance = await access.load_instance(s, ctx, uuid)
        _checked(instance, ctx, "attach_volume")
        if any(b.volume_id == volume_id for b in await mappings(s, uuid)):
            raise errors.BadRequest(f"Invalid volume: volume {volume_id} already attached")
    vsvc = _volume_svc(svc)
    try:
        volume = (await cinder_volumes.show(vsvc, ctx, volume_id)).volume
    except errors.NotFound:
        raise errors.NotFound(f"Volume {volume_id} could not be found.") from None
    if volume.multiattach and not mv.at_least("2.60"):
        raise errors.BadRequest(
            "Multiattach volumes are only supported starting with compute API version 2.60."
        )
    attachment = await cinder.attachment_create(vsvc, ctx, volume_id, uuid)

    async def _record(s: AsyncSession) -> m.BlockDeviceMapping:
        row = await access.load_instance(s, ctx, uuid, for_update=True)
        _checked(row, ctx, "attach_volume")
        existing = await mappings(s, uuid)
        if any(b.volume_id == volume_id for b in existing):
            raise errors.BadRequest(f"Invalid volume: volume {volume_id} already attached")
        used = {b.device_name for b in existing if b.device_name}
        used.add(row.root_device_name or "/dev/vda")
        bdm = m.BlockDeviceMapping(
            uuid=new_uuid(),
            instance_uuid=uuid,
            source_type="volume",
            destination_type="volume",
            volume_id=volume_id,
            attachment_id=attachment.id,
            volume_size=volume.size,
            device_name=next_device(used),
            disk_bus="virtio",
            device_type="disk",
            delete_on_termination=remove,
            tag=tag,
        )
        s.add(bdm)
        history.start_action(s, ctx, row, "attach_volume")
        await s.flush()
        return bdm

    try:
        bdm = await svc.tx(_record)
    except BaseException:
        await cinder.attachment_delete(vsvc, ctx, attachment.id)
        raise
    try:
        await _ask_host(svc, instance, {"call": "attach_volume", "bdm": bdm.uuid})
    except BaseException:
        await undo_attach(svc, instance, bdm.uuid)
        raise
    return view(bdm, mv)


async def detach(svc: ComputeService, ctx: RequestContext, uuid: str, volume_id: str) -> None:
    """Detach a (non-root) volume from a server: the volume detaching, then the host unplugs."""
    access.require_member(ctx)
    vsvc = _volume_svc(svc)

    async def _check(s: AsyncSession) -> m.Instance:
        instance = await access.load_instance(s, ctx, uuid)
        _checked(instance, ctx, "detach_volume")
        found = [b for b in await mappings(s, uuid) if b.volume_id == volume_id]
        if not found:
            raise _not_attached(volume_id)
        if found[0].boot_index == 0:
            raise errors.BadRequest("Cannot detach a root device volume")
        history.start_action(s, ctx, instance, "detach_volume")
        return instance

    instance = await svc.tx(_check)
    await cinder.begin_detaching(vsvc, service_context(instance), volume_id)
    try:
        await _ask_host(svc, instance, {"call": "detach_volume", "volume_id": volume_id})
    except errors.StacklingError as exc:
        if exc.status == 409 and "not answering" in exc.message:
            await cinder.roll_detaching(vsvc, service_context(instance), volume_id)
            raise
        # As Nova's: the request was accepted; the host recorded why it failed.
        LOG.warning("detaching %s from %s failed: %s", volume_id, uuid, exc)


async def set_delete_on_termination(
    svc: ComputeService, ctx: RequestContext, uuid: str, volume_id: str, body: Any, mv: Version
) -> None:
    """PUT (2.85): change delete_on_termination; swapping volumes is not offered."""
    access.require_member(ctx)
    data = checks.obj(body, "body")
    checks.only(data, ("volumeAttachment",), "body")
    checks.required(data, ("volumeAttachment",), "body")
    item = checks.obj(data["volumeAttachment"], "volumeAttachment")
    checks.required(item, ("volumeId",), "volumeAttachment")
    new_volume = _uuid(item["volumeId"], "volumeId")
    if new_volume != volume_id:
        raise errors.Conflict("Swapping volumes is not supported by this cloud.")
    if not mv.at_least("2.85"):
        raise errors.BadRequest("The volume was not swapped: the same volume is attached.")
    allowed = ["volumeId", "device", "id", "serverId", "tag", "delete_on_termination"]
    checks.only(item, allowed, "volumeAttachment")
    remove = None
    if "delete_on_termination" in item:
        remove = checks.boolean(item["delete_on_termination"], "delete_on_termination")

    async def _do(s: AsyncSession) -> None:
        instance = await access.load_instance(s, ctx, uuid)
        actions.check_lock(ctx, instance)
        found = [b for b in await mappings(s, uuid) if b.volume_id == volume_id]
        if not found:
            raise _not_attached(volume_id)
        if remove is not None:
            found[0].delete_on_termination = remove

    await svc.tx(_do)
