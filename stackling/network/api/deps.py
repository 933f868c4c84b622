"""Dependencies of the network routes, declared once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from stackling.common import errors
from stackling.common.body import content_type, parse_json
from stackling.common.http import Context, base_url
from stackling.network import faults
from stackling.network.service.core import NetworkService

PREFIX = "/networking"
V20 = "/networking/v2.0"


async def network_service(request: Request) -> NetworkService:
    """The network service's state."""
    return request.app.state.runtime.service("network").svc  # type: ignore[no-any-return]


async def body(request: Request) -> Any:
    """The request's JSON document (415 for another media type, 400 when it does not parse)."""
    ctype = content_type(request)
    if ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise errors.UnsupportedMediaType(f"Invalid content type {ctype}.")
    return await parse_json(request)


def revision_constraint(request: Request) -> int | None:
    """The revision an If-Match header constrains a change to (revision-if-match), or None."""
    header = request.headers.get("if-match")
    if not header:
        return None
    found: int | None = None
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if not tag.startswith("revision_number="):
            continue
        if found is not None:
            raise faults.BadRequest("if-match", "Multiple revision_number etags are not supported.")
        try:
            found = int(tag.split("=", 1)[1])
        except ValueError:
            raise faults.BadRequest(
                "if-match", "Revision number etag must be in the format of revision_number=<int>"
            ) from None
    return found


def api_root(request: Request) -> str:
    """The absolute URL of /networking/v2.0 as the client reached it."""
    return base_url(request, V20)


NetworkDep = Annotated[NetworkService, Depends(network_service)]
Body = Annotated[Any, Depends(body)]
Revision = Annotated[int | None, Depends(revision_constraint)]

__all__ = ["PREFIX", "V20", "Body", "Context", "NetworkDep", "Revision", "api_root"]
