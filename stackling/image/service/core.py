"""The image service's shared state: database, stores, staging area, background work."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.db.engine import Database
from stackling.image import models as m
from stackling.image.drivers.base import ImageStore, StoreError
from stackling.image.drivers.filesystem import FilesystemStore
from stackling.image.drivers.registry import make_store
from stackling.object.internal import InternalObjects, internal_objects
from stackling.settings import ImageSettings, Settings

LOG = logging.getLogger(__name__)
T = TypeVar("T")

STAGING = "os_glance_staging_store"


class ImageService:
    """What every image service function needs, built once per process."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.conf: ImageSettings = settings.image
        self.db = db
        self.host = socket.gethostname()
        # Set when the service starts: the object store driver finds the object service in it.
        self.runtime: Any = None
        root = settings.data_dir / "images"
        self.stores: dict[str, ImageStore] = {}
        for store_id, store_conf in self.conf.stores.items():
            if store_conf.driver == "object" and "object" not in settings.services:
                raise ValueError(
                    f"image store {store_id!r} uses the object driver,"
                    " but the object service is not enabled (add 'object' to services)"
                )
            path = Path(store_conf.path) if store_conf.path else root / store_id
            self.stores[store_id] = make_store(store_conf.driver, path, self._objects)
        if not self.stores:
            raise ValueError("image.stores must name at least one store")
        self.default_store = next(iter(self.stores))
        # Staged data (stage + import) waits here, outside every store.
        self.staging = FilesystemStore(root / "staging")
        self._tasks: set[asyncio.Task[Any]] = set()

    def _objects(self) -> InternalObjects:
        """The object service of the running process (for the object store driver)."""
        return internal_objects(self.runtime)

    def staging_url(self, image_id: str) -> str:
        """Where staged data for `image_id` lives."""
        return self.staging.location_of(image_id)

    async def tx(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `fn` in one serialised write transaction."""
        return await self.db.write(fn)

    def spawn(self, coro: Awaitable[Any], what: str) -> None:
        """Run background work (an import) that outlives the request; errors are logged."""

        async def _run() -> None:
            try:
                await coro
            except Exception:
                LOG.exception("image background work failed: %s", what)

        task = asyncio.ensure_future(_run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self, runtime: Any) -> None:
        """Recover from a crash: sweep partial writes, reset our interrupted transfers."""
        self.runtime = runtime
        swept = 0
        for store in (*self.stores.values(), self.staging):
            swept += await store.remove_partials()
        reset = await self.tx(self._reset_interrupted)
        await self.purge_orphans()
        if swept or reset:
            LOG.info("image recovery: %d partial writes removed, %d images reset", swept, reset)

    async def _reset_interrupted(self, s: AsyncSession) -> int:
        """Images this host was writing when it stopped go back to where a retry can start.

        An upload (saving) restarts from queued; a stage (uploading) or an import
        (importing) whose staged data survived stays importable, else goes back to
        queued too.
        """
        rows = (
            await s.scalars(
                select(m.Image).where(
                    m.Image.busy_host == self.host,
                    m.Image.status.in_(("saving", "uploading", "importing")),
                )
            )
        ).all()
        staged = await self.staging.locations()
        for image in rows:
            staged_here = any(loc.endswith("/" + image.id) for loc in staged)
            if image.status == "importing" and staged_here:
                image.status = "uploading"
            elif image.status != "uploading" or not staged_here:
                image.status = "queued"
                image.staged_size = None
            image.busy_host = None
        await s.execute(
            update(m.Task)
            .where(m.Task.status.in_(("pending", "processing")))
            .values(status="failure", message="The server restarted during this task.")
        )
        return len(rows)

    async def purge_orphans(self) -> None:
        """Delete stored data whose image is gone (recorded first, so a crash never leaks it)."""
        async with self.db.session() as s:
            orphans = (await s.scalars(select(m.OrphanData))).all()
        for orphan in orphans:
            store = self.stores.get(orphan.store) if orphan.store != STAGING else self.staging
            try:
                if store is not None:
                    await store.delete(orphan.url)
            except StoreError:
                LOG.warning("could not delete orphaned image data in store %s", orphan.store)
                continue

            async def _forget(s: AsyncSession, oid: int = orphan.id) -> None:
                await s.execute(delete(m.OrphanData).where(m.OrphanData.id == oid))

            await self.tx(_forget)

    async def stop(self) -> None:
        """Cancel background imports (their images are reset at the next start)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
