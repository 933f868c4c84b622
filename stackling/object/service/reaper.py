"""Start-up recovery and the background reaper: expiry and freed bytes.

Start-up settles every write a crash interrupted: a file the database
references is published, any other unpublished file is deleted. The reaper
then deletes objects past their X-Delete-At and removes files no row
references any more, in batches, for as long as the service runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import select

from stackling.object import models as m
from stackling.object.service import objects
from stackling.object.service.core import ObjectService

LOG = logging.getLogger(__name__)
_BATCH = 500


async def recover(svc: ObjectService) -> tuple[int, int]:
    """Publish interrupted writes that were committed, delete the rest; (published, deleted)."""
    pending = await svc.store.unpublished()
    published = discarded = 0
    for start in range(0, len(pending), _BATCH):
        batch = pending[start : start + _BATCH]
        async with svc.db.session() as s:
            referenced = set(
                (
                    await s.scalars(
                        select(m.StoredObject.file_id).where(m.StoredObject.file_id.in_(batch))
                    )
                ).all()
            )
            referenced |= set(
                (
                    await s.scalars(
                        select(m.UploadPart.file_id).where(m.UploadPart.file_id.in_(batch))
                    )
                ).all()
            )
        keep = [f for f in batch if f in referenced]
        drop = [f for f in batch if f not in referenced]
        await svc.store.publish(keep)
        await svc.store.discard(drop)
        published += len(keep)
        discarded += len(drop)
    return published, discarded


class Reaper:
    """Runs expiry and reclamation every few seconds."""

    def __init__(self, svc: ObjectService) -> None:
        self.svc = svc
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        """Recover what a crash left, then start the loop."""
        published, discarded = await recover(self.svc)
        LOG.info(
            "object store recovered: %d interrupted writes published, %d discarded",
            published,
            discarded,
        )
        self._task = asyncio.create_task(self._run(), name="object-reaper")

    def poke(self) -> None:
        """Run a pass now rather than at the next interval."""
        self._wake.set()

    async def run_once(self) -> tuple[int, int]:
        """One pass: (objects expired, files reclaimed)."""
        expired = reclaimed = 0
        while (n := await objects.expire_due(self.svc, _BATCH)) > 0:
            expired += n
        while (n := await objects.reclaim(self.svc, _BATCH)) > 0:
            reclaimed += n
        return expired, reclaimed

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.svc.conf.reaper_interval_s)
            self._wake.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                LOG.exception("object reaper pass failed; retrying at the next interval")

    async def stop(self) -> None:
        """Stop the loop; what is left is done at the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
