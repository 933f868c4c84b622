"""Builds the ASGI app: every enabled service's routes, middleware and fault handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from stackling import __version__
from stackling.common import faults
from stackling.common.middleware import RequestIdMiddleware
from stackling.runtime.state import Runtime
from stackling.settings import Settings


def build_app(settings: Settings) -> FastAPI:
    """The whole cloud as one ASGI app; the runtime starts and stops with it."""
    runtime = Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="Stackling",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    fault_router = faults.FaultRouter()
    for plugin in runtime.services.values():
        app.include_router(plugin.router())
        fault_router.register(plugin.path_prefix, plugin.fault_renderer())
    faults.install(app, fault_router)
    app.add_middleware(RequestIdMiddleware, access_log=settings.log.access_log)

    @app.get("/healthcheck", include_in_schema=False)
    async def healthcheck(request: Request) -> dict[str, Any]:
        rt: Runtime = request.app.state.runtime
        return {
            "status": "ok" if rt.started_at else "starting",
            "version": __version__,
            "services": {name: await p.health() for name, p in rt.services.items()},
        }

    return app
