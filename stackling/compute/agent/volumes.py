"""Volumes plugged into a server's guest, and out of it, on the host it runs on.

Attach: the host's connector goes to the volume service, which answers with
what to open; the driver plugs the disk; the attachment is completed and the
connection kept on the mapping. Detach runs the other way. A failure is
recorded as an instance fault and answered as a fault the API raises. A crash
between the steps leaves a mapping whose attachment is not `attached`: start-up
finishes it when the disk is plugged, else gives it back (see `recover`).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.compute import models as m
from stackling.compute import states
from stackling.compute.drivers.base import DriverError, InstanceNotFound, VolumeSpec
from stackling.compute.service import history
from stackling.compute.service.volume_attachments import mappings, service_context, undo_attach
from stackling.volume import states as volume_states
from stackling.volume.service import attachments as cinder
from stackling.volume.service import volumes as cinder_volumes

if TYPE_CHECKING:
    from stackling.compute.agent.agent import ComputeAgent

LOG = logging.getLogger(__name__)

# Cinder's front-end QoS keys that libvirt's <iotune> takes as they are.
IOTUNE_KEYS = (
    "total_bytes_sec",
    "read_bytes_sec",
    "write_bytes_sec",
    "total_iops_sec",
    "read_iops_sec",
    "write_iops_sec",
)


def fault(exc: errors.StacklingError) -> dict[str, Any]:
    """The answer that carries an error back to the API."""
    return {"fault": {"status": exc.status, "message": exc.message}}


def connector(agent: ComputeAgent, device: str | None) -> dict[str, Any]:
    """What this host tells the volume service about itself (os-brick's connector)."""
    return {
        "host": agent.host,
        "ip": "127.0.0.1",
        "initiator": None,
        "platform": "x86_64",
        "os_type": "linux",
        "multipath": False,
        "mountpoint": device,
    }


def volume_spec(bdm: m.BlockDeviceMapping, info: dict[str, Any]) -> VolumeSpec:
    """The driver's view of a mapped volume, from the connection_info it was given."""
    data = info.get("data") or {}
    qos = data.get("qos_specs") or {}
    iotune = {}
    for key in IOTUNE_KEYS:
        with contextlib.suppress(TypeError, ValueError):
            if key in qos and int(qos[key]) > 0:
                iotune[key] = int(qos[key])
    return VolumeSpec(
        volume_id=str(bdm.volume_id),
        target_dev=(bdm.device_name or "").removeprefix("/dev/"),
        kind=str(info.get("driver_volume_type") or "file"),
        path=str(data.get("device_path") or ""),
        format=str(data.get("format") or "raw"),
        bus=bdm.disk_bus or "virtio",
        readonly=data.get("access_mode") == "ro",
        iotune=iotune,
        boot_index=bdm.boot_index,
    )


def specs(bdms: list[m.BlockDeviceMapping]) -> tuple[VolumeSpec, ...]:
    """The disks a guest is built with: its mappings that have a connection."""
    return tuple(volume_spec(b, b.connection_info) for b in bdms if b.connection_info)


async def instance_volumes(agent: ComputeAgent, uuid: str) -> tuple[VolumeSpec, ...]:
    """The connected volumes of an instance, for its spec."""
    async with agent.svc.db.session() as s:
        return specs(await mappings(s, uuid))


async def _live(agent: ComputeAgent, uuid: str) -> m.Instance | None:
    async with agent.svc.db.session() as s:
        return await s.scalar(
            select(m.Instance).where(
                m.Instance.uuid == uuid,
                m.Instance.deleted.is_(False),
                m.Instance.host == agent.host,
            )
        )


async def _record_failure(
    agent: ComputeAgent, instance: m.Instance, event: str, error: BaseException
) -> None:
    async def _do(s: AsyncSession) -> None:
        history.add_fault(s, instance.uuid, str(error), host=agent.host)
        await history.record_event(s, instance.uuid, event, agent.host, error=error)

    await agent.svc.tx(_do)


async def _connect(
    agent: ComputeAgent, instance: m.Instance, bdm: m.BlockDeviceMapping
) -> dict[str, Any]:
    """Connect and plug one mapping's volume, then complete its attachment."""
    vsvc = agent.svc.peer("volume")
    ctx = service_context(instance)
    info = await cinder.attachment_update(
        vsvc, ctx, str(bdm.attachment_id), connector(agent, bdm.device_name)
    )

    async def _keep(s: AsyncSession) -> None:
        row = await s.get(m.BlockDeviceMapping, bdm.uuid)
        if row is not None:
            row.connection_info = info

    await agent.svc.tx(_keep)
    try:
        await agent.driver.attach_volume(instance.uuid, volume_spec(bdm, info))
    except InstanceNotFound:
        LOG.info(
            "instance %s has no domain: volume %s is plugged at spawn", instance.uuid, bdm.volume_id
        )
    await cinder.attachment_complete(vsvc, ctx, str(bdm.attachment_id))

    async def _event(s: AsyncSession) -> None:
        await history.record_event(s, instance.uuid, "compute_attach_volume", agent.host)

    await agent.svc.tx(_event)
    return info


async def attach(agent: ComputeAgent, uuid: str, bdm_uuid: str) -> dict[str, Any]:
    """Plug a mapped volume into the guest; {} or a fault (the API then undoes the mapping)."""
    instance = await _live(agent, uuid)
    if instance is None:
        return fault(errors.NotFound(f"Instance {uuid} could not be found."))
    async with agent.svc.db.session() as s:
        bdm = await s.get(m.BlockDeviceMapping, bdm_uuid)
    if bdm is None or bdm.attachment_id is None:
        return fault(errors.NotFound(f"No volume Block Device Mapping with id {bdm_uuid}."))
    try:
        await _connect(agent, instance, bdm)
    except errors.StacklingError as exc:
        await _record_failure(agent, instance, "compute_attach_volume", exc)
        return fault(exc)
    except DriverError as exc:
        LOG.warning("attaching volume %s to %s failed: %s", bdm.volume_id, uuid, exc)
        await _record_failure(agent, instance, "compute_attach_volume", exc)
        with contextlib.suppress(DriverError, InstanceNotFound):
            await agent.driver.detach_volume(uuid, volume_spec(bdm, bdm.connection_info or {}))
        return fault(errors.StacklingError(f"Failed to attach volume {bdm.volume_id} to {uuid}"))
    return {}


async def _forget(agent: ComputeAgent, instance: m.Instance, bdm: m.BlockDeviceMapping) -> None:
    """The attachment deleted (the volume available or in-use), then the mapping."""
    if bdm.attachment_id is not None:
        with contextlib.suppress(errors.NotFound):
            await cinder.attachment_delete(
                agent.svc.peer("volume"), service_context(instance), bdm.attachment_id
            )

    async def _drop(s: AsyncSession) -> None:
        await s.execute(delete(m.BlockDeviceMapping).where(m.BlockDeviceMapping.uuid == bdm.uuid))

    await agent.svc.tx(_drop)


async def detach(agent: ComputeAgent, uuid: str, volume_id: str) -> dict[str, Any]:
    """Unplug a volume from the guest, then free it; {} or a fault (the volume in-use again)."""
    instance = await _live(agent, uuid)
    if instance is None:
        return fault(errors.NotFound(f"Instance {uuid} could not be found."))
    async with agent.svc.db.session() as s:
        found = [b for b in await mappings(s, uuid) if b.volume_id == volume_id]
    if not found:
        return fault(errors.NotFound(f"No volume Block Device Mapping with id {volume_id}."))
    bdm = found[0]
    try:
        await agent.driver.detach_volume(uuid, volume_spec(bdm, bdm.connection_info or {}))
    except InstanceNotFound:
        LOG.info("instance %s has no domain: volume %s has nothing to unplug", uuid, volume_id)
    except DriverError as exc:
        LOG.warning("detaching volume %s from %s failed: %s", volume_id, uuid, exc)
        await cinder.roll_detaching(agent.svc.peer("volume"), service_context(instance), volume_id)
        await _record_failure(agent, instance, "compute_detach_volume", exc)
        return fault(errors.Conflict(f"Device detach failed for {volume_id}: {exc}"))
    await _forget(agent, instance, bdm)

    async def _event(s: AsyncSession) -> None:
        await history.record_event(s, uuid, "compute_detach_volume", agent.host)

    await agent.svc.tx(_event)
    return {}


async def release_all(agent: ComputeAgent, instance: m.Instance) -> None:
    """A deleted server's volumes: detached, and deleted where delete_on_termination says so."""
    if not agent.svc.has_peer("volume"):
        return
    async with agent.svc.db.session() as s:
        bdms = await mappings(s, instance.uuid)
    ctx = service_context(instance)
    for bdm in bdms:
        await _forget(agent, instance, bdm)
        if bdm.delete_on_termination and bdm.volume_id:
            try:
                await cinder_volumes.delete_volume(agent.svc.peer("volume"), ctx, bdm.volume_id)
            except errors.StacklingError as exc:
                LOG.warning("volume %s of deleted %s kept: %s", bdm.volume_id, instance.uuid, exc)


async def extend(
    agent: ComputeAgent, uuid: str, volume_id: str, new_size_bytes: int
) -> dict[str, Any]:
    """Grow an attached volume in the guest (Nova's volume-extended); {} or a fault."""
    async with agent.svc.db.session() as s:
        found = [b for b in await mappings(s, uuid) if b.volume_id == volume_id]
    if not found:
        return fault(errors.NotFound(f"No volume Block Device Mapping with id {volume_id}."))
    bdm = found[0]
    try:
        await agent.driver.extend_volume(
            uuid, volume_spec(bdm, bdm.connection_info or {}), new_size_bytes
        )
    except InstanceNotFound:
        LOG.info("instance %s has no domain: volume %s is read at its new size", uuid, volume_id)
    except DriverError as exc:
        return fault(errors.StacklingError(f"Extending volume {volume_id} failed: {exc}"))
    return {}


async def recover(agent: ComputeAgent, instance: m.Instance) -> None:
    """After a crash: an attach left short of `attached` is rolled back (unplugged, given back).

    The API that asked for it has answered with an error (its call to this host
    failed), so completing it would attach a volume nobody was told about.
    """
    # A server still building carries on with its volumes when its build runs again.
    if not agent.svc.has_peer("volume") or instance.vm_state == states.BUILDING:
        return
    async with agent.svc.db.session() as s:
        bdms = await mappings(s, instance.uuid)
    vsvc = agent.svc.peer("volume")
    ctx = service_context(instance)
    for bdm in bdms:
        if bdm.attachment_id is None or bdm.boot_index == 0:
            continue
        try:
            att = await cinder.show(vsvc, ctx, bdm.attachment_id)
        except errors.NotFound:
            att = None
        if att is not None and att.attach_status == volume_states.ATTACH_ATTACHED:
            continue
        LOG.warning(
            "rolling back volume %s of %s: its attach was interrupted",
            bdm.volume_id,
            instance.uuid,
        )
        info = bdm.connection_info or (att.connection_info if att is not None else None) or {}
        with contextlib.suppress(DriverError, InstanceNotFound):
            await agent.driver.detach_volume(instance.uuid, volume_spec(bdm, info))
        await undo_attach(agent.svc, instance, bdm.uuid)
