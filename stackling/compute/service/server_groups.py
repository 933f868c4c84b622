"""Server groups: a placement policy for a set of servers, under the server_groups quotas."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute.service import access, checks, quota
from stackling.compute.service.core import ComputeService

HARD_POLICIES = ("anti-affinity", "affinity")
SOFT_POLICIES = ("soft-anti-affinity", "soft-affinity")


@dataclass(slots=True)
class GroupRecord:
    """A group with the uuids of its member servers."""

    group: m.ServerGroup
    members: list[str] = field(default_factory=list)


def not_found(uuid: str) -> errors.NotFound:
    """Nova's 404 for a server group."""
    return errors.NotFound(f"Instance group {uuid} could not be found.")


def _visible(ctx: RequestContext) -> Any:
    """SQL condition: a group the caller may see (its project's; any for admin)."""
    if ctx.is_admin:
        return m.ServerGroup.id.is_not(None)
    return m.ServerGroup.project_id == ctx.project_id


async def _members(s: AsyncSession, groups: list[m.ServerGroup]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {g.id: [] for g in groups}
    if out:
        rows = await s.execute(
            select(m.ServerGroupMember.group_id, m.ServerGroupMember.instance_uuid)
            .where(m.ServerGroupMember.group_id.in_(list(out)))
            .order_by(m.ServerGroupMember.instance_uuid)
        )
        for group_id, uuid in rows:
            out[group_id].append(uuid)
    return out


async def _records(s: AsyncSession, groups: list[m.ServerGroup]) -> list[GroupRecord]:
    members = await _members(s, groups)
    return [GroupRecord(g, members[g.id]) for g in groups]


def _policy(data: dict[str, Any], mv: Version) -> tuple[str, dict[str, int]]:
    """The policy and rules of a create body: `policies` before 2.64, `policy` + `rules` after."""
    allowed = HARD_POLICIES + (SOFT_POLICIES if mv.at_least("2.15") else ())
    if not mv.at_least("2.64"):
        policies = data["policies"]
        if not isinstance(policies, list) or len(policies) != 1:
            raise checks.invalid("policies", policies, "It must be a list of exactly one policy.")
        policy = policies[0]
        if policy not in allowed:
            raise checks.invalid("policies", policies, f"{policy!r} is not one of {list(allowed)}")
        return str(policy), {}
    policy = data["policy"]
    if policy not in allowed:
        raise checks.invalid("policy", policy, f"{policy!r} is not one of {list(allowed)}")
    raw_rules = checks.obj(data.get("rules", {}), "rules")
    checks.only(raw_rules, ("max_server_per_host",), "rules")
    rules: dict[str, int] = {}
    if "max_server_per_host" in raw_rules:
        rules["max_server_per_host"] = checks.integer(
            raw_rules["max_server_per_host"], "rules/max_server_per_host", minimum=1
        )
    if rules and policy != "anti-affinity":
        raise errors.BadRequest("Only anti-affinity policy supports rules.")
    return str(policy), rules


def parse_create(body: dict[str, Any], mv: Version) -> tuple[str, str, dict[str, int]]:
    """(name, policy, rules) of a POST /os-server-groups body."""
    checks.only(body, ("server_group",), "body")
    data = checks.obj(body.get("server_group"), "server_group")
    policy_key = "policy" if mv.at_least("2.64") else "policies"
    fields = ("name", policy_key) + (("rules",) if mv.at_least("2.64") else ())
    checks.only(data, fields, "server_group")
    checks.required(data, ("name", policy_key), "server_group")
    policy, rules = _policy(data, mv)
    return checks.name(data["name"]), policy, rules


async def create(
    svc: ComputeService, ctx: RequestContext, body: dict[str, Any], mv: Version
) -> GroupRecord:
    """POST /os-server-groups: a new empty group in the caller's project (quota server_groups)."""
    access.require_member(ctx)
    name, policy, rules = parse_create(body, mv)
    project_id = ctx.project_id or ""
    user_id = ctx.user_id or ""

    async def _create(s: AsyncSession) -> m.ServerGroup:
        await quota.lock_project(s, project_id)
        await _check_groups_quota(s, svc, project_id, user_id)
        group = m.ServerGroup(
            uuid=new_uuid(), name=name, project_id=project_id, user_id=user_id,
            policy=policy, rules=rules, created_at=m.now(),
        )  # fmt: skip
        s.add(group)
        await s.flush()
        return group

    return GroupRecord(await svc.tx(_create))


async def _check_groups_quota(
    s: AsyncSession, svc: ComputeService, project_id: str, user_id: str
) -> None:
    """One more group must fit the project's limit (and the user's, when it has its own)."""
    for scope in (None, user_id):
        limits = await quota.limits_for(s, svc.conf, project_id, scope)
        query = select(func.count(m.ServerGroup.id)).where(m.ServerGroup.project_id == project_id)
        if scope is not None:
            own = await s.scalar(
                select(m.Quota.resource).where(
                    m.Quota.project_id == project_id,
                    m.Quota.user_id == scope,
                    m.Quota.resource == "server_groups",
                )
            )
            if own is None:
                continue
            query = query.where(m.ServerGroup.user_id == scope)
        used = int(await s.scalar(query) or 0)
        limit = limits["server_groups"]
        if limit >= 0 and used + 1 > limit:
            raise errors.QuotaExceeded("Quota exceeded, too many server groups.")


async def list_groups(
    svc: ComputeService,
    ctx: RequestContext,
    *,
    all_projects: bool = False,
    limit: int | None = None,
    offset: int | None = None,
) -> list[GroupRecord]:
    """The caller's project's groups (every project's for an admin asking all_projects)."""
    access.require_reader(ctx)
    query = select(m.ServerGroup)
    if all_projects and not ctx.is_admin:
        raise errors.Forbidden(
            "Policy doesn't allow os_compute_api:os-server-groups:index:all_projects "
            "to be performed."
        )
    if not all_projects:
        query = query.where(m.ServerGroup.project_id == ctx.project_id)
    # As Nova: no limit, or 0, means the configured maximum.
    size = svc.conf.api_max_limit if not limit else min(limit, svc.conf.api_max_limit)
    query = query.order_by(m.ServerGroup.id).offset(offset or 0).limit(size)
    async with svc.db.session() as s:
        return await _records(s, list((await s.scalars(query)).all()))


async def show(svc: ComputeService, ctx: RequestContext, uuid: str) -> GroupRecord:
    """One group the caller may see (another project's is 404)."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        group = await s.scalar(
            select(m.ServerGroup).where(m.ServerGroup.uuid == uuid, _visible(ctx))
        )
        if group is None:
            raise not_found(uuid)
        return (await _records(s, [group]))[0]


async def delete(svc: ComputeService, ctx: RequestContext, uuid: str) -> None:
    """Delete a group; its servers stay, without a group."""
    access.require_member(ctx)

    async def _delete(s: AsyncSession) -> None:
        group = await s.scalar(
            select(m.ServerGroup).where(m.ServerGroup.uuid == uuid, _visible(ctx))
        )
        if group is None:
            raise not_found(uuid)
        await s.execute(
            m.ServerGroupMember.__table__.delete().where(m.ServerGroupMember.group_id == group.id)
        )
        await s.delete(group)

    await svc.tx(_delete)


async def group_for_boot(
    svc: ComputeService, ctx: RequestContext, group_uuid: Any
) -> m.ServerGroup:
    """The group a server create names in its scheduler hints; 400 when not the caller's."""
    if not isinstance(group_uuid, str) or not group_uuid:
        raise errors.BadRequest(f"Invalid server group {group_uuid!r}.")
    async with svc.db.session() as s:
        group = await s.scalar(
            select(m.ServerGroup).where(m.ServerGroup.uuid == group_uuid, _visible(ctx))
        )
    if group is None:
        raise errors.BadRequest(f"Instance group {group_uuid} could not be found.")
    return group


async def check_members_quota(
    s: AsyncSession, svc: ComputeService, group: m.ServerGroup, adding: int
) -> None:
    """403 when `adding` more servers would pass the group's server_group_members limit."""
    limits = await quota.limits_for(s, svc.conf, group.project_id, group.user_id)
    limit = limits["server_group_members"]
    if limit < 0:
        return
    used = int(
        await s.scalar(
            select(func.count(m.ServerGroupMember.instance_uuid)).where(
                m.ServerGroupMember.group_id == group.id
            )
        )
        or 0
    )
    if used + adding > limit:
        raise errors.QuotaExceeded("Quota exceeded, too many servers in group")
