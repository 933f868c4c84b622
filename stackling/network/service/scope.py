"""The one place that decides which rows a caller may see: other projects' are 404.

Every list and every lookup of a network resource starts from `visible()`, so
isolation does not depend on each endpoint remembering it. Admins see every
project's resources; others see their own project's, plus networks that are
shared or external (and the subnets of shared ones), shared subnet pools, and the ports on
networks they own, as Neutron's query hooks allow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.network import models as m

M = TypeVar("M")


def _network_clause(ctx: RequestContext) -> ColumnElement[bool]:
    return or_(
        m.Network.project_id == ctx.project_id,
        m.Network.shared.is_(True),
        m.Network.external.is_(True),
    )


def _subnet_clause(ctx: RequestContext) -> ColumnElement[bool]:
    # An external network is visible to all, its subnets only when it is also shared
    # (Neutron hides a public network's addressing from the projects using it).
    shared_networks = select(m.Network.id).where(m.Network.shared.is_(True))
    return or_(m.Subnet.project_id == ctx.project_id, m.Subnet.network_id.in_(shared_networks))


def _port_clause(ctx: RequestContext) -> ColumnElement[bool]:
    own_networks = select(m.Network.id).where(m.Network.project_id == ctx.project_id)
    return or_(m.Port.project_id == ctx.project_id, m.Port.network_id.in_(own_networks))


def _subnetpool_clause(ctx: RequestContext) -> ColumnElement[bool]:
    return or_(m.SubnetPool.project_id == ctx.project_id, m.SubnetPool.shared.is_(True))


def _rule_clause(ctx: RequestContext) -> ColumnElement[bool]:
    own_groups = select(m.SecurityGroup.id).where(m.SecurityGroup.project_id == ctx.project_id)
    return or_(
        m.SecurityGroupRule.project_id == ctx.project_id,
        m.SecurityGroupRule.security_group_id.in_(own_groups),
    )


_CLAUSES: dict[type, Callable[[RequestContext], ColumnElement[bool]]] = {
    m.Network: _network_clause,
    m.Subnet: _subnet_clause,
    m.Port: _port_clause,
    m.SubnetPool: _subnetpool_clause,
    m.SecurityGroupRule: _rule_clause,
    # Agents are the cloud's own: admins see them, nobody else.
    m.Agent: lambda _ctx: false(),
}


def visible(ctx: RequestContext, model: type[Any]) -> ColumnElement[bool]:
    """SQL condition: rows of `model` the caller may see."""
    if ctx.is_admin:
        return true()
    if ctx.project_id is None:
        return false()
    clause = _CLAUSES.get(model)
    if clause is not None:
        return clause(ctx)
    return model.project_id == ctx.project_id  # type: ignore[no-any-return]


def select_visible(ctx: RequestContext, model: type[M]) -> Select[tuple[M]]:
    """SELECT of the rows of `model` the caller may see."""
    return select(model).where(visible(ctx, model))


async def load(
    s: AsyncSession,
    ctx: RequestContext,
    model: type[M],
    ident: str,
    not_found: Callable[[str], Exception],
    *,
    options: tuple[Any, ...] = (),
    for_update: bool = False,
    for_share: bool = False,
) -> M:
    """The row `ident` of `model` if the caller may see it; the resource's 404 otherwise.

    `for_update` locks the row against every other writer until the transaction
    ends, `for_share` only against those that lock it for update (PostgreSQL;
    SQLite's single writer needs neither).
    """
    query = select_visible(ctx, model).where(model.id == ident)  # type: ignore[attr-defined]
    if options:
        query = query.options(*options)
    if for_update or for_share:
        query = query.with_for_update(read=for_share and not for_update)
    row = await s.scalar(query.execution_options(populate_existing=True))
    if row is None:
        raise not_found(ident)
    return row


def owns(ctx: RequestContext, project_id: str) -> bool:
    """Whether the caller may change a resource of `project_id` (its member, or admin)."""
    return ctx.is_admin or (ctx.is_member and ctx.project_id == project_id)
