"""All volume routes under /volume: versions, then each resource with and without project."""

from __future__ import annotations

from fastapi import APIRouter

from stackling.volume.api.deps import V3
from stackling.volume.api.routes import (
    attachments,
    backend_info,
    backups,
    group_snapshots,
    group_types,
    groups,
    qos_specs,
    quota_classes,
    quotas,
    services,
    snapshots,
    transfers,
    types,
    versions,
    volume_metadata,
    volumes,
)


def build_router() -> APIRouter:
    """Cinder v3 at /volume/v3/{project_id}/... and, since 3.67, /volume/v3/...."""
    resources = APIRouter()
    for module in (
        volumes,
        volume_metadata,
        attachments,
        types,
        quotas,
        backend_info,
        transfers,
        qos_specs,
        quota_classes,
        services,
        backups,
        snapshots,
        group_types,
        groups,
        group_snapshots,
    ):
        resources.include_router(module.router)
    router = APIRouter()
    router.include_router(versions.router)
    # Without the project first: its paths begin with a resource name, so a
    # project id is never taken for one.
    router.include_router(resources, prefix=V3)
    router.include_router(resources, prefix=f"{V3}/{{project_id}}")
    return router
