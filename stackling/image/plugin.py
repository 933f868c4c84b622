"""The image service as the runtime sees it: routes, faults, start-up recovery."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from stackling.common.faults import Renderer
from stackling.db.engine import Database
from stackling.image.api.router import build_router
from stackling.image.faults import glance_fault
from stackling.image.service import seed
from stackling.image.service.core import ImageService
from stackling.settings import Settings


class ImagePlugin:
    """Glance v2 at /image."""

    name = "image"
    catalog_type = "image"
    path_prefix = "/image"
    # Image data is streamed to the store; quotas and image_size_cap bound it.
    streamed_paths = (r"^/image/v2/images/[^/]+/(file|stage)$",)

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.svc = ImageService(settings, db)

    def router(self) -> APIRouter:
        """The Glance routes."""
        return build_router()

    def fault_renderer(self) -> Renderer:
        """Glance's error format."""
        return glance_fault

    async def start(self, runtime: Any) -> None:
        """Sweep what a crash left, reset interrupted transfers, seed the test image."""
        await self.svc.start(runtime)
        if self.settings.image.register_test_image:
            self.svc.spawn(seed.register_test_image(self.svc), "register the test image")

    async def stop(self) -> None:
        """Stop background imports."""
        await self.svc.stop()

    async def health(self) -> dict[str, Any]:
        """Status for `stackling status`."""
        return {"status": "ok", "stores": list(self.svc.stores)}
