"""Security groups and their rules, with each project's `default` group made on first use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.network import faults, policy
from stackling.network import models as m
from stackling.network.service import listing, quota, revisions, scope, tags
from stackling.network.service.core import NetworkService
from stackling.network.service.sg_rules import Rule, default_rules, normalise

OPTIONS = (selectinload(m.SecurityGroup.rules), selectinload(m.SecurityGroup.tags))
DEFAULT_NAME = "default"

GROUPS = listing.Listing(
    model=m.SecurityGroup,
    columns={
        "id": m.SecurityGroup.id,
        "name": m.SecurityGroup.name,
        **listing.owned_columns(m.SecurityGroup),
        "stateful": m.SecurityGroup.stateful,
    },
    options=OPTIONS,
    not_found=faults.SecurityGroupNotFound,
)

RULES = listing.Listing(
    model=m.SecurityGroupRule,
    columns={
        "id": m.SecurityGroupRule.id,
        "security_group_id": m.SecurityGroupRule.security_group_id,
        **listing.owned_columns(m.SecurityGroupRule),
        "direction": m.SecurityGroupRule.direction,
        "ethertype": m.SecurityGroupRule.ethertype,
        "protocol": m.SecurityGroupRule.protocol,
        "port_range_min": m.SecurityGroupRule.port_range_min,
        "port_range_max": m.SecurityGroupRule.port_range_max,
        "remote_ip_prefix": m.SecurityGroupRule.remote_ip_prefix,
        "remote_group_id": m.SecurityGroupRule.remote_group_id,
    },
    not_found=faults.SecurityGroupRuleNotFound,
)


def _rule_row(group: m.SecurityGroup, rule: Rule, description: str = "") -> m.SecurityGroupRule:
    return m.SecurityGroupRule(
        id=new_uuid(),
        project_id=group.project_id,
        security_group_id=group.id,
        direction=rule.direction,
        ethertype=rule.ethertype,
        protocol=rule.protocol,
        port_range_min=rule.port_range_min,
        port_range_max=rule.port_range_max,
        remote_ip_prefix=rule.remote_ip_prefix,
        remote_group_id=rule.remote_group_id,
        fingerprint=rule.fingerprint,
        description=description,
    )


async def default_group_id(s: AsyncSession, project_id: str) -> str:
    """The project's default group, created (with Neutron's rules) if it has none yet.

    The project's row in network_default_security_groups is the claim: when two
    requests create it at once, the one whose insert fails uses the other's.
    """
    found = await s.get(m.DefaultSecurityGroup, project_id)
    if found is not None:
        return found.security_group_id
    group = m.SecurityGroup(
        id=new_uuid(),
        project_id=project_id,
        name=DEFAULT_NAME,
        description="Default security group",
    )
    try:
        async with s.begin_nested():
            s.add(group)
            await s.flush()
            s.add(m.DefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
            await s.flush()
            s.add_all(_rule_row(group, r) for r in default_rules(group.id, with_ingress=True))
            await s.flush()
    except IntegrityError:
        found = await s.get(m.DefaultSecurityGroup, project_id, populate_existing=True)
        if found is None:
            raise
        return found.security_group_id
    return group.id


async def ensure_default(svc: NetworkService, project_id: str | None) -> None:
    """Make sure the project has its default group (a write only the first time)."""
    if not project_id:
        return
    async with svc.db.session() as s:
        if await s.get(m.DefaultSecurityGroup, project_id) is not None:
            return
    await svc.tx(lambda s: default_group_id(s, project_id))


async def _reload(s: AsyncSession, group_id: str) -> m.SecurityGroup:
    query = select(m.SecurityGroup).where(m.SecurityGroup.id == group_id).options(*OPTIONS)
    return (await s.execute(query.execution_options(populate_existing=True))).scalar_one()


async def list_groups(
    svc: NetworkService, ctx: RequestContext, query: listing.ListQuery
) -> list[m.SecurityGroup]:
    """The caller's security groups (its default group included, made if need be)."""
    await ensure_default(svc, ctx.project_id)
    async with svc.db.session() as s:
        return await listing.fetch(s, ctx, GROUPS, query)


