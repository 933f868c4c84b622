"""Dependencies of the compute routes, declared once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from stackling.common import errors
from stackling.common.body import content_type, parse_json
from stackling.common.http import Context, base_url
from stackling.compute.api.microversion import Microversion, Version
from stackling.compute.service.core import ComputeService

PREFIX = "/compute"
V21 = "/compute/v2.1"


async def compute_service(request: Request) -> ComputeService:
    """The compute service's state."""
    return request.app.state.runtime.service("compute").svc  # type: ignore[no-any-return]


async def body(request: Request) -> dict[str, Any]:
    """The JSON object a Nova request sends; 400 for anything else (Nova's wording)."""
    ctype = content_type(request)
    if ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise errors.UnsupportedMediaType(f"Unsupported Content-Type {ctype}")
    value = await parse_json(request)
    if not isinstance(value, dict):
        raise errors.BadRequest("Malformed request body: a JSON object was expected.")
    return value


def entity(data: dict[str, Any], key: str) -> dict[str, Any]:
    """The object under `key` of a request body (`{"server": {...}}`); 400 when missing."""
    value = data.get(key)
    if not isinstance(value, dict):
        raise errors.BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r}.")
    return value


class Links:
    """Builds Nova's self and bookmark links for the request's host."""

    def __init__(self, request: Request) -> None:
        self.v21 = base_url(request, V21)
        self.root = base_url(request, PREFIX)

    def pair(self, collection: str, ident: str | int) -> list[dict[str, str]]:
        """`self` and `bookmark` links of one resource."""
        return [
            {"rel": "self", "href": f"{self.v21}/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{self.root}/{collection}/{ident}"},
        ]


async def links(request: Request) -> Links:
    """Link builder for this request."""
    return Links(request)


ComputeDep = Annotated[ComputeService, Depends(compute_service)]
Body = Annotated[dict[str, Any], Depends(body)]
LinksDep = Annotated[Links, Depends(links)]

__all__ = ["V21", "Body", "ComputeDep", "Context", "LinksDep", "Microversion", "Version", "entity"]
