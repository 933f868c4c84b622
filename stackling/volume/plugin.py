"""The volume service as the runtime sees it: routes, faults, the default type, the agent."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from stackling.common.faults import Renderer
from stackling.db.engine import Database
from stackling.settings import Settings
from stackling.volume.agent import VolumeAgent
from stackling.volume.api.router import build_router
from stackling.volume.backup_agent import BackupAgent
from stackling.volume.faults import cinder_fault
from stackling.volume.service import types
from stackling.volume.service.core import VolumeService


class VolumePlugin:
    """Cinder v3 at /volume, and the agent keeping this host's volumes."""

    name = "volume"
    catalog_type = "block-storage"
    path_prefix = "/volume"
    streamed_paths: tuple[str, ...] = ()

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.svc = VolumeService(settings, db)
        self.agent = VolumeAgent(self.svc)
        self.backup_agent = BackupAgent(self.svc)

    def router(self) -> APIRouter:
        """The Cinder routes."""
        return build_router()

    def fault_renderer(self) -> Renderer:
        """Cinder's error format."""
        return cinder_fault

    async def start(self, runtime: Any) -> None:
        """The default type, then the agent: it converges what a crash left before serving."""
        self.svc.runtime = runtime
        await types.ensure_default(self.svc)
        await self.agent.start()
        runtime.bus.serve(self.agent.topic, self.agent.on_message)
        # After the volume agent: a restore may wait for a volume it builds.
        await self.backup_agent.start()
        runtime.bus.serve(self.backup_agent.topic, self.backup_agent.on_message)

    async def stop(self) -> None:
        """Stop the agent; unfinished work converges at the next start."""
        await self.backup_agent.stop()
        await self.agent.stop()

    async def health(self) -> dict[str, Any]:
        """Status for `stackling status`."""
        return {"status": "ok", "backend": self.svc.backend.name, "busy": self.agent.queue.busy}
