"""Volume attachments, Cinder's new-style attach flow (3.27+), as Nova drives it.

create reserves the volume (or joins a multiattach one), update hands out the
connection_info for a host's connector, complete marks it attached, delete
frees it. Each step is one transaction that changes the volume's status with a
compare-and-set, so two creates racing for one volume cannot both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.volume import faults, states
from stackling.volume import models as m
from stackling.volume.service import policy, scope, transitions
from stackling.volume.service.core import VolumeService

MODES = ("rw", "ro")
# A multiattach volume takes another attachment in these; any other only when available.
_JOINABLE = (states.RESERVED, states.ATTACHING, states.IN_USE)
# QoS a host applies itself (Cinder hands back-end-only specs to nobody).
_FRONT_END = ("front-end", "both")


def not_found(attachment_id: str) -> errors.NotFound:
    """Cinder's VolumeAttachmentNotFound."""
    return errors.NotFound(
        f"Volume attachment could not be found with filter: attachment_id = {attachment_id}."
    )


def visible(ctx: RequestContext, *, all_projects: bool = True) -> ColumnElement[bool]:
    """SQL condition: attachments the caller may see (those of its project's volumes)."""
    if ctx.is_admin and all_projects:
        return true()
    if ctx.project_id is None:
        return false()
    return m.Attachment.project_id == ctx.project_id


def select_attachments(ctx: RequestContext, *, all_projects: bool) -> Select[tuple[m.Attachment]]:
    """SELECT of the attachments a list shows the caller."""
    return select(m.Attachment).where(visible(ctx, all_projects=all_projects))


async def _load(
    s: AsyncSession, ctx: RequestContext, attachment_id: str, *, for_update: bool = False
) -> m.Attachment:
    query = select(m.Attachment).where(visible(ctx), m.Attachment.id == attachment_id)
    if for_update:
        query = query.with_for_update()
    row = await s.scalar(query.execution_options(populate_existing=True))
    if row is None:
        raise not_found(attachment_id)
    return row


async def _set_status(s: AsyncSession, volume: m.Volume, target: str, **values: Any) -> None:
    """Compare-and-set the volume's status from what was read; a lost race is refused."""
    await transitions.compare_and_set(s, volume, target, refused=faults.InvalidVolume, **values)


async def for_volumes(s: AsyncSession, volume_ids: Sequence[str]) -> dict[str, list[m.Attachment]]:
    """The attachments of each volume, oldest first."""
    found: dict[str, list[m.Attachment]] = {vid: [] for vid in volume_ids}
    if volume_ids:
        query = (
            select(m.Attachment)
            .where(m.Attachment.volume_id.in_(list(volume_ids)))
            .order_by(m.Attachment.created_at, m.Attachment.id)
        )
        for row in await s.scalars(query):
            found[row.volume_id].append(row)
    return found


async def type_allows_multiattach(s: AsyncSession, vtype: m.VolumeType | None) -> bool:
    """Does the type's extra spec `multiattach="<is> True"` make its volumes multiattach?"""
    if vtype is None:
        return False
    value = await s.scalar(
        select(m.VolumeTypeExtraSpec.value).where(
            m.VolumeTypeExtraSpec.type_id == vtype.id, m.VolumeTypeExtraSpec.key == "multiattach"
        )
    )
    return value is not None and value.strip().lower() in ("<is> true", "true")


async def attachment_create(
    svc: VolumeService,
    ctx: RequestContext,
    volume_id: str,
    instance_uuid: str | None,
    connector: dict[str, Any] | None = None,
    mode: str = "rw",
) -> m.Attachment:
    """Reserve the volume for an instance: a new attachment in `reserved`."""
    if mode not in MODES:
        raise faults.InvalidInput(f"Invalid attach mode {mode!r}: it is rw or ro.")

    async def _do(s: AsyncSession) -> m.Attachment:
        volume = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, "volume:attachment_create", {"project_id": volume.project_id})
        if volume.status == states.AVAILABLE:
            target = states.RESERVED
        elif volume.multiattach and volume.status in _JOINABLE:
            target = volume.status
        else:
            wanted = "available or in-use" if volume.multiattach else "available or downloading"
            raise faults.InvalidVolume(
                f"Volume {volume.id} status must be {wanted} to reserve, "
                f"but the current status is {volume.status}."
            )
        mode_used = "ro" if volume.readonly else mode
        await _set_status(s, volume, target)
        row = m.Attachment(
            id=new_uuid(),
            volume_id=volume.id,
            project_id=volume.project_id,
            instance_uuid=instance_uuid,
            attach_mode=mode_used,
            attach_status=states.ATTACH_RESERVED,
        )
        s.add(row)
        await s.flush()
        return row

    row = await svc.tx(_do)
    if connector:
        await attachment_update(svc, ctx, row.id, connector)
        return await show(svc, ctx, row.id)
    return row


