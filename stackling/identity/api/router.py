"""All identity routes under /identity."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from stackling.common.http import require_json
from stackling.identity.api.deps import PREFIX
from stackling.identity.api.routes import (
    app_creds,
    auth,
    catalog,
    credentials,
    extras,
    limits,
    projects,
    roles,
    trusts,
    users,
    versions,
)


def build_router() -> APIRouter:
    """The identity API: version discovery plus every /identity/v3 resource."""
    router = APIRouter()
    router.include_router(versions.router)
    # Each module is included once with its prefix: FastAPI re-analyses every
    # route at each level of nesting, which showed in start-up time.
    for module in (
        auth,
        projects,
        users,
        roles,
        catalog,
        app_creds,
        credentials,
        trusts,
        extras,
        limits,
    ):
        router.include_router(module.router, prefix=PREFIX, dependencies=[Depends(require_json)])
    return router
