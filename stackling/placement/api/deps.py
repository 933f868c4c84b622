"""Dependencies of the placement routes: the service, the microversion, the caller's rights."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.http import Context
from stackling.placement.api.microversion import Version
from stackling.placement.api.route import version_of
from stackling.placement.policy import POLICY
from stackling.placement.service.core import PlacementService

PREFIX = "/placement"


async def placement_service(request: Request) -> PlacementService:
    """The placement service of this process."""
    return request.app.state.runtime.service("placement").svc


async def microversion(request: Request) -> Version:
    """The microversion the request is served at."""
    return version_of(request)


PlacementDep = Annotated[PlacementService, Depends(placement_service)]
VersionDep = Annotated[Version, Depends(microversion)]


def since(minor: int) -> Any:
    """A route dependency: 404 below microversion 1.`minor`, as Placement answers."""

    async def _check(request: Request) -> None:
        if not version_of(request).at_least(minor):
            raise errors.NotFound("The resource could not be found.")

    return Depends(_check)


def authorize(action: str) -> Any:
    """A parameter default: the caller's context once policy allows `action`."""

    async def _allowed(ctx: Context) -> RequestContext:
        POLICY.enforce(ctx, action)
        return ctx

    return Depends(_allowed)


__all__ = ["PREFIX", "Context", "PlacementDep", "VersionDep", "authorize", "since"]
