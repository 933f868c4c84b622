"""List queries of Cinder's volume lists: filters, sort=key:dir, limit, marker, offset."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_
from sqlalchemy.sql.elements import ColumnElement as Expr

from stackling.volume import faults
from stackling.volume import models as m

# Sort keys -> the column each orders by (name and updated_at may be NULL: compared
# through COALESCE so that a marker always has a place in the order).
SORT_KEYS: dict[str, Any] = {
    "id": m.Volume.id,
    "name": func.coalesce(m.Volume.name, ""),
    "display_name": func.coalesce(m.Volume.name, ""),
    "status": m.Volume.status,
    "size": m.Volume.size,
    "availability_zone": m.Volume.availability_zone,
    "bootable": m.Volume.bootable,
    "created_at": m.Volume.created_at,
    "updated_at": func.coalesce(m.Volume.updated_at, m.Volume.created_at),
    "project_id": m.Volume.project_id,
}
FILTERS = ("name", "status", "metadata", "bootable", "availability_zone", "size")
# Parameters that are not filters; all_tenants and project_id are the admin's.
CONTROL = ("sort", "sort_key", "sort_dir", "limit", "marker", "offset", "with_count")
ADMIN_ONLY = ("all_tenants", "project_id")
TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")
FALSE_STRINGS = ("0", "f", "false", "off", "n", "no")


@dataclass(slots=True)
class ListQuery:
    """A parsed volume list request."""

    filters: list[ColumnElement[bool]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    offset: int = 0
    all_projects: bool = False
    project_id: str | None = None
    with_count: bool = False


def _int(name: str, value: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise faults.InvalidInput(f"{name} param must be an integer") from None
    if number < minimum:
        raise faults.InvalidInput(f"{name} param must be positive")
    return number


def _bool(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low in TRUE_STRINGS:
        return True
    if low in FALSE_STRINGS:
        return False
    raise faults.InvalidInput(f"{name}={value}")


def _metadata(value: str) -> dict[str, str]:
    """Cinder's metadata filter: a dict literal such as {'k': 'v'} (JSON works too)."""
    try:
        parsed = json.loads(value)
    except ValueError:
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = None
    if not isinstance(parsed, dict):
        raise faults.InvalidInput(f"metadata filter {value!r} is not a dictionary")
    return {str(k): str(v) for k, v in parsed.items()}


def _sort(params: dict[str, str]) -> list[tuple[str, str]]:
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
        if key not in SORT_KEYS:
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


def parse(params: dict[str, str], *, is_admin: bool, max_limit: int) -> ListQuery:
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
        if key not in FILTERS:
            raise faults.InvalidInput(f"Invalid filters {key} are found in query options.")
        if key == "metadata":
            q.metadata = _metadata(value)
        elif key == "bootable":
            q.filters.append(m.Volume.bootable.is_(_bool("bootable", value)))
        elif key == "size":
            q.filters.append(m.Volume.size == _int("size", value, 0))
        else:
            q.filters.append(getattr(m.Volume, key) == value)
    if q.project_id is not None:
        q.all_projects = True
        q.filters.append(m.Volume.project_id == q.project_id)
    q.sort = _sort(params)
    if "limit" in params:
        q.limit = min(_int("limit", params["limit"], 0), max_limit)
    else:
        q.limit = max_limit
    q.marker = params.get("marker") or None
    if "offset" in params:
        q.offset = _int("offset", params["offset"], 0)
    q.with_count = "with_count" in params and _bool("with_count", params["with_count"])
    return q


def order_by(q: ListQuery) -> list[Any]:
    """ORDER BY clauses of the query's sort."""
    return [SORT_KEYS[k].asc() if d == "asc" else SORT_KEYS[k].desc() for k, d in q.sort]


def after(q: ListQuery, marker: m.Volume) -> Expr[bool]:
    """Rows that come after `marker` in the query's order (keyset pagination)."""
    values = {
        "id": marker.id,
        "name": marker.name or "",
        "display_name": marker.name or "",
        "status": marker.status,
        "size": marker.size,
        "availability_zone": marker.availability_zone,
        "bootable": marker.bootable,
        "created_at": marker.created_at,
        "updated_at": marker.updated_at or marker.created_at,
        "project_id": marker.project_id,
    }
    clauses: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for key, direction in q.sort:
        column = SORT_KEYS[key]
        beyond = column > values[key] if direction == "asc" else column < values[key]
        clauses.append(and_(*equal, beyond))
        equal.append(column == values[key])
    return or_(*clauses) if clauses else false()
