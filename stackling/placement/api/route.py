"""The route class of every placement route: microversion in, version headers and faults out.

Placement answers every request, errors included, with the microversion it
served and `Vary: openstack-api-version`. Wrapping each route's handler does
that in one place and renders the route's own errors in Placement's format
with those headers on them.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from stackling.common import errors
from stackling.placement.api.microversion import HEADER, MIN, SERVICE, Version, negotiate
from stackling.placement.faults import placement_fault

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def fault_response(request: Request, err: errors.StacklingError) -> JSONResponse:
    """`err` as Placement renders it."""
    headers: dict[str, str] = {}
    if err.status == 401:
        headers["WWW-Authenticate"] = f'Keystone uri="{request.base_url}identity"'
    return JSONResponse(placement_fault(err), status_code=err.status, headers=headers)


def _stamp(response: Response, version: Version | None, method: str) -> None:
    if version is not None:
        response.headers[HEADER] = f"{SERVICE} {version}"
    response.headers["Vary"] = HEADER.lower()
    # 1.15: responses with a body say when they were made and that they must not be cached.
    has_body = method in ("GET", "PUT", "POST") and response.status_code in (200, 201)
    if version is not None and version.at_least(15) and has_body:
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Last-Modified"] = email.utils.formatdate(usegmt=True)


class PlacementRoute(APIRoute):
    """An APIRoute that negotiates the microversion before the handler runs."""

    def get_route_handler(self) -> Handler:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                version = negotiate(request.headers.getlist(HEADER))
            except errors.StacklingError as err:
                response: Response = fault_response(request, err)
                _stamp(response, None, request.method)
                return response
            request.state.placement_version = version
            try:
                response = await inner(request)
            except errors.StacklingError as err:
                response = fault_response(request, err)
            _stamp(response, version, request.method)
            return response

        return handler


def version_of(request: Request) -> Version:
    """The microversion this request is served at."""
    return getattr(request.state, "placement_version", MIN)
