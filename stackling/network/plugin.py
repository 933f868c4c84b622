"""The network service as the runtime sees it: routes, faults, the in-process service layer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from stackling.common.faults import Renderer
from stackling.db.engine import Database
from stackling.network.api.router import build_router
from stackling.network.faults import neutron_fault
from stackling.network.service.core import NetworkService
from stackling.settings import Settings


class NetworkPlugin:
    """Neutron v2.0 at /networking; other services call `svc` directly."""

    name = "network"
    catalog_type = "network"
    path_prefix = "/networking"
    streamed_paths: tuple[str, ...] = ()

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.svc = NetworkService(settings, db)

    def router(self) -> APIRouter:
        """The Neutron routes."""
        return build_router()

    def fault_renderer(self) -> Renderer:
        """Neutron's error format."""
        return neutron_fault

    async def start(self, runtime: Any) -> None:
        """Nothing to start until the data plane exists: the API is request-driven."""
        self.svc.runtime = runtime

    async def stop(self) -> None:
        """Nothing to stop."""

    async def health(self) -> dict[str, Any]:
        """Status for `stackling status`."""
        return {"status": "ok"}
