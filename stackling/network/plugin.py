"""The network service as the runtime sees it: routes, faults, the service layer, the agent."""

from __future__ import annotations

import logging
import socket
from typing import Any

from fastapi import APIRouter

from stackling.common.faults import Renderer
from stackling.db.engine import Database
from stackling.network.api.router import build_router
from stackling.network.faults import neutron_fault
from stackling.network.service.core import NetworkService
from stackling.settings import Settings

LOG = logging.getLogger(__name__)


class NetworkPlugin:
    """Neutron v2.0 at /networking, and this host's data-plane agent; others call `svc`."""

    name = "network"
    catalog_type = "network"
    path_prefix = "/networking"
    streamed_paths: tuple[str, ...] = ()

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.svc = NetworkService(settings, db)
        # The agent of this host (None when disabled); replaced as a whole on restart.
        self.agent: Any = None
        self._serving: set[str] = set()

    def router(self) -> APIRouter:
        """The Neutron routes."""
        return build_router()

    def fault_renderer(self) -> Renderer:
        """Neutron's error format."""
        return neutron_fault

    def agent_host(self) -> str:
        """This host's name as ports' binding:host_id says it (the compute host's by default)."""
        conf = self.settings
        return conf.network.agent_host or conf.compute.host or socket.gethostname()

    async def start(self, runtime: Any) -> None:
        """The service layer, then (unless disabled) this host's agent."""
        self.svc.runtime = runtime
        if self.settings.network.agent_enabled:
            await self.start_agent()

    async def start_agent(self) -> None:
        """Start (or, after `stop_agent`, start again) this host's agent."""
        from stackling.network.agent.agent import NetworkAgent

        agent = NetworkAgent(self.svc, self.agent_host())
        if agent.topic not in self._serving:
            # The bus serves a topic once per process: it goes to whichever agent is current.
            self.svc.runtime.bus.serve(agent.topic, self._dispatch)
            self._serving.add(agent.topic)
        self.agent = agent
        await agent.start()

    async def _dispatch(self, message: dict[str, Any]) -> None:
        if self.agent is not None:
            await self.agent.on_message(message)

    async def stop_agent(self) -> None:
        """Stop the agent; the data plane stays as it is."""
        agent, self.agent = self.agent, None
        if agent is not None:
            await agent.stop()

    async def stop(self) -> None:
        """Stop the agent (guests keep their network)."""
        try:
            await self.stop_agent()
        except Exception:
            LOG.exception("stopping the network agent failed")

    async def health(self) -> dict[str, Any]:
        """Status for `stackling status`."""
        if self.agent is None:
            return {"status": "ok", "agent": "disabled"}
        return {"status": "ok", "agent": {"host": self.agent.host, "busy": self.agent.queue.busy}}