async def show(svc: VolumeService, ctx: RequestContext, attachment_id: str) -> m.Attachment:
    """One attachment the caller may see."""
    async with svc.db.session() as s:
        row = await _load(s, ctx, attachment_id)
    policy.enforce(ctx, "volume:attachment_get", {"project_id": row.project_id})
    return row


async def list_attachments(
    svc: VolumeService,
    ctx: RequestContext,
    *,
    all_projects: bool = False,
    volume_id: str | None = None,
    instance_id: str | None = None,
    status: str | None = None,
) -> list[m.Attachment]:
    """The attachments the caller may see, filtered as Cinder's list filters them."""
    policy.enforce(ctx, "volume:attachment_get_all", {"project_id": ctx.project_id})
    query = select_attachments(ctx, all_projects=all_projects)
    if volume_id is not None:
        query = query.where(m.Attachment.volume_id == volume_id)
    if instance_id is not None:
        query = query.where(m.Attachment.instance_uuid == instance_id)
    if status is not None:
        query = query.where(m.Attachment.attach_status == status)
    async with svc.db.session() as s:
        return list((await s.scalars(query.order_by(m.Attachment.created_at.desc()))).all())


async def _qos_specs(s: AsyncSession, volume: m.Volume) -> dict[str, str] | None:
    """The front-end QoS of the volume's type; None when it has none (as Cinder)."""
    if volume.volume_type_id is None:
        return None
    qos = await s.scalar(
        select(m.QosSpecs)
        .join(m.VolumeTypeQos, m.VolumeTypeQos.qos_id == m.QosSpecs.id)
        .where(m.VolumeTypeQos.type_id == volume.volume_type_id)
    )
    if qos is None or qos.consumer not in _FRONT_END:
        return None
    values = await s.scalars(select(m.QosSpecValue).where(m.QosSpecValue.qos_id == qos.id))
    return {v.key: v.value for v in values}


async def connection_info(
    svc: VolumeService, s: AsyncSession, volume: m.Volume, attachment_id: str, mode: str
) -> dict[str, Any]:
    """What a host opens: the backend's connection plus QoS, access mode and ids."""
    info = svc.backend.connection(volume.id)
    data = dict(info.get("data") or {})
    data["qos_specs"] = await _qos_specs(s, volume)
    data["access_mode"] = mode
    data["encrypted"] = False
    return {**info, "data": data, "attachment_id": attachment_id, "serial": volume.id}


async def attachment_update(
    svc: VolumeService, ctx: RequestContext, attachment_id: str, connector: dict[str, Any]
) -> dict[str, Any]:
    """Give a host's connector; the connection_info it should open (attachment attaching)."""
    if not isinstance(connector, dict) or not connector:
        raise faults.InvalidInput("The connector is an object describing the host.")

    async def _do(s: AsyncSession) -> dict[str, Any]:
        row = await _load(s, ctx, attachment_id, for_update=True)
        policy.enforce(ctx, "volume:attachment_update", {"project_id": row.project_id})
        volume = await scope.load_volume(s, ctx, row.volume_id, for_update=True)
        if volume.status not in _JOINABLE:
            raise faults.InvalidVolume(
                f"Volume {volume.id} status must be reserved, attaching or in-use "
                f"to update an attachment, but the current status is {volume.status}."
            )
        mode = "ro" if volume.readonly else row.attach_mode
        info = await connection_info(svc, s, volume, row.id, mode)
        row.connector = dict(connector)
        row.connection_info = info
        row.attached_host = connector.get("host")
        row.mountpoint = connector.get("mountpoint") or row.mountpoint
        row.attach_mode = mode
        if row.attach_status != states.ATTACH_ATTACHED:
            row.attach_status = states.ATTACH_ATTACHING
        row.updated_at = m.now()
        if volume.status == states.RESERVED:
            await _set_status(s, volume, states.ATTACHING)
        return info

    return await svc.tx(_do)


async def attachment_complete(svc: VolumeService, ctx: RequestContext, attachment_id: str) -> None:
    """The host has the volume: attachment attached, volume in-use."""

    async def _do(s: AsyncSession) -> None:
        row = await _load(s, ctx, attachment_id, for_update=True)
        policy.enforce(ctx, "volume:attachment_complete", {"project_id": row.project_id})
        volume = await scope.load_volume(s, ctx, row.volume_id, for_update=True)
        if row.attach_status == states.ATTACH_ATTACHED:
            return
        if volume.status not in _JOINABLE:
            raise faults.InvalidVolume(
                f"Volume {volume.id} status must be reserved, attaching or in-use "
                f"to complete an attachment, but the current status is {volume.status}."
            )
        row.attach_status = states.ATTACH_ATTACHED
        row.attach_time = m.now()
        row.updated_at = m.now()
        await _set_status(s, volume, states.IN_USE)

    await svc.tx(_do)


