"""All placement routes under /placement."""

from __future__ import annotations

from fastapi import APIRouter

from stackling.placement.api.routes import (
    allocations,
    candidates,
    inventories,
    names,
    provider_links,
    providers,
    root,
)


def build_router() -> APIRouter:
    """The Placement 1.x API."""
    router = APIRouter()
    for module in (root, providers, inventories, provider_links, names, allocations, candidates):
        router.include_router(module.router)
    return router
