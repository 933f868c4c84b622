"""This host's volume agent: volume data made to follow the rows.

A bus message names a volume (`{"kind": "volume", "id"}`); the agent reads the
row as it is now and converges: a `creating` volume gets its data, an
`extending` one grows, a `deleting` one loses its data and then its row, and a
volume with no row loses its data. Each step is idempotent and each state
change a compare-and-set, so a repeated message or a restart mid-way converges
to the same result. On start-up the agent removes partial writes, converges
every volume of this host left in a transitional state, and removes the data
of volumes that have no row.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.reconcile.queue import KeyedQueue
from stackling.volume import models as m
from stackling.volume import states
from stackling.volume.drivers.base import BackendError
from stackling.volume.service.core import VolumeService, agent_topic

LOG = logging.getLogger(__name__)


class VolumeAgent:
    """Reconciles the volumes of one host against its backend, one volume at a time."""

    def __init__(self, svc: VolumeService) -> None:
        self.svc = svc
        self.backend = svc.backend
        self.host = svc.host
        self.topic = agent_topic(svc.host)
        self.queue = KeyedQueue(
            self.reconcile, concurrency=svc.conf.max_concurrent_operations, name="volume"
        )

    async def start(self) -> None:
        """Remove partial writes, converge interrupted work, then remove orphaned data."""
        swept = await self.backend.remove_partials()
        async with self.svc.db.session() as s:
            pending = list(
                await s.scalars(
                    select(m.Volume.id).where(
                        m.Volume.host == self.host, m.Volume.status.in_(states.TRANSITIONAL)
                    )
                )
            )
        for volume_id in pending:
            self.queue.submit(volume_id)
        await self.queue.drain()
        orphans = await self.orphans()
        for volume_id in orphans:
            self.queue.submit(volume_id)
        await self.queue.drain()
        if swept or pending or orphans:
            LOG.info(
                "volume agent: %d partial writes removed, %d volumes converged, %d orphans removed",
                swept,
                len(pending),
                len(orphans),
            )

    async def orphans(self) -> set[str]:
        """Volumes the backend holds that no row names."""
        held = await self.backend.list_volumes()
        if not held:
            return set()
        async with self.svc.db.session() as s:
            known = set(await s.scalars(select(m.Volume.id).where(m.Volume.id.in_(held))))
        return held - known

    async def stop(self) -> None:
        """Stop working; what is half done is converged at the next start."""
        await self.queue.close()

    async def drain(self) -> None:
        """Wait until nothing is being reconciled (for tests)."""
        await self.queue.drain()

    async def on_message(self, message: dict[str, Any]) -> None:
        """A bus message naming a volume: reconcile it soon."""
        if message.get("kind") == "volume" and isinstance(message.get("id"), str):
            self.queue.submit(message["id"])

    async def reconcile(self, volume_id: str) -> None:
        """Bring the backend and the row of one volume together."""
        async with self.svc.db.session() as s:
            row = await s.get(m.Volume, volume_id)
        if row is None:
            await self.backend.delete(volume_id)
            return
        if row.host != self.host or row.status not in states.AGENT_TRANSITIONS:
            return
        status = row.status
        _, failed = states.AGENT_TRANSITIONS[status]
        try:
            if status == states.CREATING:
                await self.backend.create(row.id, row.size)
                await self._finish(row.id, status, status=states.AVAILABLE)
            elif status == states.EXTENDING:
                target = row.extend_to or row.size
                await self.backend.extend(row.id, target)
                await self._finish(
                    row.id, status, status=states.AVAILABLE, size=target, extend_to=None
                )
            else:
                await self.backend.delete(row.id)
                await self.svc.tx(lambda s: self._remove(s, row.id))
        except BackendError as exc:
            LOG.error("volume %s: %s failed: %s", row.id, status, exc)
            extra: dict[str, Any] = {"extend_to": None} if status == states.EXTENDING else {}
            await self._finish(row.id, status, status=failed, **extra)

    async def _finish(self, volume_id: str, expected: str, **values: Any) -> None:
        """Compare-and-set: the row moves on only if nobody changed its state meanwhile."""

        async def _do(s: AsyncSession) -> None:
            await s.execute(
                update(m.Volume)
                .where(m.Volume.id == volume_id, m.Volume.status == expected)
                .values(updated_at=m.now(), **values)
            )

        await self.svc.tx(_do)

    @staticmethod
    async def _remove(s: AsyncSession, volume_id: str) -> None:
        """Delete a volume's row once its data is gone (only if still `deleting`)."""
        still = await s.scalar(
            select(m.Volume.id).where(m.Volume.id == volume_id, m.Volume.status == states.DELETING)
        )
        if still is None:
            return
        await s.execute(delete(m.VolumeMetadata).where(m.VolumeMetadata.volume_id == volume_id))
        await s.execute(delete(m.Volume).where(m.Volume.id == volume_id))
