"""The metadata service over the compute database: who an instance is, and its password.

`DatabaseMetadataBackend` is the `MetadataBackend` the HTTP app runs on in a
cloud; `metadata_endpoint` bundles that app with the signer the network
side's metadata server needs, so the network service gets both from the
compute service at start instead of importing compute code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.compute import models as m
from stackling.compute.agent.spec import metadata_source
from stackling.compute.metadata.app import build_metadata_app
from stackling.compute.metadata.signing import sign_instance_id
from stackling.compute.metadata.source import InstanceMetadataSource
from stackling.compute.metadata.vifs import vifs_from_network_info
from stackling.compute.service.core import ComputeService

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class DatabaseMetadataBackend:
    """Instances (not deleted) by uuid, with their metadata items and NICs; passwords set once."""

    def __init__(self, svc: ComputeService) -> None:
        self.svc = svc
        self.shared_secret = svc.metadata_secret()

    async def source_for(self, instance_id: str) -> InstanceMetadataSource | None:
        """The instance's metadata snapshot; None if there is no such (live) instance."""
        async with self.svc.db.session() as s:
            instance = await s.scalar(
                select(m.Instance).where(
                    m.Instance.uuid == instance_id, m.Instance.deleted.is_(False)
                )
            )
            if instance is None:
                return None
            rows = await s.scalars(
                select(m.InstanceMetadata).where(m.InstanceMetadata.instance_uuid == instance_id)
            )
            items = {row.key: row.value for row in rows}
        # The metadata API never shows the admin password (only a config drive does).
        return metadata_source(instance, items, vifs=vifs_from_network_info(instance.network_info))

    async def set_password(self, instance_id: str, password: str) -> bool:
        """Keep the guest's encrypted password unless one is set already; whether it was kept."""

        async def _set(s: AsyncSession) -> bool:
            # Compare-and-set: of two guests' posts racing, exactly one wins.
            result = await s.execute(
                update(m.Instance)
                .where(
                    m.Instance.uuid == instance_id,
                    m.Instance.deleted.is_(False),
                    or_(m.Instance.guest_password.is_(None), m.Instance.guest_password == ""),
                )
                .values(guest_password=password)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

        return await self.svc.tx(_set)


@dataclass(frozen=True, slots=True)
class MetadataEndpoint:
    """The metadata app and how to vouch for an instance to it (X-Instance-ID-Signature)."""

    app: ASGIApp
    secret: bytes

    def sign(self, instance_id: str) -> str:
        """The signature the app accepts for `instance_id`."""
        return sign_instance_id(self.secret, instance_id)


def metadata_endpoint(svc: ComputeService) -> MetadataEndpoint:
    """The metadata app over this cloud's database, with its signer."""
    backend = DatabaseMetadataBackend(svc)
    return MetadataEndpoint(build_metadata_app(backend), backend.shared_secret)
