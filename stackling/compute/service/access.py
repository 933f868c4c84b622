"""The one place that scopes compute resources to the caller: other projects get 404."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute import models as m


def require_member(ctx: RequestContext) -> None:
    """403 unless the caller may change things in its project."""
    if not ctx.is_member:
        raise errors.Forbidden("Policy doesn't allow this operation to be performed.")


def require_reader(ctx: RequestContext) -> None:
    """403 unless the caller may read its project."""
    if not ctx.is_reader:
        raise errors.Forbidden("Policy doesn't allow this operation to be performed.")


def require_admin(ctx: RequestContext, what: str = "this operation") -> None:
    """403 unless the caller is an admin."""
    if not ctx.is_admin:
        raise errors.Forbidden(f"Policy doesn't allow {what} to be performed.")


def not_found(uuid: str) -> errors.NotFound:
    """Nova's message for a server that does not exist or is not the caller's."""
    return errors.NotFound(f"Instance {uuid} could not be found.")


def visible_instances(
    ctx: RequestContext, *, all_projects: bool = False
) -> Select[tuple[m.Instance]]:
    """Live instances the caller may see: its project's, or every project's for admin."""
    query = select(m.Instance).where(m.Instance.deleted.is_(False))
    if not (all_projects and ctx.is_admin):
        query = query.where(m.Instance.project_id == ctx.project_id)
    return query


def live_instance_query(uuid: str) -> Select[tuple[m.Instance]]:
    """The live instance `uuid` of any project: for the system's own lookups only."""
    return select(m.Instance).where(m.Instance.uuid == uuid, m.Instance.deleted.is_(False))


async def load_instance(
    s: AsyncSession, ctx: RequestContext, uuid: str, *, for_update: bool = False
) -> m.Instance:
    """A live instance the caller may see (admin: any project), else 404."""
    query = live_instance_query(uuid)
    if not ctx.is_admin:
        query = query.where(m.Instance.project_id == ctx.project_id)
    if for_update:
        query = query.with_for_update()
    instance = await s.scalar(query)
    if instance is None:
        raise not_found(uuid)
    return instance
