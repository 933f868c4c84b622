"""A new server's volumes, made and connected on its host before the guest is spawned.

The API recorded one mapping per volume the boot asked for, with the
attachment of an existing volume already reserved. Here each mapping gets its
volume (made from an image, a snapshot or blank when the boot asked for one,
and waited for until available), its attachment and its connection; the
guest is then spawned with the volumes in its spec, and the attachments are
completed once it runs. Every step is stored on the mapping as it is done, so
a build restarted after a crash carries on where it stopped; a failed build
gives the attachments back and keeps the volumes, which the server's delete
removes when they were to go with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.compute import models as m
from stackling.compute.agent.volumes import connector
from stackling.compute.drivers.base import DriverError
from stackling.compute.service.volume_attachments import mappings, service_context
from stackling.volume.service import attachments as cinder
from stackling.volume.service import volumes as cinder_volumes

if TYPE_CHECKING:
    from stackling.compute.agent.agent import ComputeAgent

LOG = logging.getLogger(__name__)

# How long a volume made for a boot may take to become available (Nova's
# block_device_allocate_retries x interval is 60 x 3 s).
VOLUME_READY_TIMEOUT_S = 180.0
POLL_S = 0.5


async def _boot_mappings(agent: ComputeAgent, uuid: str) -> list[m.BlockDeviceMapping]:
    """Every volume mapping of a server, those whose volume is still to be made included."""
    async with agent.svc.db.session() as s:
        query = (
            select(m.BlockDeviceMapping)
            .where(
                m.BlockDeviceMapping.instance_uuid == uuid,
                m.BlockDeviceMapping.destination_type == "volume",
            )
            .order_by(m.BlockDeviceMapping.device_name)
        )
        return list((await s.scalars(query)).all())


async def _store(agent: ComputeAgent, bdm_uuid: str, **values: Any) -> None:
    async def _do(s: AsyncSession) -> None:
        row = await s.get(m.BlockDeviceMapping, bdm_uuid)
        if row is not None:
            for key, value in values.items():
                setattr(row, key, value)

    await agent.svc.tx(_do)


async def _make_volume(agent: ComputeAgent, instance: m.Instance, bdm: m.BlockDeviceMapping) -> str:
    """The volume a mapping asks to be made, recorded on the mapping at once."""
    create = cinder_volumes.VolumeCreate(
        size=bdm.volume_size,
        name="",
        description="",
        volume_type=bdm.volume_type,
        image_id=bdm.image_id if bdm.source_type == "image" else None,
        snapshot_id=bdm.snapshot_id if bdm.source_type == "snapshot" else None,
    )
    rec = await cinder_volumes.create(agent.svc.peer("volume"), service_context(instance), create)
    await _store(agent, bdm.uuid, volume_id=rec.volume.id)
    return str(rec.volume.id)


async def _wait_available(agent: ComputeAgent, instance: m.Instance, volume_id: str) -> None:
    """Until the volume can be attached; DriverError when it failed or took too long."""
    vsvc = agent.svc.peer("volume")
    ctx = service_context(instance)
    deadline = time.monotonic() + VOLUME_READY_TIMEOUT_S
    status = "unknown"
    while time.monotonic() < deadline:
        status = (await cinder_volumes.show(vsvc, ctx, volume_id)).volume.status
        if status in ("available", "reserved", "in-use"):
            return
        if status.startswith("error"):
            break
        await asyncio.sleep(POLL_S)
    raise DriverError(
        f"Volume {volume_id} did not finish being created even after we waited "
        f"{VOLUME_READY_TIMEOUT_S:g} seconds. And its status is {status}."
    )


async def prepare(agent: ComputeAgent, instance: m.Instance) -> None:
    """Every volume of a new server made, reserved and connected (a repeat carries on)."""
    if not agent.svc.has_peer("volume"):
        return
    vsvc = agent.svc.peer("volume")
    ctx = service_context(instance)
    for bdm in await _boot_mappings(agent, instance.uuid):
        if bdm.connection_info:
            continue
        volume_id = bdm.volume_id or await _make_volume(agent, instance, bdm)
        attachment_id = bdm.attachment_id
        if attachment_id is None:
            await _wait_available(agent, instance, volume_id)
            attachment_id = (await cinder.attachment_create(vsvc, ctx, volume_id, instance.uuid)).id
            await _store(agent, bdm.uuid, attachment_id=attachment_id)
        info = await cinder.attachment_update(
            vsvc, ctx, attachment_id, connector(agent, bdm.device_name)
        )
        await _store(agent, bdm.uuid, connection_info=info)


async def complete(agent: ComputeAgent, instance: m.Instance) -> None:
    """The guest runs with its volumes: their attachments attached, the volumes in-use."""
    if not agent.svc.has_peer("volume"):
        return
    async with agent.svc.db.session() as s:
        bdms = await mappings(s, instance.uuid)
    for bdm in bdms:
        if bdm.attachment_id is not None:
            await cinder.attachment_complete(
                agent.svc.peer("volume"), service_context(instance), bdm.attachment_id
            )


async def give_back(agent: ComputeAgent, instance: m.Instance) -> None:
    """After a failed build: attachments deleted (volumes available again), volumes kept.

    The mappings keep their volumes, so a rebuild elsewhere uses them again and
    the server's delete removes those marked delete_on_termination.
    """
    if not agent.svc.has_peer("volume"):
        return
    async with agent.svc.db.session() as s:
        bdms = await mappings(s, instance.uuid)
    for bdm in bdms:
        if bdm.attachment_id is None:
            continue
        with contextlib.suppress(errors.NotFound):
            await cinder.attachment_delete(
                agent.svc.peer("volume"), service_context(instance), bdm.attachment_id
            )
        await _store(agent, bdm.uuid, attachment_id=None, connection_info=None)
    LOG.info("volumes of %s given back after its build failed", instance.uuid)
