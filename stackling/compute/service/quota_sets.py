"""os-quota-sets, os-quota-class-sets and /limits over the quotas of service/quota.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute.service import access, checks, quota
from stackling.compute.service.core import ComputeService

BASE = (
    "instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups",
    "server_group_members",
)  # fmt: skip
GROUPS = ("server_groups", "server_group_members")
# Quotas Nova once proxied to nova-network: shown unlimited, accepted and ignored until 2.36.
NETWORK = ("fixed_ips", "floating_ips", "security_group_rules", "security_groups")
_POLICY = "os_compute_api:os-quota-sets:{}"


@dataclass(slots=True)
class QuotaView:
    """Limits (and, for the detailed view, usage) of the resources a microversion shows."""

    limits: dict[str, int]
    used: dict[str, int]


def set_resources(mv: Version) -> list[str]:
    """The keys of a quota set at this microversion."""
    keys = list(BASE)
    if not mv.at_least("2.57"):
        keys += quota.INJECTED
    if not mv.at_least("2.36"):
        keys += NETWORK
    return keys


def class_resources(mv: Version) -> list[str]:
    """The keys of a quota class set: groups only from 2.50, network ones only before it."""
    keys = [k for k in BASE if mv.at_least("2.50") or k not in GROUPS]
    if not mv.at_least("2.57"):
        keys += quota.INJECTED
    if not mv.at_least("2.50"):
        keys += NETWORK
    return keys


def _shown(limits: dict[str, int], keys: list[str]) -> dict[str, int]:
    return {key: limits.get(key, -1) for key in keys}


def _check_reader(ctx: RequestContext, project_id: str, action: str) -> None:
    """Members read their own project's quotas; admins any project's."""
    access.require_reader(ctx)
    if not ctx.is_admin and project_id != ctx.project_id:
        raise errors.Forbidden(f"Policy doesn't allow {_POLICY.format(action)} to be performed.")


async def show(
    svc: ComputeService,
    ctx: RequestContext,
    project_id: str,
    mv: Version,
    *,
    user_id: str | None = None,
    detail: bool = False,
) -> QuotaView:
    """A project's (or a user's) limits, with usage for /detail."""
    _check_reader(ctx, project_id, "detail" if detail else "show")
    async with svc.db.session() as s:
        limits = await quota.limits_for(s, svc.conf, project_id, user_id)
        used = await quota.usage(s, project_id, user_id) if detail else {}
    keys = set_resources(mv)
    return QuotaView(_shown(limits, keys), {key: used.get(key, 0) for key in keys})


async def defaults(
    svc: ComputeService, ctx: RequestContext, project_id: str, mv: Version
) -> dict[str, int]:
    """The default limits any project starts with."""
    async with svc.db.session() as s:
        limits = await quota.class_limits(s, svc.conf)
    return _shown(limits, set_resources(mv))


def _values(data: dict[str, Any], allowed: list[str], where: str) -> dict[str, int]:
    checks.only(data, allowed, where)
    return {
        key: checks.integer(value, key, minimum=-1, maximum=checks.MAX_INT)
        for key, value in data.items()
    }


def _check_limit(resource: str, limit: int, minimum: int, maximum: int) -> None:
    """Nova's rule: a limit covers what is used, and a user's stays within its project's."""
    if limit < minimum and (maximum != -1 or limit != -1):
        raise errors.BadRequest(
            f"Quota limit {limit} for {resource} must be greater than or equal to already "
            f"used and reserved {minimum}."
        )
    if maximum != -1 and limit > maximum:
        raise errors.BadRequest(
            f"Quota limit {limit} for {resource} must be less than or equal to {maximum}."
        )


