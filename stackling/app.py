"""Builds the ASGI app: every enabled service's routes, middleware and fault handling."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response
from starlette.routing import NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from stackling import __version__
from stackling.common import errors, faults, logredact
from stackling.common.middleware import BodyLimitMiddleware, RequestIdMiddleware
from stackling.runtime.registry import ServicePlugin
from stackling.runtime.state import Runtime
from stackling.settings import Settings

# Each service's routes, built once per process: they are code, not state (handlers
# reach the runtime through request.app.state), and building FastAPI's per-route
# models is most of the cost of an app. Every app of the process shares them.
_ROUTERS: dict[type, APIRouter] = {}


def service_router(plugin: ServicePlugin) -> APIRouter:
    """The routes of a service, built on first use and shared by later apps."""
    router = _ROUTERS.get(type(plugin))
    if router is None:
        router = _ROUTERS[type(plugin)] = plugin.router()
    return router


def service_app(
    plugin: ServicePlugin, runtime: Runtime, fault_router: faults.FaultRouter
) -> FastAPI:
    """One service's routes as an app of their own, sharing the process's runtime.

    FastAPI matches a path against every route before it in order, through each
    level of included routers; dispatching on the service's prefix first keeps a
    compute request from being tried against every identity and image route.
    """
    sub = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    sub.state.runtime = runtime
    sub.include_router(service_router(plugin))
    faults.install(sub, fault_router)
    return sub


class ServiceDispatch:
    """Sends each request under a service's prefix straight to that service's app."""

    def __init__(self, app: ASGIApp, services: dict[str, ASGIApp]) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            end = path.find("/", 1)
            target = self.services.get(path if end < 0 else path[:end])
            if target is not None:
                await target(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_app(settings: Settings) -> FastAPI:
    """The whole cloud as one ASGI app; the runtime starts and stops with it."""
    runtime = Runtime(settings)
    logredact.install()

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
        # The whole app keeps every route too: for /openapi.json and url_path_for.
        app.include_router(service_router(plugin))
        fault_router.register(plugin.path_prefix, plugin.fault_renderer())
    faults.install(app, fault_router)
    services: dict[str, ASGIApp] = {}
    for plugin in runtime.services.values():
        mounts = getattr(plugin, "mounts", None)
        if mounts is not None:
            # A service that speaks its own protocol end to end (Swift, S3).
            services.update(mounts(runtime))
        else:
            services[plugin.path_prefix] = service_app(plugin, runtime, fault_router)
    app.state.service_apps = {k: v for k, v in services.items() if isinstance(v, FastAPI)}

    async def too_large(scope: Scope, limit: int) -> Response:
        return fault_router.response(
            Request(scope),
            errors.PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes."),
        )

    # Innermost: a request is matched against its own service's routes only.
    app.add_middleware(ServiceDispatch, services=services)
    # Added next, so it runs inside the request-id middleware: a 413 carries an id too.
    streamed = tuple(
        re.compile(pattern)
        for plugin in runtime.services.values()
        for pattern in plugin.streamed_paths
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        too_large=too_large,
        streamed=streamed,
    )
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


def warm(app: FastAPI) -> None:
    """Build the per-route state FastAPI otherwise builds lazily on the first request.

    Resolving a name that matches no route walks every route, which makes
    FastAPI prepare each included route for this app (about 0.1 s in all for
    the identity API; without it the first request to a route pays for the
    routes before it, up to ~60 ms). Called once the server listens, it runs
    while the first client is still starting.
    """
    for each in (app, *app.state.service_apps.values()):
        with contextlib.suppress(NoMatchFound):
            each.url_path_for("stackling-warm-up-no-such-route")
