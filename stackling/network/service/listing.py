"""Lists of any resource: filters, tag filters, sorting and keyset pagination in SQL.

A resource declares a `Listing` (its model, the column behind each filterable
or sortable attribute, and filters that are not a plain column); `fetch`
turns a `ListQuery` into one SELECT on the rows the caller may see. Pages are
keyset pages: the marker row's sort values bound the next page, so a page
costs the same wherever it is in the list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from stackling.common.context import RequestContext
from stackling.network import models as m
from stackling.network.service import scope

Clause = Callable[[list[Any]], ColumnElement[bool]]


def owned_columns(model: Any) -> dict[str, Any]:
    """The list columns of every project-owned resource with standard attributes."""
    return {
        "project_id": model.project_id,
        "tenant_id": model.project_id,
        "description": model.description,
        "revision_number": model.revision_number,
        "created_at": model.created_at,
        "updated_at": model.updated_at,
    }


@dataclass(slots=True)
class ListQuery:
    """A list request after the API has read and converted its query string."""

    filters: dict[str, list[Any]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)
    # (attribute, ascending) pairs, in order.
    sorts: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    # Only rows changed at or after this time (standard-attr-timestamp's changed_since).
    changed_since: dt.datetime | None = None


@dataclass(frozen=True)
class Listing:
    """How one resource's list maps onto SQL."""

    model: type[Any]
    # attribute -> column (filters match it with IN, sorts order by it)
    columns: dict[str, Any]
    # attribute -> condition builder, for filters that are not one column
    clauses: dict[str, Clause] = field(default_factory=dict)
    # relationships to load with every row (what the view shows)
    options: tuple[Any, ...] = ()
    not_found: Callable[[str], Exception] = LookupError

    def filterable(self) -> set[str]:
        """Attributes this listing can filter on."""
        return set(self.columns) | set(self.clauses)


def _sortable(expr: Any) -> Any:
    """`expr`, with NULL replaced by a sentinel so that keyset comparisons stay total."""
    if isinstance(expr, InstrumentedAttribute):
        column = expr.property.columns[0]
        if column.nullable:
            sentinel: Any = -1 if column.type.python_type is int else ""
            return func.coalesce(expr, sentinel)
    return expr


def _tag_exists(model: type[Any], tags: list[str]) -> ColumnElement[bool]:
    return exists().where(
        m.Tag.resource_type == model.tag_type,
        m.Tag.resource_id == model.id,
        m.Tag.tag.in_(tags),
    )


def _tag_clauses(model: type[Any], query: ListQuery) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if query.tags:
        clauses.extend(_tag_exists(model, [tag]) for tag in query.tags)
    if query.tags_any:
        clauses.append(_tag_exists(model, query.tags_any))
    if query.not_tags:
        clauses.append(not_(and_(*(_tag_exists(model, [tag]) for tag in query.not_tags))))
    if query.not_tags_any:
        clauses.append(not_(_tag_exists(model, query.not_tags_any)))
    return clauses


def _keyset(keys: list[tuple[Any, bool]], values: list[Any]) -> ColumnElement[bool]:
    """Rows after the marker in the order `keys` (expression, ascending)."""
    ors = []
    for i, (expr, ascending) in enumerate(keys):
        equal = [keys[j][0] == values[j] for j in range(i)]
        beyond = expr > values[i] if ascending else expr < values[i]
        ors.append(and_(*equal, beyond))
    return or_(*ors)


async def fetch(
    s: AsyncSession,
    ctx: RequestContext,
    listing: Listing,
    query: ListQuery,
    *,
    extra: tuple[ColumnElement[bool], ...] = (),
) -> list[Any]:
    """The caller's page of rows for `query`, in the asked order."""
    model = listing.model
    stmt = scope.select_visible(ctx, model).where(*extra)
    for name, wanted in query.filters.items():
        if name in listing.clauses:
            stmt = stmt.where(listing.clauses[name](wanted))
        else:
            stmt = stmt.where(listing.columns[name].in_(wanted))
    stmt = stmt.where(*_tag_clauses(model, query))
    if query.changed_since is not None:
        stmt = stmt.where(model.updated_at >= query.changed_since)

    sorts = list(query.sorts)
    if "id" not in {key for key, _ in sorts}:
        # The id ends every order, so that pages never skip or repeat rows.
        sorts.append(("id", True))
    keys = [(_sortable(listing.columns[key]), asc != query.page_reverse) for key, asc in sorts]
    if query.marker is not None:
        marker = await s.execute(
            select(*(expr for expr, _ in keys)).where(
                scope.visible(ctx, model), model.id == query.marker
            )
        )
        values = marker.first()
        if values is None:
            raise listing.not_found(query.marker)
        stmt = stmt.where(_keyset(keys, list(values)))
    stmt = stmt.order_by(*(expr.asc() if asc else expr.desc() for expr, asc in keys))
    if query.limit:
        stmt = stmt.limit(query.limit)
    if listing.options:
        stmt = stmt.options(*listing.options)
    rows = list((await s.scalars(stmt)).unique())
    if query.page_reverse:
        rows.reverse()
    return rows
