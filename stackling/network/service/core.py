"""The network service's shared state, and the one hook through which changes reach agents."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from stackling.db.engine import Database
from stackling.settings import NetworkSettings, Settings

LOG = logging.getLogger(__name__)
T = TypeVar("T")


class NetworkService:
    """What every network service function needs, built once per process."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.conf: NetworkSettings = settings.network
        self.db = db
        self.runtime: Any = None

    async def tx(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `fn` in one write transaction (retried when it loses a race)."""
        return await self.db.write(fn)

    async def notify_data_plane(self, kind: str, resource_id: str, event: str) -> None:
        """Tell the data plane that a resource's desired state changed (after the commit).

        The data plane is not wired yet: the database already holds everything an
        agent will need, so there is nothing to send. When agents exist this casts
        `{"kind", "id"}` on the bus (never the state itself), as DESIGN.md describes.
        """
        LOG.debug("data plane: %s %s %s", kind, resource_id, event)
