"""The network service as the runtime sees it: routes, faults, the service layer, the agent."""

from __future__ import annotations

import logging
import os
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
        # This host's metadata server (None unless the agent and compute run here).
        self.metadata: Any = None
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
        """The service layer, then (unless disabled) this host's metadata server and agent."""
        self.svc.runtime = runtime
        await self._ensure_public_network(runtime)
        if self._agent_wanted():
            # Before the agent: the proxies it starts forward to this server.
            await self.start_metadata(runtime)
            await self.start_agent()

    async def start_metadata(self, runtime: Any) -> None:
        """Serve the metadata socket, with the metadata app the compute service offers."""
        from stackling.network.metadata.service import MetadataService

        # Asked of the compute plugin at run time: network code never imports compute.
        offer = getattr(runtime.services.get("compute"), "metadata_endpoint", None)
        if offer is None:
            LOG.info("no compute service with a metadata app in this process: no metadata server")
            return
        service = MetadataService(self.svc, offer())
        try:
            await service.start()
        except (OSError, ValueError):
            # Guests lose their metadata (the proxies answer 502), not their network.
            LOG.exception("the metadata server could not start")
            return
        self.metadata = service

    async def stop_metadata(self) -> None:
        """Stop the metadata server; the proxies stay and answer 502 meanwhile."""
        service, self.metadata = self.metadata, None
        if service is not None:
            await service.stop()

    def _agent_wanted(self) -> bool:
        """The agent runs when enabled and root (it makes bridges, namespaces and nft tables)."""
        if not self.settings.network.agent_enabled:
            return False
        if os.geteuid() != 0:
            LOG.warning("the network agent needs root: this host has no network data plane")
            return False
        return True

    async def _ensure_public_network(self, runtime: Any) -> None:
        """The `public` network of a new cloud, owned by the admin project (identity here only)."""
        if "identity" not in runtime.services:
            return
        from stackling.identity.service import resources
        from stackling.network.service.bootstrap import ensure_public_network

        found = await resources.list_projects(
            runtime.service("identity").idn, {"name": "admin", "domain_id": "default"}
        )
        if found:
            await ensure_public_network(self.svc, found[0][0].id)

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
        """Stop the agent and the metadata server (guests keep their network)."""
        try:
            await self.stop_agent()
        except Exception:
            LOG.exception("stopping the network agent failed")
        try:
            await self.stop_metadata()
        except Exception:
            LOG.exception("stopping the metadata server failed")

    async def health(self) -> dict[str, Any]:
        """Status for `stackling status`."""
        if self.agent is None:
            return {"status": "ok", "agent": "disabled"}
        return {"status": "ok", "agent": {"host": self.agent.host, "busy": self.agent.queue.busy}}