async def update(
    svc: ComputeService,
    ctx: RequestContext,
    project_id: str,
    body: dict[str, Any],
    mv: Version,
    *,
    user_id: str | None = None,
) -> dict[str, int]:
    """PUT /os-quota-sets/{project} (admin): below usage only with force; -1 is unlimited."""
    access.require_admin(ctx, _POLICY.format("update"))
    checks.only(body, ("quota_set",), "body")
    data = dict(checks.obj(body.get("quota_set"), "quota_set"))
    force = checks.boolean(data.pop("force", False), "force")
    values = _values(data, set_resources(mv), "quota_set")
    for key in NETWORK:
        values.pop(key, None)

    async def _update(s: AsyncSession) -> dict[str, int]:
        await quota.lock_project(s, project_id)
        used = await quota.usage(s, project_id, user_id)
        project_limits = await quota.limits_for(s, svc.conf, project_id)
        for resource, limit in values.items():
            if not force:
                maximum = project_limits[resource] if user_id is not None else -1
                _check_limit(resource, limit, used.get(resource, 0), maximum)
            row = await s.get(m.Quota, (project_id, user_id or "", resource))
            if row is None:
                s.add(m.Quota(project_id=project_id, user_id=user_id or "", resource=resource,
                              hard_limit=limit))  # fmt: skip
            else:
                row.hard_limit = limit
        await s.flush()
        return await quota.limits_for(s, svc.conf, project_id, user_id)

    return _shown(await svc.tx(_update), set_resources(mv))


async def revert(
    svc: ComputeService, ctx: RequestContext, project_id: str, *, user_id: str | None = None
) -> None:
    """DELETE /os-quota-sets/{project} (admin): back to the defaults (a user's, or all)."""
    access.require_admin(ctx, _POLICY.format("delete"))

    async def _revert(s: AsyncSession) -> None:
        query = delete(m.Quota).where(m.Quota.project_id == project_id)
        if user_id is not None:
            query = query.where(m.Quota.user_id == user_id)
        await s.execute(query)

    await svc.tx(_revert)


async def _class_limits(s: AsyncSession, svc: ComputeService, name: str) -> dict[str, int]:
    limits = quota.defaults(svc.conf)
    rows = await s.scalars(select(m.QuotaClass).where(m.QuotaClass.class_name == name))
    for row in rows:
        if row.resource in limits:
            limits[row.resource] = row.hard_limit
    return limits


async def show_class(
    svc: ComputeService, ctx: RequestContext, name: str, mv: Version
) -> dict[str, int]:
    """GET /os-quota-class-sets/{name} (admin); only `default` affects projects."""
    access.require_admin(ctx, "os_compute_api:os-quota-class-sets:show")
    async with svc.db.session() as s:
        limits = await _class_limits(s, svc, name)
    return _shown(limits, class_resources(mv))


async def update_class(
    svc: ComputeService, ctx: RequestContext, name: str, body: dict[str, Any], mv: Version
) -> dict[str, int]:
    """PUT /os-quota-class-sets/{name} (admin): set class limits (created when new)."""
    access.require_admin(ctx, "os_compute_api:os-quota-class-sets:update")
    checks.string(name, "id", min_length=1)
    checks.only(body, ("quota_class_set",), "body")
    data = checks.obj(body.get("quota_class_set"), "quota_class_set")
    values = _values(data, class_resources(mv), "quota_class_set")
    for key in NETWORK:
        values.pop(key, None)

    async def _update(s: AsyncSession) -> dict[str, int]:
        for resource, limit in values.items():
            row = await s.get(m.QuotaClass, (name, resource))
            if row is None:
                s.add(m.QuotaClass(class_name=name, resource=resource, hard_limit=limit))
            else:
                row.hard_limit = limit
        await s.flush()
        return await _class_limits(s, svc, name)

    return _shown(await svc.tx(_update), class_resources(mv))


async def limits(
    svc: ComputeService, ctx: RequestContext, tenant_id: str | None = None
) -> QuotaView:
    """GET /limits: the project's limits and usage (an admin may name another project)."""
    project_id = ctx.project_id or ""
    if tenant_id is not None and tenant_id != project_id:
        if not ctx.is_admin:
            raise errors.Forbidden(
                "Policy doesn't allow os_compute_api:limits:other_project to be performed."
            )
        project_id = tenant_id
    async with svc.db.session() as s:
        found = await quota.limits_for(s, svc.conf, project_id)
        used = await quota.usage(s, project_id)
    return QuotaView(found, used)
