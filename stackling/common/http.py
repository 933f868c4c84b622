"""Request-side helpers every API shares: the caller's context and body checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stackling.common import errors
from stackling.common.context import RequestContext, TokenValidator

_BODY_METHODS = {"POST", "PUT", "PATCH"}


def request_id(request: Request) -> str:
    """The id the middleware gave this request."""
    return getattr(request.state, "request_id", "-")


async def request_context(request: Request) -> RequestContext:
    """The authenticated caller, from X-Auth-Token; 401 without a valid token."""
    token = request.headers.get("x-auth-token")
    if not token:
        raise errors.Unauthorized("The request you have made requires authentication.")
    validator: TokenValidator = request.app.state.runtime.token_validator
    return await validator.context_for(token, request_id(request))


Context = Annotated[RequestContext, Depends(request_context)]


async def require_json(request: Request) -> None:
    """415 for a request body that is not JSON (an empty body passes)."""
    if request.method not in _BODY_METHODS:
        return
    length = request.headers.get("content-length")
    chunked = "chunked" in request.headers.get("transfer-encoding", "")
    if not chunked and (length is None or length == "0"):
        return
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise errors.UnsupportedMediaType(
            f"Content type {ctype!r} is not supported; send application/json."
        )


def base_url(request: Request, prefix: str) -> str:
    """Absolute URL of an API root as the client reached this server (for links)."""
    return str(request.base_url).rstrip("/") + prefix
