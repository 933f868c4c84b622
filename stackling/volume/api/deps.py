"""Dependencies of the volume routes: one `Call` bundling caller, microversion and service."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.http import Context
from stackling.common.microversion import Version
from stackling.volume.api import microversion
from stackling.volume.service.core import VolumeService

PREFIX = "/volume"
V3 = "/volume/v3"


@dataclass(slots=True)
class Call:
    """One API call: who asks, at which microversion, of which service."""

    ctx: RequestContext
    version: Version
    svc: VolumeService
    request: Request

    @property
    def root(self) -> str:
        """Absolute URL of /volume as the client reached it (for links)."""
        return str(self.request.base_url).rstrip("/") + PREFIX

    def params(self) -> dict[str, str]:
        """The query string (the last value of a repeated key wins, as webob's dict)."""
        return dict(self.request.query_params.items())

    def reply(self, body: Any = None, status: int = 200) -> Response:
        """JSON (or no body) with the microversion headers Cinder always sends."""
        headers = microversion.headers_for(self.version)
        if body is None:
            return Response(status_code=status, headers=headers)
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return Response(content, status_code=status, headers=headers, media_type="application/json")


async def call(request: Request, ctx: Context) -> Call:
    """The call; 400 when the URL's project is not the token's (Cinder's check)."""
    path_project = request.path_params.get("project_id")
    if path_project is not None and path_project != ctx.project_id:
        raise errors.BadRequest("Malformed request url")
    version = microversion.requested(request)
    svc: VolumeService = request.app.state.runtime.service("volume").svc
    return Call(ctx=ctx, version=version, svc=svc, request=request)


async def json_body(request: Request) -> Any:
    """The request body as JSON; 400 when absent or malformed."""
    from stackling.common.body import parse_json

    return await parse_json(request)


CallDep = Annotated[Call, Depends(call)]
Body = Annotated[Any, Depends(json_body)]
