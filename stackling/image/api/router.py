"""All image routes under /image."""

from __future__ import annotations

from fastapi import APIRouter

from stackling.image.api.routes import data, images, info, metadefs, sharing, versions


def build_router() -> APIRouter:
    """The Glance v2 API: version discovery plus every /image/v2 resource."""
    router = APIRouter()
    router.include_router(versions.router)
    for module in (images, data, sharing, info):
        router.include_router(module.router)
    router.include_router(metadefs.router)
    return router