async def show_group(svc: NetworkService, ctx: RequestContext, group_id: str) -> m.SecurityGroup:
    """One security group the caller may see."""
    async with svc.db.session() as s:
        return await scope.load(
            s, ctx, m.SecurityGroup, group_id, faults.SecurityGroupNotFound, options=OPTIONS
        )


async def create_group(
    svc: NetworkService, ctx: RequestContext, body: dict[str, Any]
) -> m.SecurityGroup:
    """A new group, with egress rules for both IP families (as Neutron adds them)."""
    project_id = body["project_id"]
    policy.enforce(ctx, "create_security_group", {"project_id": project_id})
    if body.get("name", "").lower() == DEFAULT_NAME:
        raise faults.SecurityGroupDefaultAlreadyExists()

    async def _create(s: AsyncSession) -> m.SecurityGroup:
        await default_group_id(s, project_id)
        await quota.reserve(s, svc.conf, project_id, {"security_group": 1})
        group = m.SecurityGroup(
            id=new_uuid(),
            project_id=project_id,
            name=body.get("name", ""),
            description=body.get("description", ""),
            stateful=body.get("stateful", True),
        )
        s.add(group)
        await s.flush()
        s.add_all(_rule_row(group, r) for r in default_rules(group.id, with_ingress=False))
        return await _reload(s, group.id)

    return await svc.tx(_create)


async def _is_default(s: AsyncSession, group: m.SecurityGroup) -> bool:
    found = await s.get(m.DefaultSecurityGroup, group.project_id)
    return found is not None and found.security_group_id == group.id


async def update_group(
    svc: NetworkService,
    ctx: RequestContext,
    group_id: str,
    body: dict[str, Any],
    revision: int | None = None,
) -> m.SecurityGroup:
    """Rename or describe a group (the default group keeps its name)."""

    async def _update(s: AsyncSession) -> m.SecurityGroup:
        group = await scope.load(
            s, ctx, m.SecurityGroup, group_id, faults.SecurityGroupNotFound, for_update=True
        )
        policy.enforce(ctx, "update_security_group", {"project_id": group.project_id})
        revisions.check(group, revision)
        if "name" in body and body["name"] != group.name:
            if await _is_default(s, group):
                raise faults.SecurityGroupCannotUpdateDefault()
            if body["name"].lower() == DEFAULT_NAME:
                raise faults.SecurityGroupDefaultAlreadyExists()
        columns = {"name": "name", "description": "description", "stateful": "stateful"}
        if revisions.apply(group, body, columns):
            revisions.bump(group)
        await s.flush()
        return await _reload(s, group.id)

    group = await svc.tx(_update)
    await svc.notify_data_plane("security_group", group.id, "updated")
    return group


async def delete_group(
    svc: NetworkService, ctx: RequestContext, group_id: str, revision: int | None = None
) -> None:
    """Delete a group no port uses (only admins may delete a project's default group)."""

    async def _delete(s: AsyncSession) -> None:
        group = await scope.load(
            s, ctx, m.SecurityGroup, group_id, faults.SecurityGroupNotFound, for_update=True
        )
        policy.enforce(ctx, "delete_security_group", {"project_id": group.project_id})
        revisions.check(group, revision)
        if await _is_default(s, group) and not ctx.is_admin:
            raise faults.SecurityGroupCannotRemoveDefault()
        used = await s.scalar(
            select(m.PortSecurityGroup.port_id)
            .where(m.PortSecurityGroup.security_group_id == group.id)
            .limit(1)
        )
        if used is not None:
            raise faults.SecurityGroupInUse(group.id)
        rule_ids = list(
            await s.scalars(
                select(m.SecurityGroupRule.id).where(
                    m.SecurityGroupRule.security_group_id == group.id
                )
            )
        )
        await tags.forget(s, "security_group_rules", rule_ids)
        await tags.forget(s, "security_groups", [group.id])
        await s.execute(delete(m.SecurityGroup).where(m.SecurityGroup.id == group.id))

    await svc.tx(_delete)
    await svc.notify_data_plane("security_group", group_id, "deleted")


