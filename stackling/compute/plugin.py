"""The compute service as the runtime sees it: routes, faults, conductor and compute agents."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import APIRouter

from stackling.common.faults import Renderer
from stackling.compute.agent.agent import ComputeAgent
from stackling.compute.api.router import build_router
from stackling.compute.drivers.registry import make_driver
from stackling.compute.faults import nova_fault
from stackling.compute.service import networking
from stackling.compute.service.conductor import Conductor
from stackling.compute.service.core import ComputeService
from stackling.db.engine import Database
from stackling.settings import Settings

LOG = logging.getLogger(__name__)


class ComputePlugin:
    """Nova v2.1 at /compute, with the conductor and this process's compute hosts."""

    name = "compute"
    catalog_type = "compute"
    path_prefix = "/compute"
    streamed_paths: tuple[str, ...] = ()

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.svc = ComputeService(settings, db)
        self.conductor = Conductor(self.svc)
        self.agents: list[ComputeAgent] = []

    def router(self) -> APIRouter:
        """The Nova routes."""
        return build_router()

    def fault_renderer(self) -> Renderer:
        """Nova's error format."""
        return nova_fault

    def _owner(self) -> str:
        """This cloud's tag on the domains it creates (several clouds may share a libvirtd)."""
        path = self.settings.data_dir / "compute" / "owner"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(".owner.tmp")
            tmp.write_text(secrets.token_hex(8) + "\n")
            tmp.replace(path)
        return path.read_text().strip()

    def _hosts(self) -> list[str]:
        conf = self.settings.compute
        if conf.driver != "fake" or conf.fake_hosts == 1:
            return [self.svc.host]
        return [self.svc.host] + [f"{self.svc.host}-{n}" for n in range(2, conf.fake_hosts + 1)]

    async def start(self, runtime: Any) -> None:
        """Default flavors, the conductor, then one agent per compute host of this process."""
        from stackling.compute.service import flavors

        self.svc.runtime = runtime
        if self.settings.compute.create_default_flavors:
            await flavors.ensure_default_flavors(self.svc)
        await self.conductor.start()
        runtime.bus.serve(networking.EVENTS_TOPIC, self._on_network_event)
        conf = self.settings.compute
        root = self.settings.data_dir / "compute"
        owner = self._owner()
        for host in self._hosts():
            driver = make_driver(
                conf.driver,
                instances_dir=root / "instances",
                owner=owner,
                hostname=host,
                uri=conf.libvirt_uri,
                virt_type=conf.virt_type,
                shutdown_timeout_s=conf.shutdown_timeout_s,
                state_dir=root,
            )
            agent = ComputeAgent(self.svc, driver, host)
            await agent.start()
            self.agents.append(agent)

    def metadata_endpoint(self) -> Any:
        """The metadata app over this cloud's database, with its signer (the network serves it)."""
        from stackling.compute.metadata.backend import metadata_endpoint

        return metadata_endpoint(self.svc)

    async def _on_network_event(self, message: dict[str, Any]) -> None:
        await networking.on_event(self.svc, message)

    async def stop(self) -> None:
        """Stop agents and the conductor; guests keep running."""
        for agent in self.agents:
            try:
                await agent.stop()
            except Exception:
                LOG.exception("stopping the agent of %s failed", agent.host)
        self.agents.clear()
        await self.conductor.stop()
        await self.svc.stop()

    async def health(self) -> dict[str, Any]:
        """Status for `stackling status`."""
        return {
            "status": "ok",
            "driver": self.settings.compute.driver,
            "hosts": [a.host for a in self.agents],
        }
