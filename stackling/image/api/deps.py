"""Dependencies of the image routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stackling.common.http import Context
from stackling.image.service.core import ImageService

PREFIX = "/image"
V2 = "/image/v2"


async def image_service(request: Request) -> ImageService:
    """The image service's state."""
    return request.app.state.runtime.service("image").svc


async def query_pairs(request: Request) -> list[tuple[str, str]]:
    """Query parameters in order, repeated keys kept (Glance's `tag` filter repeats)."""
    return list(request.query_params.multi_items())


ImageDep = Annotated[ImageService, Depends(image_service)]
QueryPairs = Annotated[list[tuple[str, str]], Depends(query_pairs)]

__all__ = ["V2", "Context", "ImageDep", "QueryPairs"]
