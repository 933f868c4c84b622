"""List queries of Cinder's lists (volumes, snapshots, backups): filters, sort, pages.

A resource declares a `Listing`: its model, the SELECT of the rows a caller may
see, its sort keys and the filters its query string may name. `parse` reads the
query string against it and `fetch` runs the page: keyset pages after the
marker row in the order asked for, then limit and offset.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement as Expr

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.volume import faults

# Parameters that are not filters; all_tenants and project_id are the admin's.
CONTROL = ("sort", "sort_key", "sort_dir", "limit", "marker", "offset", "with_count")
ADMIN_ONLY = ("all_tenants", "project_id")
TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")
FALSE_STRINGS = ("0", "f", "false", "off", "n", "no")
# The largest offset or integer filter a query may name (Cinder's DB_MAX_INT).
DB_MAX_INT = 0x7FFFFFFF

# A filter of the query string: its value -> the SQL condition it stands for.
Filter = Callable[[str], ColumnElement[bool]]


@dataclass(frozen=True, slots=True)
class SortKey:
    """A sort key: the SQL it orders by, and the same value read from a loaded row."""

    expr: Any
    value: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Listing:
    """How one resource's list maps onto SQL."""

    model: type[Any]
    # (ctx, all_projects) -> SELECT of the rows a list shows the caller.
    select: Callable[..., Select[Any]]
    sort_keys: dict[str, SortKey]
    filters: dict[str, Filter]


@dataclass(slots=True)
class ListQuery:
    """A parsed list request."""

    filters: list[ColumnElement[bool]] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    offset: int = 0
    all_projects: bool = False
    project_id: str | None = None
    with_count: bool = False


def column(attr: InstrumentedAttribute[Any]) -> SortKey:
    """A sort key on one column that is never NULL."""
    return SortKey(attr, lambda row: getattr(row, attr.key))


def blank_if_null(attr: InstrumentedAttribute[Any]) -> SortKey:
    """A sort key on a text column that may be NULL, which sorts as ''."""
    # Compared through COALESCE so that a marker always has a place in the order.
    return SortKey(func.coalesce(attr, ""), lambda row: getattr(row, attr.key) or "")


def common_sort_keys(model: Any) -> dict[str, SortKey]:
    """The sort keys of every Cinder resource: id, name, status, size, times, project."""
    return {
        "id": column(model.id),
        "name": blank_if_null(model.name),
        "display_name": blank_if_null(model.name),
        "status": column(model.status),
        "size": column(model.size),
        "created_at": column(model.created_at),
        # Never updated: as old as it is.
        "updated_at": SortKey(
            func.coalesce(model.updated_at, model.created_at),
            lambda row: row.updated_at or row.created_at,
        ),
        "project_id": column(model.project_id),
    }


def equals(attr: InstrumentedAttribute[Any]) -> Filter:
    """A filter matching the column to the value as given."""
    return lambda value: attr == value


def metadata_filter(owner_id: Any, table: Any, owner_column: Any) -> Filter:
    """Cinder's metadata={'k': 'v'} filter: rows having every pair in their metadata `table`."""

    def clause(value: str) -> ColumnElement[bool]:
        return and_(
            true(),
            *(
                owner_id.in_(select(owner_column).where(table.key == k, table.value == v))
                for k, v in _metadata(value).items()
            ),
        )

    return clause


