"""This host's volume agent: volume and snapshot data made to follow the rows.

A bus message names a volume (`{"kind": "volume", "id"}`) or a snapshot
(`{"kind": "snapshot", "id"}`); the agent reads the row as it is now and
converges: a `creating` volume gets its data (empty, or from its snapshot,
source volume or image), an `extending` one grows, a `reverting` one gets its
snapshot's data back, a `deleting` one loses its snapshots, its data and then
its row, and a volume with no row loses its data; snapshots likewise are made,
removed, or swept when no row names them. Each step is idempotent and each
state change a compare-and-set, so a repeated message or a restart mid-way
converges to the same result. On start-up the agent removes partial writes,
converges every volume and snapshot of this host left in a transitional state,
and removes the data that has no row.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.reconcile.queue import KeyedQueue
from stackling.volume import agent_attached, agent_images, states
from stackling.volume import models as m
from stackling.volume.drivers.base import BackendError
from stackling.volume.service.core import VolumeService, agent_topic

LOG = logging.getLogger(__name__)
# Queue keys of snapshots carry this prefix; volume keys are bare ids.
SNAPSHOT_KEY = "snapshot:"


class VolumeAgent:
    """Reconciles the volumes of one host against its backend, one volume at a time."""

    def __init__(self, svc: VolumeService) -> None:
        self.svc = svc
        self.backend = svc.backend
        self.host = svc.host
        self.topic = agent_topic(svc.host)
        self.queue = KeyedQueue(
            self._work, concurrency=svc.conf.max_concurrent_operations, name="volume"
        )

    async def start(self) -> None:
        """Remove partial writes, converge interrupted work, then remove orphaned data.

        A backend that cannot be reached (an lvm volume group not there yet) is
        logged, not fatal: the other services still start, and each volume's own
        reconcile reports the error again.
        """
        try:
            await self._converge_all()
        except BackendError as exc:
            LOG.error("volume agent: the %s backend is unusable: %s", self.backend.name, exc)

    async def _converge_all(self) -> None:
        swept = await self.backend.remove_partials()
        async with self.svc.db.session() as s:
            pending = list(
                await s.scalars(
                    select(m.Volume.id).where(
                        m.Volume.host == self.host, m.Volume.status.in_(states.TRANSITIONAL)
                    )
                )
            )
            snapshots = list(
                await s.scalars(
                    select(m.Snapshot.id).where(
                        m.Snapshot.host == self.host,
                        m.Snapshot.status.in_(states.SNAP_TRANSITIONAL),
                    )
                )
            )
        # Snapshots first: a volume being created from one needs it complete.
        for snapshot_id in snapshots:
            self.queue.submit(SNAPSHOT_KEY + snapshot_id)
        await self.queue.drain()
        for volume_id in pending:
            self.queue.submit(volume_id)
        await self.queue.drain()
        orphans = await self.orphans()
        for volume_id in orphans:
            self.queue.submit(volume_id)
        orphan_snapshots = await self.orphan_snapshots()
        for snapshot_id in orphan_snapshots:
            self.queue.submit(SNAPSHOT_KEY + snapshot_id)
        await self.queue.drain()
        if swept or pending or snapshots or orphans or orphan_snapshots:
            LOG.info(
                "volume agent: %d partial writes removed, %d volumes and %d snapshots "
                "converged, %d orphans removed",
                swept,
                len(pending),
                len(snapshots),
                len(orphans) + len(orphan_snapshots),
            )

    async def orphans(self) -> set[str]:
        """Volumes the backend holds that no row names."""
        held = await self.backend.list_volumes()
        if not held:
            return set()
        async with self.svc.db.session() as s:
            known = set(await s.scalars(select(m.Volume.id).where(m.Volume.id.in_(held))))
        return held - known

    async def orphan_snapshots(self) -> set[str]:
        """Snapshots the backend holds that no row names."""
        held = await self.backend.list_snapshots()
        if not held:
            return set()
        async with self.svc.db.session() as s:
            known = set(await s.scalars(select(m.Snapshot.id).where(m.Snapshot.id.in_(held))))
        return held - known

    async def stop(self) -> None:
        """Stop working; what is half done is converged at the next start."""
        await self.queue.close()

    async def drain(self) -> None:
        """Wait until nothing is being reconciled (for tests)."""
        await self.queue.drain()

    async def on_message(self, message: dict[str, Any]) -> None:
        """A bus message naming a volume or a snapshot: reconcile it soon."""
        kind, ident = message.get("kind"), message.get("id")
        if not isinstance(ident, str):
            return
        if kind == "volume":
            self.queue.submit(ident)
        elif kind == "snapshot":
            self.queue.submit(SNAPSHOT_KEY + ident)

    async def _work(self, key: str) -> None:
        """The queue's worker: a snapshot key or a volume id."""
        if key.startswith(SNAPSHOT_KEY):
            await self.reconcile_snapshot(key.removeprefix(SNAPSHOT_KEY))
        else:
            await self.reconcile(key)

    async def reconcile(self, volume_id: str) -> None:
        """Bring the backend and the row of one volume together."""
        async with self.svc.db.session() as s:
            row = await s.get(m.Volume, volume_id)
        if row is None:
            await self.backend.delete(volume_id)
            return
        if row.status == states.UPLOADING:
            return await agent_images.upload(self, row)
        if row.host != self.host or row.status not in states.AGENT_TRANSITIONS:
            return
        status = row.status
        _, failed = states.AGENT_TRANSITIONS[status]
        try:
            if status == states.CREATING:
                await self._build(row)
                await self._finish(row.id, status, status=states.AVAILABLE)
            elif status == states.EXTENDING and await agent_attached.attached(self, row.id):
                await agent_attached.extend_in_use(self, row)
            elif status == states.EXTENDING:
                target = row.extend_to or row.size
                await self.backend.extend(row.id, target)
                await self._finish(
                    row.id, status, status=states.AVAILABLE, size=target, extend_to=None
                )
            elif status == states.REVERTING:
                await self._revert(row)
            elif status == states.DELETING:
                await self._delete_snapshots_of(row.id)
                await self.backend.delete(row.id)
                await self.svc.tx(lambda s: self._remove(s, row.id))
        except BackendError as exc:
            LOG.error("volume %s: %s failed: %s", row.id, status, exc)
            extra: dict[str, Any] = {"extend_to": None} if status == states.EXTENDING else {}
            if status == states.REVERTING:
                await self._release_restoring(row.id)
            await self._finish(row.id, status, status=failed, **extra)

    async def _build(self, row: m.Volume) -> None:
        """A `creating` volume's data, from the source its row names."""
        if row.snapshot_id:
            await self.backend.create_from_snapshot(row.id, row.snapshot_id, row.size)
        elif row.source_volid:
            await self.backend.clone(row.id, row.source_volid, row.size)
        elif row.image_id:
            await agent_images.build(self, row)
        else:
            await self.backend.create(row.id, row.size)

    async def _revert(self, row: m.Volume) -> None:
        """The `restoring` snapshot's data back into the `reverting` volume, then both available."""
        async with self.svc.db.session() as s:
            snapshot_id = await s.scalar(
                select(m.Snapshot.id).where(
                    m.Snapshot.volume_id == row.id, m.Snapshot.status == states.SNAP_RESTORING
                )
            )
        if snapshot_id is None:
            raise BackendError("no snapshot of the volume is being restored")
        await self.backend.revert_to_snapshot(row.id, snapshot_id)

        async def _do(s: AsyncSession) -> None:
            await s.execute(
                update(m.Volume)
                .where(m.Volume.id == row.id, m.Volume.status == states.REVERTING)
                .values(status=states.AVAILABLE, updated_at=m.now())
            )
            await s.execute(
                update(m.Snapshot)
                .where(m.Snapshot.id == snapshot_id, m.Snapshot.status == states.SNAP_RESTORING)
                .values(status=states.SNAP_AVAILABLE, updated_at=m.now())
            )

        await self.svc.tx(_do)

    async def _release_restoring(self, volume_id: str) -> None:
        """A failed revert leaves the snapshot as it was: available again (as Cinder)."""

        async def _do(s: AsyncSession) -> None:
            await s.execute(
                update(m.Snapshot)
                .where(
                    m.Snapshot.volume_id == volume_id, m.Snapshot.status == states.SNAP_RESTORING
                )
                .values(status=states.SNAP_AVAILABLE, updated_at=m.now())
            )

        await self.svc.tx(_do)

    async def _delete_snapshots_of(self, volume_id: str) -> None:
        """A cascade delete: the volume's snapshots go before the volume does."""
        async with self.svc.db.session() as s:
            found = list(
                await s.execute(
                    select(m.Snapshot.id, m.Snapshot.status).where(
                        m.Snapshot.volume_id == volume_id
                    )
                )
            )
        for snapshot_id, status in found:
            if status != states.SNAP_DELETING:
                raise BackendError(f"snapshot {snapshot_id} of the volume is {status}")
            await self.backend.delete_snapshot(snapshot_id)
            await self.svc.tx(lambda s, sid=snapshot_id: self._remove_snapshot(s, sid))

    async def reconcile_snapshot(self, snapshot_id: str) -> None:
        """Bring the backend and the row of one snapshot together."""
        async with self.svc.db.session() as s:
            row = await s.get(m.Snapshot, snapshot_id)
        if row is None:
            await self.backend.delete_snapshot(snapshot_id)
            return
        if row.host != self.host or row.status not in states.SNAP_TRANSITIONAL:
            return
        status = row.status
        try:
            if status == states.SNAP_CREATING:
                await self.backend.create_snapshot(row.volume_id, row.id)
                await self._finish_snapshot(
                    row.id, status, status=states.SNAP_AVAILABLE, progress="100%"
                )
            else:
                await self.backend.delete_snapshot(row.id)
                await self.svc.tx(lambda s: self._remove_snapshot(s, row.id))
        except BackendError as exc:
            LOG.error("snapshot %s: %s failed: %s", row.id, status, exc)
            failed = (
                states.SNAP_ERROR if status == states.SNAP_CREATING else states.SNAP_ERROR_DELETING
            )
            await self._finish_snapshot(row.id, status, status=failed, error_reason=str(exc))

    async def _finish_snapshot(self, snapshot_id: str, expected: str, **values: Any) -> None:
        """Compare-and-set of a snapshot's row, as _finish for volumes."""

        async def _do(s: AsyncSession) -> None:
            await s.execute(
                update(m.Snapshot)
                .where(m.Snapshot.id == snapshot_id, m.Snapshot.status == expected)
                .values(updated_at=m.now(), **values)
            )

        await self.svc.tx(_do)

    @staticmethod
    async def _remove_snapshot(s: AsyncSession, snapshot_id: str) -> None:
        """Delete a snapshot's row once its data is gone (only if still `deleting`)."""
        still = await s.scalar(
            select(m.Snapshot.id).where(
                m.Snapshot.id == snapshot_id, m.Snapshot.status == states.SNAP_DELETING
            )
        )
        if still is None:
            return
        await s.execute(
            delete(m.SnapshotMetadata).where(m.SnapshotMetadata.snapshot_id == snapshot_id)
        )
        await s.execute(delete(m.Snapshot).where(m.Snapshot.id == snapshot_id))

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
