"""Dependencies of the identity routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from stackling.common.context import RequestContext
from stackling.common.http import Context, base_url
from stackling.identity.policy import POLICY
from stackling.identity.service.core import Identity

PREFIX = "/identity/v3"


# Dependencies are coroutines: FastAPI runs plain functions in a thread pool,
# a hop that costs more than the work they do.


async def identity(request: Request) -> Identity:
    """The identity service's state."""
    return request.app.state.runtime.service("identity").idn


async def links_base(request: Request) -> str:
    """Base of the self links in responses."""
    return base_url(request, PREFIX)


async def query(request: Request) -> dict[str, str]:
    """Query parameters as a plain dict (last value wins)."""
    return dict(request.query_params)


IdentityDep = Annotated[Identity, Depends(identity)]
Base = Annotated[str, Depends(links_base)]
Query = Annotated[dict[str, str], Depends(query)]


def enforce(ctx: RequestContext, action: str, target: dict[str, Any] | None = None) -> None:
    """Raise Forbidden unless the identity policy allows `action`."""
    POLICY.enforce(ctx, action, target)


__all__ = ["Base", "Context", "IdentityDep", "Query", "enforce"]
