"""This host's backup agent: backup data made to follow the backup rows.

A bus message names a backup (`{"kind": "backup", "id"}`) on the topic
`volume-backup.<host>`; the agent reads the row as it is now and converges: a
`creating` backup has its volume (or snapshot) exported to a raw file, chunked
into the backup target with a manifest written last, then becomes available
and gives the volume back its previous status; a `deleting` one loses its
objects and then its row; a `restoring` one has its image rebuilt from the
chunks, every sha256 checked, and imported into the volume it names, which
also gets back the volume metadata the manifest kept. A
`creating` backup whose manifest is missing is redone from the start (its
partial chunks are removed first), so a crash at any point converges. On
start-up the agent removes scratch files and partial writes, converges every
backup of this host left in a transitional state, and removes the stored
backups no row names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.reconcile.queue import KeyedQueue
from stackling.volume import models as m
from stackling.volume import states
from stackling.volume.backup import chunks
from stackling.volume.backup.base import BackupTargetError
from stackling.volume.drivers.base import BackendError
from stackling.volume.service.backups import (
    backup_target,
    backup_topic,
    release_source,
    target_root,
)
from stackling.volume.service.core import VolumeService

LOG = logging.getLogger(__name__)
MIB = 1024 * 1024
# What a failed backup or restore reports as its fail_reason.
FAILURES = (BackendError, BackupTargetError, OSError)


class BackupAgent:
    """Backs up, restores and deletes the backups of one host, one backup at a time."""

    def __init__(self, svc: VolumeService) -> None:
        self.svc = svc
        self.backend = svc.backend
        self.host = svc.host
        self.topic = backup_topic(svc.host)
        root = target_root(svc)
        self.target = backup_target(svc)
        # Raw images on their way in or out live here, beside the target's data.
        self.scratch = root / ".scratch"
        self.chunk_size = svc.conf.backup_chunk_mb * MIB
        self.queue = KeyedQueue(self.reconcile, concurrency=2, name="volume-backup")

    async def start(self) -> None:
        """Remove scratch files and partial writes, converge interrupted work, sweep orphans."""
        await asyncio.to_thread(shutil.rmtree, self.scratch, ignore_errors=True)
        swept = await self.target.remove_partials()
        async with self.svc.db.session() as s:
            pending = list(
                await s.scalars(
                    select(m.Backup.id).where(
                        m.Backup.host == self.host,
                        m.Backup.status.in_(states.BACKUP_TRANSITIONAL),
                    )
                )
            )
        for backup_id in pending:
            self.queue.submit(backup_id)
        await self.queue.drain()
        orphans = await self.orphans()
        for container, backup_id in orphans:
            await self.target.delete(container, backup_id)
        if swept or pending or orphans:
            LOG.info(
                "backup agent: %d partial writes removed, %d backups converged, %d orphans removed",
                swept,
                len(pending),
                len(orphans),
            )

    async def orphans(self) -> set[tuple[str, str]]:
        """Stored backups that no row names."""
        held = await self.target.list()
        if not held:
            return set()
        async with self.svc.db.session() as s:
            known = set(
                await s.scalars(
                    select(m.Backup.id).where(m.Backup.id.in_({bid for _, bid in held}))
                )
            )
        return {(c, bid) for c, bid in held if bid not in known}

    async def stop(self) -> None:
        """Stop working; what is half done is converged at the next start."""
        await self.queue.close()

    async def drain(self) -> None:
        """Wait until nothing is being reconciled (for tests)."""
        await self.queue.drain()

    async def on_message(self, message: dict[str, Any]) -> None:
        """A bus message naming a backup: reconcile it soon."""
        ident = message.get("id")
        if message.get("kind") == "backup" and isinstance(ident, str):
            self.queue.submit(ident)

    async def reconcile(self, backup_id: str) -> None:
        """Bring the target and the row of one backup together."""
        async with self.svc.db.session() as s:
            row = await s.get(m.Backup, backup_id)
        if row is None:
            for container, held in await self.target.list():
                if held == backup_id:
                    await self.target.delete(container, held)
            return
        if row.host != self.host:
            return
        if row.status == states.BACKUP_CREATING:
            await self._create(row)
        elif row.status == states.BACKUP_DELETING:
            await self._delete(row)
        elif row.status == states.BACKUP_RESTORING:
            await self._restore(row)

    # --- create ---

    async def _create(self, row: m.Backup) -> None:
        """Export, chunk, write the manifest; then the row and the volume move on."""
        container = row.container or ""
        try:
            if await self.target.exists(container, row.id, chunks.MANIFEST):
                # A crash came after the manifest: the data is complete.
                manifest = await chunks.load_manifest(self.target, container, row.id)
                objects = sum(1 for c in manifest["chunks"] if c["kind"] == "data")
            else:
                await self.target.delete(container, row.id)
                objects = await self._store(row, container)
        except FAILURES as exc:
            LOG.error("backup %s: creating failed: %s", row.id, exc)
            await self.target.delete(container, row.id)
            await self._settle_create(row, states.BACKUP_ERROR, fail_reason=str(exc))
            return
        await self._settle_create(
            row, states.BACKUP_AVAILABLE, object_count=objects, fail_reason=None
        )

    async def _store(self, row: m.Backup, container: str) -> int:
        parent = await self._parent_manifest(row)
        metadata = await self._volume_metadata(row.volume_id)
        await asyncio.to_thread(self.scratch.mkdir, parents=True, exist_ok=True)
        raw = self.scratch / f"{row.id}.backup.raw"
        # A snapshot is read through a temporary volume named by the backup id: no
        # volume row has that id, so the volume agent sweeps it if a crash leaves it.
        source = row.id if row.snapshot_id else row.volume_id
        try:
            if row.snapshot_id:
                await self.backend.create_from_snapshot(row.id, row.snapshot_id, row.size)
            await self.backend.export_image(source, raw, "raw")
            stored = await chunks.store(
                self.target,
                raw,
                container=container,
                backup_id=row.id,
                volume_id=row.volume_id,
                chunk_size=self.chunk_size,
                parent=parent,
                volume_metadata=metadata,
            )
        finally:
            await _unlink(raw)
            if row.snapshot_id:
                await self.backend.delete(row.id)
        return stored.objects

    async def _volume_metadata(self, volume_id: str) -> dict[str, str]:
        async with self.svc.db.session() as s:
            rows = await s.scalars(
                select(m.VolumeMetadata).where(m.VolumeMetadata.volume_id == volume_id)
            )
            return {item.key: item.value for item in rows}

    async def _parent_manifest(self, row: m.Backup) -> dict[str, Any] | None:
        if row.parent_id is None:
            return None
        async with self.svc.db.session() as s:
            parent = await s.get(m.Backup, row.parent_id)
        if parent is None:
            raise BackupTargetError(f"parent backup {row.parent_id} no longer exists")
        return await chunks.load_manifest(self.target, parent.container or "", parent.id)

    async def _settle_create(self, row: m.Backup, status: str, **values: Any) -> None:
        """Compare-and-set of the backup; the volume or snapshot is released either way."""

        async def _do(s: AsyncSession) -> None:
            await s.execute(
                update(m.Backup)
                .where(m.Backup.id == row.id, m.Backup.status == states.BACKUP_CREATING)
                .values(status=status, updated_at=m.now(), **values)
            )
            await release_source(s, row)

        await self.svc.tx(_do)

    # --- delete ---

    async def _delete(self, row: m.Backup) -> None:
        try:
            await self.target.delete(row.container or "", row.id)
        except FAILURES as exc:
            LOG.error("backup %s: deleting failed: %s", row.id, exc)
            await self._set(row.id, states.BACKUP_DELETING, status=states.BACKUP_ERROR_DELETING)
            return

        async def _do(s: AsyncSession) -> None:
            still = await s.scalar(
                select(m.Backup.id).where(
                    m.Backup.id == row.id, m.Backup.status == states.BACKUP_DELETING
                )
            )
            if still is None:
                return
            await s.execute(delete(m.BackupMetadata).where(m.BackupMetadata.backup_id == row.id))
            await s.execute(delete(m.Backup).where(m.Backup.id == row.id))

        await self.svc.tx(_do)

    # --- restore ---

    async def _restore(self, row: m.Backup) -> None:
        """Rebuild the image, verify it, import it into the volume that waits for it."""
        volume = await self._claim_volume(row)
        if volume is None:
            return
        await asyncio.to_thread(self.scratch.mkdir, parents=True, exist_ok=True)
        raw = self.scratch / f"{row.id}.restore.raw"
        try:
            manifest = await chunks.load_manifest(self.target, row.container or "", row.id)
            await chunks.rebuild(self.target, manifest, raw)
            size = max(volume.size, row.size)
            await self.backend.import_image(volume.id, raw, "raw", size, replace=True)
        except FAILURES as exc:
            LOG.error("backup %s: restoring into %s failed: %s", row.id, volume.id, exc)
            await self._settle_restore(row, volume.id, states.ERROR_RESTORING, str(exc))
            return
        finally:
            await _unlink(raw)
        await self._settle_restore(
            row, volume.id, states.AVAILABLE, None, chunks.volume_metadata(manifest)
        )

    async def _claim_volume(self, row: m.Backup) -> m.Volume | None:
        """The `restoring-backup` volume to restore into; None (backup released) if gone."""
        async with self.svc.db.session() as s:
            volume = await s.get(m.Volume, row.restore_volume_id or "")
        if volume is not None and volume.status == states.RESTORING_BACKUP:
            return volume
        if volume is None:
            reason = f"volume {row.restore_volume_id} to restore into no longer exists"
        else:
            reason = f"volume {volume.id} to restore into is {volume.status}"
        LOG.error("backup %s: %s", row.id, reason)
        await self._set(
            row.id,
            states.BACKUP_RESTORING,
            status=states.BACKUP_AVAILABLE,
            restore_volume_id=None,
            fail_reason=reason,
        )
        return None

    async def _settle_restore(
        self,
        row: m.Backup,
        volume_id: str,
        volume_status: str,
        reason: str | None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """The volume available (or error_restoring) and the backup available again.

        A restored volume gets the backed-up volume's metadata merged into its own,
        as Cinder's does, in the same transaction that makes it available.
        """

        async def _do(s: AsyncSession) -> None:
            done = await s.execute(
                update(m.Volume)
                .where(m.Volume.id == volume_id, m.Volume.status == states.RESTORING_BACKUP)
                .values(status=volume_status, error_reason=reason, updated_at=m.now())
            )
            if done.rowcount == 1 and metadata:  # type: ignore[attr-defined]
                await _merge_metadata(s, volume_id, metadata)
            await s.execute(
                update(m.Backup)
                .where(m.Backup.id == row.id, m.Backup.status == states.BACKUP_RESTORING)
                .values(
                    status=states.BACKUP_AVAILABLE,
                    restore_volume_id=None,
                    fail_reason=reason,
                    updated_at=m.now(),
                )
            )

        await self.svc.tx(_do)

    async def _set(self, backup_id: str, expected: str, **values: Any) -> None:
        """Compare-and-set of a backup's row."""

        async def _do(s: AsyncSession) -> None:
            await s.execute(
                update(m.Backup)
                .where(m.Backup.id == backup_id, m.Backup.status == expected)
                .values(updated_at=m.now(), **values)
            )

        await self.svc.tx(_do)


async def _merge_metadata(s: AsyncSession, volume_id: str, metadata: dict[str, str]) -> None:
    for key, value in metadata.items():
        item = await s.get(m.VolumeMetadata, (volume_id, key))
        if item is None:
            s.add(m.VolumeMetadata(volume_id=volume_id, key=key, value=value))
        else:
            item.value = value


async def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        await asyncio.to_thread(path.unlink)
