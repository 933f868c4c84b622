"""The volume service's shared state: settings, database, this host's backend, the bus."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from stackling.db.engine import Database
from stackling.settings import Settings, VolumeSettings
from stackling.volume.drivers.base import VolumeBackend
from stackling.volume.drivers.registry import make_backend

T = TypeVar("T")
TOPIC_PREFIX = "volume."


def agent_topic(host: str) -> str:
    """The bus topic of the agent keeping the volumes of `host`."""
    return TOPIC_PREFIX + host


class VolumeService:
    """What every volume service function needs, built once per process."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.conf: VolumeSettings = settings.volume
        self.db = db
        root = self.conf.data_dir or settings.data_dir / "volume"
        self.backend: VolumeBackend = make_backend(
            self.conf.backend,
            root,
            volume_group=self.conf.lvm_volume_group,
            thin_pool=self.conf.lvm_thin_pool,
        )
        # Cinder's host@backend#pool: names the agent that keeps a volume's data.
        self.host = f"{socket.gethostname()}@{self.conf.backend}#{self.conf.backend}"
        # Set by the plugin at start: the bus the agents listen on.
        self.runtime: Any = None

    async def tx(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `fn` in one serialised write transaction."""
        return await self.db.write(fn)

    async def notify(self, host: str, volume_id: str) -> None:
        """Ask the agent of `host` to reconcile a volume (the message names it, nothing more)."""
        await self.runtime.bus.cast(agent_topic(host), {"kind": "volume", "id": volume_id})

    async def notify_snapshot(self, host: str, snapshot_id: str) -> None:
        """Ask the agent of `host` to reconcile a snapshot."""
        await self.runtime.bus.cast(agent_topic(host), {"kind": "snapshot", "id": snapshot_id})
