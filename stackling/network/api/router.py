"""All network routes under /networking."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from stackling.common.http import require_json
from stackling.network.api.routes import (
    auto_allocated_topology,
    quotas,
    resources,
    root,
    router_interfaces,
    tags,
)


def build_router() -> APIRouter:
    """Neutron v2.0: version discovery, extensions, every resource, quotas and tags."""
    router = APIRouter(dependencies=[Depends(require_json)])
    router.include_router(root.router)
    # Quotas before the generic resources: /quotas/project is not a quota's id.
    router.include_router(quotas.router)
    router.include_router(resources.router())
    router.include_router(router_interfaces.router)
    router.include_router(tags.router)
    router.include_router(auto_allocated_topology.router)
    return router
