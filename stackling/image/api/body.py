"""Reading request bodies the way Glance does: JSON, JSON-patch, or streamed octets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from stackling.common import errors
from stackling.common.body import content_type as _content_type
from stackling.common.body import parse_json as _parse

PATCH_TYPES = (
    "application/openstack-images-v2.1-json-patch",
    "application/openstack-images-v2.0-json-patch",
)


async def json_body(request: Request) -> Any:
    """The parsed JSON body; 415 for another content type, 400 when it does not parse."""
    ctype = _content_type(request)
    if ctype and ctype != "application/json":
        raise errors.UnsupportedMediaType(
            f"Content type {ctype!r} is not supported here; send application/json."
        )
    return await _parse(request)


async def patch_body(request: Request) -> Any:
    """A JSON-patch body; 415 unless it is sent as one of Glance's patch media types."""
    ctype = _content_type(request)
    if ctype not in PATCH_TYPES:
        raise errors.UnsupportedMediaType(
            f"Content type {ctype!r} is not supported; send {PATCH_TYPES[0]}."
        )
    return await _parse(request)


def data_length(request: Request) -> int | None:
    """The declared size of an octet-stream body (None when chunked); 415 for other types."""
    ctype = _content_type(request)
    if ctype and ctype != "application/octet-stream":
        raise errors.UnsupportedMediaType(
            f"Content type {ctype!r} is not supported for image data; "
            "send application/octet-stream."
        )
    length = request.headers.get("content-length")
    if length is None:
        return None
    try:
        size = int(length)
    except ValueError:
        raise errors.BadRequest("Content-Length is not a number.") from None
    if size < 0:
        raise errors.BadRequest("Content-Length cannot be negative.")
    return size


async def data_stream(request: Request) -> AsyncIterator[bytes]:
    """The body, as the server receives it: never held whole in memory."""
    async for chunk in request.stream():
        if chunk:
            yield chunk