def _int(name: str, value: str, minimum: int, maximum: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise faults.InvalidInput(f"{name} param must be an integer") from None
    if number < minimum:
        raise faults.InvalidInput(f"{name} param must be positive")
    if maximum is not None and number > maximum:
        # What no column or OFFSET of the database holds (Cinder's DB_MAX_INT check).
        raise faults.InvalidInput(f"{name} must be <= {maximum}")
    return number


def _bool(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low in TRUE_STRINGS:
        return True
    if low in FALSE_STRINGS:
        return False
    raise faults.InvalidInput(f"{name}={value}")


def int_filter(attr: InstrumentedAttribute[Any]) -> Filter:
    """A filter on an integer column; 400 unless the value is a whole number >= 0."""
    return lambda value: attr == _int(attr.key, value, 0, DB_MAX_INT)


def bool_filter(attr: InstrumentedAttribute[Any]) -> Filter:
    """A filter on a boolean column, the value spelt as Cinder accepts (true, no, 1...)."""
    return lambda value: attr.is_(_bool(attr.key, value))


def _metadata(value: str) -> dict[str, str]:
    """Cinder's metadata filter: a dict literal such as {'k': 'v'} (JSON works too)."""
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        try:
            parsed = ast.literal_eval(value)
        # Unhashable keys ({[1]: 2}) are a TypeError; deep nesting exhausts the parser.
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            parsed = None
    if not isinstance(parsed, dict):
        raise faults.InvalidInput(f"metadata filter {value!r} is not a dictionary")
    return {str(k): str(v) for k, v in parsed.items()}


def _sort(listing: Listing, params: dict[str, str]) -> list[tuple[str, str]]:
    if "sort" in params and ("sort_key" in params or "sort_dir" in params):
        raise faults.InvalidInput(
            "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used "
            "with the 'sort' parameter."
        )
    pairs: list[tuple[str, str]] = []
    if "sort" in params:
        for item in params["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key.strip(), (direction or "desc").strip().lower()))
    elif "sort_key" in params:
        pairs.append((params["sort_key"], params.get("sort_dir", "desc").lower()))
    for key, direction in pairs:
        if key not in listing.sort_keys:
            raise faults.InvalidInput(f"Invalid sort key: {key}")
        if direction not in ("asc", "desc"):
            raise faults.InvalidInput(
                f"Unknown sort direction, must be 'desc' or 'asc': {direction}"
            )
    if not pairs:
        pairs = [("created_at", "desc")]
    keys = [k for k, _ in pairs]
    if "id" not in keys:
        # A total order, so that markers never skip or repeat a row.
        pairs.append(("id", pairs[-1][1]))
    return pairs


def parse(listing: Listing, params: dict[str, str], *, is_admin: bool, max_limit: int) -> ListQuery:
    """A ListQuery from the query string; 400 for unknown filters or bad values."""
    q = ListQuery()
    for key, value in params.items():
        if key in CONTROL:
            continue
        if key in ADMIN_ONLY:
            if is_admin and key == "all_tenants":
                q.all_projects = value.strip().lower() not in FALSE_STRINGS
            elif is_admin:
                q.project_id = value
            continue
        if key not in listing.filters:
            raise faults.InvalidInput(f"Invalid filters {key} are found in query options.")
        q.filters.append(listing.filters[key](value))
    if q.project_id is not None:
        q.all_projects = True
        q.filters.append(listing.model.project_id == q.project_id)
    q.sort = _sort(listing, params)
    if "limit" in params:
        q.limit = min(_int("limit", params["limit"], 0), max_limit)
    else:
        q.limit = max_limit
    q.marker = params.get("marker") or None
    if "offset" in params:
        q.offset = _int("offset", params["offset"], 0, DB_MAX_INT)
    q.with_count = "with_count" in params and _bool("with_count", params["with_count"])
    return q


def order_by(listing: Listing, q: ListQuery) -> list[Any]:
    """ORDER BY clauses of the query's sort."""
    keys = listing.sort_keys
    return [keys[k].expr.asc() if d == "asc" else keys[k].expr.desc() for k, d in q.sort]


def after(listing: Listing, q: ListQuery, marker: Any) -> Expr[bool]:
    """Rows that come after `marker` in the query's order (keyset pagination)."""
    clauses: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for key, direction in q.sort:
        sort_key = listing.sort_keys[key]
        column = sort_key.expr
        # A bound value of the column's type: SQLAlchemy refuses `column < False` (bootable).
        value = literal(sort_key.value(marker), column.type)
        beyond = column > value if direction == "asc" else column < value
        clauses.append(and_(*equal, beyond))
        equal.append(column == value)
    return or_(*clauses) if clauses else false()


async def fetch(
    s: AsyncSession, ctx: RequestContext, listing: Listing, q: ListQuery
) -> tuple[Sequence[Any], int | None]:
    """The page of rows the query asks for, and the total count when asked (3.45)."""
    query = listing.select(ctx, all_projects=q.all_projects).where(*q.filters)
    count = None
    if q.with_count:
        count = await s.scalar(select(func.count()).select_from(query.subquery()))
    if q.marker is not None:
        # The marker may be any row the caller can reach, not only one this list shows.
        marker = await s.scalar(
            listing.select(ctx, all_projects=True).where(listing.model.id == q.marker)
        )
        if marker is None:
            raise errors.NotFound(f"Marker {q.marker} could not be found.")
        query = query.where(after(listing, q, marker))
    query = query.order_by(*order_by(listing, q)).offset(q.offset).limit(q.limit)
    return (await s.scalars(query)).all(), count
