"""Growing a volume while servers have it open (online extend, Cinder 3.42).

A qcow2 file held by a running qemu is write-locked, so the backend cannot
resize it; the compute host of each attachment grows it instead (libvirt's
blockResize, Nova's `volume-extended` event), and only when every host has
answered is the volume in-use again at its new size.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.bus.base import BusTimeout, NoConsumer
from stackling.volume import models as m
from stackling.volume import states

if TYPE_CHECKING:
    from stackling.volume.agent import VolumeAgent

LOG = logging.getLogger(__name__)

GIB = 1024**3
# A compute host's bus topic (compute.service.core.host_topic), spelled here so the
# volume service imports nothing of compute's.
COMPUTE_HOST_TOPIC = "compute.host.{host}"
HOST_CALL_TIMEOUT_S = 120.0


async def attached(agent: VolumeAgent, volume_id: str) -> list[m.Attachment]:
    """The volume's attachments (any: the volume is then extended online)."""
    async with agent.svc.db.session() as s:
        rows = await s.scalars(select(m.Attachment).where(m.Attachment.volume_id == volume_id))
        return list(rows)


async def _finish(agent: VolumeAgent, volume_id: str, **values: Any) -> None:
    async def _do(s: AsyncSession) -> None:
        await s.execute(
            update(m.Volume)
            .where(m.Volume.id == volume_id, m.Volume.status == states.EXTENDING)
            .values(updated_at=m.now(), extend_to=None, **values)
        )

    await agent.svc.tx(_do)


async def _tell_host(agent: VolumeAgent, att: m.Attachment, size_gb: int) -> str | None:
    """Ask the attachment's host to grow the disk; why it failed, or None."""
    message = {
        "instance": att.instance_uuid,
        "call": "extend_volume",
        "volume_id": att.volume_id,
        "size_bytes": size_gb * GIB,
    }
    topic = COMPUTE_HOST_TOPIC.format(host=att.attached_host)
    try:
        answer = await agent.svc.runtime.bus.call(topic, message, HOST_CALL_TIMEOUT_S)
    except (BusTimeout, NoConsumer):
        return f"the compute host {att.attached_host} is not answering"
    if isinstance(answer, dict) and "fault" in answer:
        return str(answer["fault"].get("message") or "the compute host refused")
    return None


async def extend_in_use(agent: VolumeAgent, row: m.Volume) -> None:
    """Grow an attached volume through its hosts; in-use at the new size, or error_extending."""
    target = row.extend_to or row.size
    runtime = agent.svc.runtime
    if runtime is not None and "compute" in runtime.services:
        connected = [
            a for a in await attached(agent, row.id) if a.attached_host and a.instance_uuid
        ]
        for att in connected:
            why = await _tell_host(agent, att, target)
            if why is not None:
                LOG.error("volume %s: online extend failed: %s", row.id, why)
                await _finish(agent, row.id, status=states.ERROR_EXTENDING, error_reason=why)
                return
    await _finish(agent, row.id, status=states.IN_USE, size=target)
