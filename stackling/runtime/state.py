"""The running process: settings, database, bus and services, started and stopped together."""

from __future__ import annotations

import logging
import time
from typing import Any

from stackling.bus.base import Bus
from stackling.bus.factory import make_bus
from stackling.common.context import TokenValidator
from stackling.db import migrate
from stackling.db.engine import Database
from stackling.runtime.registry import ServicePlugin, load_plugins
from stackling.settings import Settings

LOG = logging.getLogger(__name__)


class Runtime:
    """Everything a Stackling process runs; reachable from routes as app.state.runtime."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(
            settings.database_url,
            busy_timeout_s=settings.database.busy_timeout_s,
            write_retries=settings.database.write_retries,
            pool_size=settings.database.pool_size,
        )
        self.bus: Bus = make_bus(settings.bus)
        self.services: dict[str, ServicePlugin] = load_plugins(settings, self.db)
        self.started_at: float | None = None

    def service(self, name: str) -> Any:
        """The plugin of a running service."""
        return self.services[name]

    @property
    def token_validator(self) -> TokenValidator:
        """The identity service, which turns tokens into contexts."""
        return self.services["identity"]  # type: ignore[return-value]

    async def start(self) -> None:
        """Migrate the schema, then start the bus and every service."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Hosts sharing one database start one after the other: the first creates
        # the schema and bootstraps, the next find both done instead of racing.
        async with self.db.exclusive("stackling:startup"):
            began = time.perf_counter()
            await migrate.upgrade(self.db)
            LOG.info("schema ready in %.3fs", time.perf_counter() - began)
            await self.bus.start()
            for plugin in self.services.values():
                await plugin.start(self)
        self.started_at = time.time()

    async def stop(self) -> None:
        """Stop services in reverse order, then the bus and the database."""
        for plugin in reversed(list(self.services.values())):
            try:
                await plugin.stop()
            except Exception:
                LOG.exception("stopping %s failed", plugin.name)
        await self.bus.stop()
        await self.db.dispose()