async def list_rules(
    svc: NetworkService, ctx: RequestContext, query: listing.ListQuery
) -> list[m.SecurityGroupRule]:
    """The rules the caller may see."""
    await ensure_default(svc, ctx.project_id)
    async with svc.db.session() as s:
        return await listing.fetch(s, ctx, RULES, query)


async def show_rule(svc: NetworkService, ctx: RequestContext, rule_id: str) -> m.SecurityGroupRule:
    """One rule the caller may see."""
    async with svc.db.session() as s:
        return await scope.load(
            s, ctx, m.SecurityGroupRule, rule_id, faults.SecurityGroupRuleNotFound
        )


async def create_rule(
    svc: NetworkService, ctx: RequestContext, body: dict[str, Any]
) -> m.SecurityGroupRule:
    """A new rule in a group the caller owns; 409 when the group has an identical one."""
    rule = normalise(body)

    async def _create(s: AsyncSession) -> m.SecurityGroupRule:
        group = await scope.load(
            s, ctx, m.SecurityGroup, body["security_group_id"], faults.SecurityGroupNotFound,
            for_update=True,
        )  # fmt: skip
        policy.enforce(ctx, "create_security_group_rule", {"project_id": group.project_id})
        if rule.remote_group_id is not None:
            await scope.load(
                s, ctx, m.SecurityGroup, rule.remote_group_id, faults.SecurityGroupNotFound,
                for_share=True,
            )  # fmt: skip
        same = await s.scalar(
            select(m.SecurityGroupRule.id).where(
                m.SecurityGroupRule.security_group_id == group.id,
                m.SecurityGroupRule.fingerprint == rule.fingerprint,
            )
        )
        if same is not None:
            raise faults.SecurityGroupRuleExists(same)
        await quota.reserve(s, svc.conf, group.project_id, {"security_group_rule": 1})
        row = _rule_row(group, rule, body.get("description", ""))
        s.add(row)
        await s.flush()
        revisions.bump(group)
        return row

    try:
        row = await svc.tx(_create)
    except IntegrityError as exc:
        # Usually an identical rule created at the same moment (the fingerprint key
        # refused this one); otherwise a group vanished under us.
        async with svc.db.session() as s:
            same = await s.scalar(
                select(m.SecurityGroupRule.id).where(
                    m.SecurityGroupRule.security_group_id == body["security_group_id"],
                    m.SecurityGroupRule.fingerprint == rule.fingerprint,
                )
            )
        if same is None:
            raise errors.Conflict("The security group changed meanwhile; retry.") from exc
        raise faults.SecurityGroupRuleExists(same) from None
    await svc.notify_data_plane("security_group", row.security_group_id, "updated")
    return row


async def delete_rule(
    svc: NetworkService, ctx: RequestContext, rule_id: str, revision: int | None = None
) -> None:
    """Delete a rule of a group the caller owns."""

    async def _delete(s: AsyncSession) -> str:
        row = await scope.load(
            s, ctx, m.SecurityGroupRule, rule_id, faults.SecurityGroupRuleNotFound
        )
        policy.enforce(ctx, "delete_security_group_rule", {"project_id": row.project_id})
        revisions.check(row, revision)
        group = await s.get_one(m.SecurityGroup, row.security_group_id, with_for_update=True)
        await s.execute(delete(m.SecurityGroupRule).where(m.SecurityGroupRule.id == row.id))
        revisions.bump(group)
        return group.id

    group_id = await svc.tx(_delete)
    await svc.notify_data_plane("security_group", group_id, "updated")


async def groups_for_port(
    s: AsyncSession, ctx: RequestContext, project_id: str, asked: list[str] | None
) -> list[str]:
    """The groups a port gets: those asked for (each visible to the caller), else default."""
    if asked is None:
        return [await default_group_id(s, project_id)]
    found = []
    for group_id in dict.fromkeys(asked):
        # Share-locked: a group cannot be deleted between this check and the binding.
        group = await scope.load(
            s, ctx, m.SecurityGroup, group_id, faults.SecurityGroupNotFound, for_share=True
        )
        found.append(group.id)
    return found
