"""The placement service as the runtime sees it: routes, faults, the in-process API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from stackling.common.faults import Renderer
from stackling.db.engine import Database
from stackling.placement.api.router import build_router
from stackling.placement.faults import placement_fault
from stackling.placement.service.core import PlacementService
from stackling.settings import Settings


class PlacementPlugin:
    """Placement 1.x at /placement; other services call `svc` directly."""

    name = "placement"
    catalog_type = "placement"
    path_prefix = "/placement"
    streamed_paths: tuple[str, ...] = ()

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.svc = PlacementService(settings, db)

    def router(self) -> APIRouter:
        """The Placement routes."""
        return build_router()

    def fault_renderer(self) -> Renderer:
        """Placement's error format."""
        return placement_fault

    async def start(self, runtime: Any) -> None:
        """Nothing to start: placement is request-driven."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def health(self) -> dict[str, Any]:
        """Status for `stackling status`."""
        return {"status": "ok"}
