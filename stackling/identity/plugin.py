"""The identity service as the runtime sees it: routes, faults, start-up, token validation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.faults import Renderer, keystone_fault
from stackling.db.engine import Database
from stackling.identity.api.router import build_router
from stackling.identity.bootstrap import CatalogEntry, bootstrap
from stackling.identity.service import auth
from stackling.identity.service.core import Identity
from stackling.settings import Settings

# What each service contributes to the catalog when it runs in this process.
CATALOG: dict[str, CatalogEntry] = {
    "identity": CatalogEntry("identity", "keystone", "/identity", "Identity Service"),
    "image": CatalogEntry("image", "glance", "/image", "Image Service"),
    "placement": CatalogEntry("placement", "placement", "/placement", "Placement Service"),
    "compute": CatalogEntry("compute", "nova", "/compute/v2.1", "Compute Service"),
    "network": CatalogEntry("network", "neutron", "/networking", "Networking Service"),
    "volume": CatalogEntry("block-storage", "cinder", "/volume/v3", "Block Storage Service"),
    "object": CatalogEntry(
        "object-store", "swift", "/object/v1/AUTH_$(project_id)s", "Object Storage Service"
    ),
}
# Services listed under a second type too: Cinder as devstack registers it, `volumev3`
# with the project in its URL for clients that predate project-less URLs (3.67).
EXTRA_CATALOG: dict[str, CatalogEntry] = {
    "volume": CatalogEntry(
        "volumev3", "cinderv3", "/volume/v3/$(project_id)s", "Cinder Volume Service V3"
    ),
    # The S3 API of the object service, where clients that read the catalog look for it.
    "object": CatalogEntry("s3", "s3", "/s3", "S3 API of the Object Storage Service"),
}

# Roles a service's policy names, created at bootstrap when the service runs.
SERVICE_ROLES: dict[str, tuple[str, ...]] = {"object": ("ResellerAdmin",)}


class IdentityPlugin:
    """Keystone v3 at /identity."""

    name = "identity"
    catalog_type = "identity"
    path_prefix = "/identity"
    streamed_paths: tuple[str, ...] = ()

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.idn = Identity(settings, db)

    def router(self) -> APIRouter:
        """The Keystone routes."""
        return build_router()

    def fault_renderer(self) -> Renderer:
        """Keystone's error format."""
        return keystone_fault

    async def start(self, runtime: Any) -> None:
        """Load keys and caches, then bootstrap the cloud on first start."""
        await self.idn.start()
        entries = [CATALOG[name] for name in runtime.services if name in CATALOG]
        entries += [EXTRA_CATALOG[name] for name in runtime.services if name in EXTRA_CATALOG]
        roles = tuple(r for name in runtime.services for r in SERVICE_ROLES.get(name, ()))
        await bootstrap(self.idn, entries, roles)

    async def stop(self) -> None:
        """Stop background work."""
        await self.idn.stop()

    async def health(self) -> dict[str, Any]:
        """Status for `stackling status`."""
        return {
            "status": "ok" if self.idn.codec is not None else "starting",
            "revocation_events": len(self.idn.revocations),
        }

    async def context_for(self, token: str, request_id: str) -> RequestContext:
        """Validate an X-Auth-Token (no database read) and describe the caller."""
        try:
            tok = auth.validate(self.idn, token)
        except errors.NotFound as exc:
            raise errors.Unauthorized("The request you have made requires authentication.") from exc
        return RequestContext(
            request_id=request_id,
            auth_token=token,
            user_id=tok.user.id,
            user_name=tok.user.name,
            user_domain_id=tok.user_domain.id,
            project_id=tok.project.id if tok.project else None,
            project_name=tok.project.name if tok.project else None,
            project_domain_id=tok.project_domain.id if tok.project_domain else None,
            domain_id=tok.domain.id if tok.domain else None,
            system_scope=tok.system,
            roles=frozenset(r.name for r in tok.roles),
            role_ids=frozenset(r.id for r in tok.roles),
            trust_id=tok.trust["id"] if tok.trust else None,
            application_credential_id=tok.app_cred["id"] if tok.app_cred else None,
            token=tok,
        )
