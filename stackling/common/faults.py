"""Fault renderers: how each API dialect spells an error, and the one handler that picks one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from stackling.common import errors

LOG = logging.getLogger(__name__)

Renderer = Callable[[errors.StacklingError], dict[str, Any]]


def keystone_fault(err: errors.StacklingError) -> dict[str, Any]:
    """Keystone's `{"error": {"code", "message", "title"}}`."""
    return {"error": {"code": err.status, "message": err.message, "title": err.title}}


class FaultRouter:
    """Chooses the renderer for a request path: the longest registered prefix wins."""

    def __init__(self, default: Renderer = keystone_fault) -> None:
        self._by_prefix: list[tuple[str, Renderer]] = []
        self._default = default

    def register(self, prefix: str, renderer: Renderer) -> None:
        """Render errors under `prefix` with `renderer`."""
        self._by_prefix.append((prefix.rstrip("/"), renderer))
        self._by_prefix.sort(key=lambda item: len(item[0]), reverse=True)

    def renderer_for(self, path: str) -> Renderer:
        """The renderer for `path`."""
        for prefix, renderer in self._by_prefix:
            if path == prefix or path.startswith(prefix + "/"):
                return renderer
        return self._default

    def response(self, request: Request, err: errors.StacklingError) -> JSONResponse:
        """A JSON response for `err` in the dialect of the request's API."""
        body = self.renderer_for(request.url.path)(err)
        headers: dict[str, str] = {}
        if err.status == 401:
            headers["WWW-Authenticate"] = f'Keystone uri="{request.base_url}identity"'
        return JSONResponse(body, status_code=err.status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for item in exc.errors()[:5]:
        loc = ".".join(str(p) for p in item.get("loc", ()) if p not in ("body",))
        msg = item.get("msg", "invalid")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "Invalid input for field(s): " + "; ".join(parts)


def install(app: FastAPI, faults: FaultRouter) -> None:
    """Register the exception handlers that turn every error into the API's fault format."""

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.StacklingError)
        return faults.response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return faults.response(request, errors.BadRequest(_validation_message(exc)))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and message == "Not Found":
            message = f"The resource could not be found: {request.url.path}"
        return faults.response(request, errors.for_status(exc.status_code, message))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        LOG.exception("unexpected error on %s %s", request.method, request.url.path)
        return faults.response(
            request, errors.StacklingError("An unexpected error prevented the request.")
        )

    app.add_exception_handler(errors.StacklingError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
