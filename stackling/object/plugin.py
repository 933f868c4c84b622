"""The object service as the runtime sees it: Swift at /object, S3 at /s3, the reaper."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.types import ASGIApp

from stackling.common.faults import Renderer, keystone_fault
from stackling.db.engine import Database
from stackling.object.service.core import ObjectService
from stackling.object.service.reaper import Reaper
from stackling.object.swift.app import SwiftApp
from stackling.settings import Settings


class ObjectPlugin:
    """Swift v1 and S3 over one store."""

    name = "object"
    catalog_type = "object-store"
    path_prefix = "/object"
    # Object bodies are streamed into the store: no request body limit applies.
    streamed_paths: tuple[str, ...] = (r"^/object/", r"^/s3(/|$)")

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.svc = ObjectService(settings, db)
        self.reaper = Reaper(self.svc)

    def router(self) -> APIRouter:
        """No FastAPI routes: both APIs are raw ASGI apps (see mounts)."""
        return APIRouter()

    def mounts(self, runtime: Any) -> dict[str, ASGIApp]:
        """The ASGI apps serving this service's path prefixes."""
        from stackling.object.s3.app import S3App

        return {"/object": SwiftApp(runtime), "/s3": S3App(runtime)}

    def fault_renderer(self) -> Renderer:
        """Unused: the Swift and S3 apps render their own errors."""
        return keystone_fault

    async def start(self, runtime: Any) -> None:
        """Settle interrupted writes, then start expiring and reclaiming."""
        self.svc.runtime = runtime
        await self.reaper.start()

    async def stop(self) -> None:
        """Stop the reaper; what it had left is done at the next start."""
        await self.reaper.stop()

    async def health(self) -> dict[str, Any]:
        """Status for `stackling status`."""
        return {"status": "ok", "driver": self.svc.store.name}
