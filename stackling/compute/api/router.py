"""All compute routes under /compute."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from stackling.compute.api import console_proxy
from stackling.compute.api.microversion import microversion
from stackling.compute.api.routes import (
    audit_log,
    consoles,
    extensions,
    external_events,
    flavors,
    hosts,
    images_proxy,
    keypairs,
    migrations,
    networks_proxy,
    os_hosts,
    quotas,
    server_actions,
    server_extras,
    server_groups,
    servers,
    usage,
    versions,
    volume_attachments,
)


def build_router() -> APIRouter:
    """Nova v2.1: version discovery plus every resource; each route negotiates a microversion."""
    router = APIRouter()
    router.include_router(versions.router)
    # A websocket: no microversion to negotiate, and its token is its only credential.
    router.include_router(console_proxy.router)
    api = APIRouter(dependencies=[Depends(microversion)])
    for module in (
        servers,
        server_actions,
        server_extras,
        volume_attachments,
        flavors,
        keypairs,
        server_groups,
        hosts,
        quotas,
        usage,
        images_proxy,
        os_hosts,
        migrations,
        audit_log,
        extensions,
        networks_proxy,
        external_events,
        consoles,
    ):
        api.include_router(module.router)
    router.include_router(api)
    return router
