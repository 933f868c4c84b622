"""The network service's shared state, and the one hook through which changes reach agents."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.bus.base import NoConsumer
from stackling.db.engine import Database
from stackling.network import models as m
from stackling.settings import NetworkSettings, Settings

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# The data-plane agent of each host registers under this type and serves its own topic.
AGENT_TYPE = "Linux bridge agent"
AGENT_BINARY = "stackling-network-agent"


# Where compute hears that a server's ports changed (Nova's os-server-external-events).
COMPUTE_EVENTS_TOPIC = "compute.network-events"
COMPUTE_OWNER_PREFIX = "compute:"


def agent_topic(host: str) -> str:
    """The bus topic of one host's network agent."""
    return f"network.agent.{host}"


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
        """Tell every host's agent that a resource's desired state changed (after the commit).

        The message names the resource and nothing else: each agent reads the rows
        itself. Every registered agent is told (a network may need something on any
        host); an agent that is not running misses nothing, since it resyncs from
        the rows when it starts.
        """
        LOG.debug("data plane: %s %s %s", kind, resource_id, event)
        if self.runtime is None:
            return
        async with self.db.session() as s:
            topics = list(
                await s.scalars(select(m.Agent.topic).where(m.Agent.agent_type == AGENT_TYPE))
            )
        for topic in topics:
            try:
                await self.runtime.bus.cast(topic, {"kind": kind, "id": resource_id})
            except NoConsumer:
                LOG.debug("no network agent serves %s (not running in this process)", topic)

    async def notify_servers(self, port_ids: Iterable[str | None]) -> None:
        """Tell compute that the servers behind these ports changed (Neutron's Nova notifier)."""
        wanted = sorted({p for p in port_ids if p})
        if not wanted or self.runtime is None:
            return
        async with self.db.session() as s:
            rows = await s.execute(
                select(m.Port.id, m.Port.device_id).where(
                    m.Port.id.in_(wanted), m.Port.device_owner.startswith(COMPUTE_OWNER_PREFIX)
                )
            )
            found = rows.all()
        for port_id, server_id in found:
            await self.tell_compute(server_id, port_id)

    async def tell_compute(self, server_id: str, port_id: str) -> None:
        """One network-changed event for a server."""
        if self.runtime is None or not server_id:
            return
        message = {"server": server_id, "name": "network-changed", "tag": port_id}
        try:
            await self.runtime.bus.cast(COMPUTE_EVENTS_TOPIC, message)
        except NoConsumer:
            LOG.debug("no compute service hears network events in this process")
