"""Who sees which namespace, who may change it, and the write and paging helpers.

Every query of a namespace goes through `find_namespace` (or `visible_to`), so
a private namespace of another project is simply absent for the caller: the
same 404 as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.db.engine import Database
from stackling.image.metadefs import models as m
from stackling.image.metadefs.policy import POLICY, caller_target

T = TypeVar("T")
NS = m.MetadefNamespace


def namespace_not_found(name: str) -> errors.NotFound:
    """The error for a namespace that does not exist or is not visible."""
    return errors.NotFound(f"Metadata definition namespace={name} was not found.")


def forbidden(action: str) -> errors.Forbidden:
    """The error for an action the policy refuses."""
    return errors.Forbidden(f"You are not authorized to perform the requested action: {action}.")


def visible_to(ctx: RequestContext) -> ColumnElement[bool]:
    """Namespaces the caller may see: all for an admin, else public, unowned or its own."""
    if ctx.is_admin:
        return true()
    shown: list[ColumnElement[bool]] = [NS.visibility == "public", NS.owner.is_(None)]
    if ctx.project_id is not None:
        shown.append(NS.owner == ctx.project_id)
    return or_(*shown)


async def find_namespace(s: AsyncSession, ctx: RequestContext, name: str) -> m.MetadefNamespace:
    """The namespace called `name`, if the caller may see it; NotFound otherwise."""
    row = await s.scalar(select(NS).where(NS.namespace == name, visible_to(ctx)))
    if row is None:
        raise namespace_not_found(name)
    return row


def namespace_target(ns: m.MetadefNamespace) -> dict[str, Any]:
    """The policy target of a namespace."""
    return {"project_id": ns.owner, "visibility": ns.visibility}


def require(ctx: RequestContext, action: str) -> None:
    """Enforce a rule that concerns no namespace in particular."""
    if not POLICY.check(ctx, action, caller_target(ctx)):
        raise forbidden(action)


def authorize(ctx: RequestContext, action: str, ns: m.MetadefNamespace) -> None:
    """Enforce `action` on `ns`: 404 when the caller may not even read it, else 403."""
    target = namespace_target(ns)
    if POLICY.check(ctx, action, target):
        return
    if action == "get_metadef_namespace" or not POLICY.check(ctx, "get_metadef_namespace", target):
        raise namespace_not_found(ns.namespace)
    raise forbidden(action)


def may_read(ctx: RequestContext, ns: m.MetadefNamespace) -> bool:
    """Whether the policy lets the caller read `ns` (used to filter lists)."""
    return POLICY.check(ctx, "get_metadef_namespace", namespace_target(ns))


def refuse_if_protected(ns: m.MetadefNamespace, what: str) -> None:
    """A protected namespace keeps itself and its content: 403."""
    if ns.protected:
        raise errors.Forbidden(f"{what} is protected and cannot be deleted.")


async def write(
    db: Database, fn: Callable[[AsyncSession], Awaitable[T]], conflict: str = "Conflict"
) -> T:
    """Run `fn` in a write transaction; a unique key lost to a concurrent writer is a 409."""
    try:
        return await db.write(fn)
    except IntegrityError as exc:
        raise errors.Conflict(conflict) from exc


def after_marker(
    query: Select[Any],
    exprs: Sequence[ColumnElement[Any]],
    marker: Sequence[Any] | None,
    *,
    descending: bool,
) -> Select[Any]:
    """Order `query` by `exprs` and keep the rows strictly after `marker`'s values.

    The last expression must be unique (the id), so the order is total and
    a page boundary never drops or repeats a row.
    """
    ordered = query.order_by(*[e.desc() if descending else e.asc() for e in exprs])
    if marker is None:
        return ordered
    after = []
    for i, expr in enumerate(exprs):
        equal = [exprs[j] == marker[j] for j in range(i)]
        beyond = expr < marker[i] if descending else expr > marker[i]
        after.append(and_(*equal, beyond))
    return ordered.where(or_(*after))