async def _status_after(s: AsyncSession, volume_id: str) -> str:
    """The volume's status from the attachments it has left."""
    left = (
        await s.scalars(
            select(m.Attachment.attach_status).where(m.Attachment.volume_id == volume_id)
        )
    ).all()
    if not left:
        return states.AVAILABLE
    if states.ATTACH_ATTACHED in left:
        return states.IN_USE
    return states.RESERVED


async def attachment_delete(svc: VolumeService, ctx: RequestContext, attachment_id: str) -> str:
    """Remove the attachment; the volume's status after (available when none is left)."""

    async def _do(s: AsyncSession) -> str:
        row = await _load(s, ctx, attachment_id, for_update=True)
        policy.enforce(ctx, "volume:attachment_delete", {"project_id": row.project_id})
        volume = await scope.load_volume(s, ctx, row.volume_id, for_update=True)
        await s.execute(delete(m.Attachment).where(m.Attachment.id == row.id))
        target = await _status_after(s, volume.id)
        # A volume the agent works on (deleting, extending) keeps its status.
        if volume.status in (*_JOINABLE, states.DETACHING, states.AVAILABLE):
            await _set_status(s, volume, target)
        return target

    return await svc.tx(_do)


async def _volume_step(
    svc: VolumeService,
    ctx: RequestContext,
    volume_id: str,
    action: str,
    moves: dict[str, str],
    refusal: str,
) -> None:
    """Compare-and-set a volume along `moves` (from -> to); InvalidVolume from elsewhere."""

    async def _do(s: AsyncSession) -> None:
        volume = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, action, {"project_id": volume.project_id})
        if volume.status not in moves:
            raise faults.InvalidVolume(refusal.format(id=volume.id, status=volume.status))
        await _set_status(s, volume, moves[volume.status])

    await svc.tx(_do)


async def begin_detaching(svc: VolumeService, ctx: RequestContext, volume_id: str) -> None:
    """An in-use volume is being detached (Cinder's os-begin_detaching)."""
    await _volume_step(
        svc,
        ctx,
        volume_id,
        "volume_extension:volume_actions:begin_detaching",
        {states.IN_USE: states.DETACHING},
        "Unable to detach volume. Volume status must be 'in-use' and attach_status must "
        "be 'attached' to detach.",
    )


async def _settle(
    svc: VolumeService, ctx: RequestContext, volume_id: str, action: str, status: str
) -> None:
    """A volume in `status` goes back to what its attachments say (a no-op from elsewhere)."""

    async def _do(s: AsyncSession) -> None:
        volume = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(ctx, action, {"project_id": volume.project_id})
        if volume.status == status:
            await _set_status(s, volume, await _status_after(s, volume.id))

    await svc.tx(_do)


async def roll_detaching(svc: VolumeService, ctx: RequestContext, volume_id: str) -> None:
    """A detach gave up: the volume is in-use again (a no-op from any other state)."""
    await _settle(
        svc, ctx, volume_id, "volume_extension:volume_actions:roll_detaching", states.DETACHING
    )


async def reserve(svc: VolumeService, ctx: RequestContext, volume_id: str) -> None:
    """Legacy os-reserve: available (or in-use, multiattach) -> attaching."""

    async def _do(s: AsyncSession) -> None:
        volume = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(
            ctx, "volume_extension:volume_actions:reserve", {"project_id": volume.project_id}
        )
        allowed = (states.AVAILABLE, states.IN_USE) if volume.multiattach else (states.AVAILABLE,)
        if volume.status not in allowed:
            wanted = " or ".join(allowed)
            raise faults.InvalidVolume(
                f"Volume {volume.id} status must be {wanted} to reserve, "
                f"but the current status is {volume.status}."
            )
        await _set_status(s, volume, states.ATTACHING)

    await svc.tx(_do)


async def unreserve(svc: VolumeService, ctx: RequestContext, volume_id: str) -> None:
    """Legacy os-unreserve: an attaching volume goes back to what its attachments say."""
    await _settle(
        svc, ctx, volume_id, "volume_extension:volume_actions:unreserve", states.ATTACHING
    )


