"""The compute service's shared state: database, bus, the other services it calls."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from stackling.bus.base import Bus
from stackling.db.engine import Database
from stackling.settings import ComputeSettings, Settings

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# Bus topics: the conductor schedules builds; each compute host serves its own topic.
CONDUCTOR_TOPIC = "compute.conductor"


def host_topic(host: str) -> str:
    """The bus topic of one compute host."""
    return f"compute.host.{host}"


class ComputeService:
    """What every compute service function needs, built once per process."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.conf: ComputeSettings = settings.compute
        self.db = db
        self.host = self.conf.host or socket.gethostname()
        self.runtime: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def bus(self) -> Bus:
        """The process's message bus."""
        return self.runtime.bus  # type: ignore[no-any-return]

    def peer(self, name: str) -> Any:
        """The service-layer object of another service in this process (image, placement)."""
        return self.runtime.service(name).svc

    def has_peer(self, name: str) -> bool:
        """Does this process run service `name`?"""
        return self.runtime is not None and name in self.runtime.services

    async def tx(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `fn` in one serialised write transaction."""
        return await self.db.write(fn)

    def spawn(self, coro: Awaitable[Any], what: str) -> None:
        """Run background work that outlives the request; errors are logged."""

        async def _run() -> None:
            try:
                await coro
            except Exception:
                LOG.exception("compute background work failed: %s", what)

        task = asyncio.ensure_future(_run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Cancel background work."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def metadata_secret(self) -> bytes:
        """The secret that signs instance ids for the metadata service (made on first use)."""
        path = self.settings.data_dir / "metadata-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(".metadata-secret.tmp")
            tmp.write_text(secrets.token_hex(32))
            tmp.chmod(0o600)
            tmp.replace(path)
        return path.read_text().strip().encode()
