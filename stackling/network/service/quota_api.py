"""The quotas API's decisions: who may read or change which project's limits."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.network import policy
from stackling.network.service import quota
from stackling.network.service.core import NetworkService

RESOURCES = tuple(quota.RESOURCES)


async def list_quotas(svc: NetworkService, ctx: RequestContext) -> list[dict[str, Any]]:
    """The limits of every project that has some of its own (admin only)."""
    policy.enforce(ctx, "update_quota")
    async with svc.db.session() as s:
        out = []
        for project_id in await quota.projects_with_limits(s):
            limits = await quota.limits(s, svc.conf, project_id)
            out.append({**limits, "project_id": project_id, "tenant_id": project_id})
        return out


async def show(svc: NetworkService, ctx: RequestContext, project_id: str) -> dict[str, int]:
    """A project's limits (its own members and admins may read them)."""
    policy.enforce(ctx, "get_quota", {"project_id": project_id})
    async with svc.db.session() as s:
        return await quota.limits(s, svc.conf, project_id)


async def defaults(svc: NetworkService, ctx: RequestContext, project_id: str) -> dict[str, int]:
    """The configured defaults."""
    policy.enforce(ctx, "get_quota", {"project_id": project_id})
    return quota.defaults(svc.conf)


async def details(
    svc: NetworkService, ctx: RequestContext, project_id: str
) -> dict[str, dict[str, int]]:
    """Each limit with the project's usage (nothing is ever reserved: checks are atomic)."""
    policy.enforce(ctx, "get_quota", {"project_id": project_id})
    async with svc.db.session() as s:
        limits = await quota.limits(s, svc.conf, project_id)
        used = await quota.usage(s, project_id)
    return {
        name: {"limit": limit, "used": used[name], "reserved": 0} for name, limit in limits.items()
    }


async def update(
    svc: NetworkService,
    ctx: RequestContext,
    project_id: str,
    new: dict[str, int],
    force: bool,
) -> dict[str, int]:
    """Set limits; one below what the project already uses needs `force` (400 otherwise)."""
    policy.enforce(ctx, "update_quota", {"project_id": project_id})

    async def _update(s: AsyncSession) -> dict[str, int]:
        await quota.lock_project(s, project_id)
        if not force:
            for name, limit in new.items():
                used = await quota.used(s, project_id, name)
                if limit != quota.UNLIMITED and used > limit:
                    raise errors.BadRequest(
                        f"Quota limit {limit} for {name} must be greater than or equal to "
                        f"already used {used}"
                    )
        await quota.set_limits(s, project_id, new)
        await s.flush()
        return await quota.limits(s, svc.conf, project_id)

    return await svc.tx(_update)


async def reset(svc: NetworkService, ctx: RequestContext, project_id: str) -> None:
    """Forget a project's own limits."""
    policy.enforce(ctx, "delete_quota", {"project_id": project_id})
    await svc.tx(lambda s: quota.reset(s, project_id))