async def attach_legacy(
    svc: VolumeService,
    ctx: RequestContext,
    volume_id: str,
    instance_uuid: str | None,
    mountpoint: str | None,
    mode: str,
    host_name: str | None = None,
) -> m.Attachment:
    """Legacy os-attach: an attached attachment at once; the volume in-use."""
    if mode not in MODES:
        raise faults.InvalidInput(f"Invalid attach mode {mode!r}: it is rw or ro.")

    async def _do(s: AsyncSession) -> m.Attachment:
        volume = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(
            ctx, "volume_extension:volume_actions:attach", {"project_id": volume.project_id}
        )
        allowed = (states.AVAILABLE, states.ATTACHING, states.RESERVED)
        if volume.multiattach:
            allowed = (*allowed, states.IN_USE)
        if volume.status not in allowed:
            raise faults.InvalidVolume(
                f"Volume {volume.id} status must be available or attaching to attach, "
                f"but the current status is {volume.status}."
            )
        if volume.readonly and mode == "rw":
            raise faults.InvalidVolume(
                f"Volume {volume.id} is read-only: it is attached in mode 'ro' only."
            )
        now = m.now()
        row = m.Attachment(
            id=new_uuid(),
            volume_id=volume.id,
            project_id=volume.project_id,
            instance_uuid=instance_uuid,
            attached_host=host_name,
            mountpoint=mountpoint,
            attach_mode=mode,
            attach_status=states.ATTACH_ATTACHED,
            attach_time=now,
        )
        s.add(row)
        await s.flush()
        await _set_status(s, volume, states.IN_USE)
        return row

    return await svc.tx(_do)


async def detach_legacy(
    svc: VolumeService, ctx: RequestContext, volume_id: str, attachment_id: str | None
) -> None:
    """Legacy os-detach: the named attachment (the only one when unnamed) is removed."""
    async with svc.db.session() as s:
        volume = await scope.load_volume(s, ctx, volume_id)
        policy.enforce(
            ctx, "volume_extension:volume_actions:detach", {"project_id": volume.project_id}
        )
        found = (await for_volumes(s, [volume.id]))[volume.id]
    if attachment_id is None:
        if not found:
            # As Cinder's manager: nothing to detach, so the volume is simply available.
            await settle_unattached(svc, volume_id)
            return
        if len(found) > 1:
            raise faults.InvalidVolume(
                "Volume has more than one attachment: attachment_id is required to detach."
            )
        attachment_id = found[0].id
    elif attachment_id not in {a.id for a in found}:
        raise not_found(attachment_id)
    await attachment_delete(svc, ctx, attachment_id)


async def settle_unattached(svc: VolumeService, volume_id: str) -> None:
    """A volume left with no attachment becomes available, whatever state it was put in."""

    async def _do(s: AsyncSession) -> None:
        volume = await s.get(m.Volume, volume_id, with_for_update=True)
        if volume is None or (await for_volumes(s, [volume_id]))[volume_id]:
            return
        if volume.status in (states.DELETING, states.CREATING, states.EXTENDING):
            return
        volume.status = states.AVAILABLE
        volume.updated_at = m.now()

    await svc.tx(_do)


async def initialize_connection(
    svc: VolumeService, ctx: RequestContext, volume_id: str, connector: dict[str, Any]
) -> dict[str, Any]:
    """Legacy os-initialize_connection: the connection_info for a connector, nothing stored."""
    async with svc.db.session() as s:
        volume = await scope.load_volume(s, ctx, volume_id)
        policy.enforce(
            ctx,
            "volume_extension:volume_actions:initialize_connection",
            {"project_id": volume.project_id},
        )
        info = await connection_info(svc, s, volume, "", "ro" if volume.readonly else "rw")
    info.pop("attachment_id", None)
    return info


async def terminate_connection(svc: VolumeService, ctx: RequestContext, volume_id: str) -> None:
    """Legacy os-terminate_connection: nothing to undo for file and fake backends."""
    async with svc.db.session() as s:
        volume = await scope.load_volume(s, ctx, volume_id)
        policy.enforce(
            ctx,
            "volume_extension:volume_actions:terminate_connection",
            {"project_id": volume.project_id},
        )


async def update_readonly(
    svc: VolumeService, ctx: RequestContext, volume_id: str, readonly: bool
) -> None:
    """os-update_readonly_flag: only while the volume is available."""

    async def _do(s: AsyncSession) -> None:
        volume = await scope.load_volume(s, ctx, volume_id, for_update=True)
        policy.enforce(
            ctx,
            "volume_extension:volume_actions:update_readonly_flag",
            {"project_id": volume.project_id},
        )
        if volume.status != states.AVAILABLE:
            raise faults.InvalidVolume(
                f"Volume {volume.id} status must be available to update readonly flag, "
                f"but the current status is {volume.status}."
            )
        await _set_status(s, volume, states.AVAILABLE, readonly=readonly)
        # Cinder keeps the flag as admin metadata that volume views show among the
        # metadata ("readonly": "True"/"False"); the column is what attaching reads.
        await s.execute(
            delete(m.VolumeMetadata).where(
                m.VolumeMetadata.volume_id == volume.id, m.VolumeMetadata.key == "readonly"
            )
        )
        s.add(m.VolumeMetadata(volume_id=volume.id, key="readonly", value=str(readonly)))

    await svc.tx(_do)
