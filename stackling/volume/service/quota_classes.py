"""Cinder's os-quota-class-sets: named limit sets; the `default` class sets every default."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.volume import models as m
from stackling.volume.service import policy, quota
from stackling.volume.service.core import VolumeService


async def _class_limits(s: AsyncSession, svc: VolumeService, class_name: str) -> dict[str, Any]:
    found: dict[str, Any] = quota.defaults(svc.conf)
    rows = await s.scalars(
        select(m.VolumeQuotaClass).where(m.VolumeQuotaClass.class_name == class_name)
    )
    for row in rows:
        if row.resource in found:
            found[row.resource] = row.hard_limit
    found.update(await quota.class_type_limits(s, class_name))
    return found


async def known_resources(svc: VolumeService) -> tuple[str, ...]:
    """What a class update may set: the resources, and the per-type ones of existing types."""
    async with svc.db.session() as s:
        return quota.RESOURCES + tuple(await quota.type_keys(s))


async def show(svc: VolumeService, ctx: RequestContext, class_name: str) -> dict[str, Any]:
    """A class's limits: its own where set, the configured defaults elsewhere (admin)."""
    policy.enforce(ctx, "volume_extension:quota_classes")
    async with svc.db.session() as s:
        return await _class_limits(s, svc, class_name)


async def update(
    svc: VolumeService, ctx: RequestContext, class_name: str, new: dict[str, int]
) -> dict[str, Any]:
    """Set a class's limits (admin); the `default` class changes every project's defaults."""
    policy.enforce(ctx, "volume_extension:quota_classes:update")

    async def _do(s: AsyncSession) -> dict[str, Any]:
        for resource, limit in new.items():
            row = await s.get(m.VolumeQuotaClass, (class_name, resource))
            if row is None:
                s.add(
                    m.VolumeQuotaClass(class_name=class_name, resource=resource, hard_limit=limit)
                )
            else:
                row.hard_limit = limit
        await s.flush()
        return await _class_limits(s, svc, class_name)

    return await svc.tx(_do)
