"""List queries of Cinder's snapshot lists: filters, sort, limit, marker, offset."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_
from sqlalchemy.sql.elements import ColumnElement as Expr

from stackling.volume import faults
from stackling.volume import models as m
from stackling.volume.service import listing
from stackling.volume.service.listing import ListQuery

SORT_KEYS: dict[str, Any] = {
    "id": m.Snapshot.id,
    "name": func.coalesce(m.Snapshot.name, ""),
    "display_name": func.coalesce(m.Snapshot.name, ""),
    "status": m.Snapshot.status,
    "size": m.Snapshot.size,
    "volume_id": m.Snapshot.volume_id,
    "created_at": m.Snapshot.created_at,
    "updated_at": func.coalesce(m.Snapshot.updated_at, m.Snapshot.created_at),
    "project_id": m.Snapshot.project_id,
}
# Cinder's resource filters for snapshots (display_name is the v1 name).
FILTERS = ("name", "display_name", "status", "volume_id", "metadata")


def parse(params: dict[str, str], *, is_admin: bool, max_limit: int) -> ListQuery:
    """A ListQuery over snapshots from the query string; 400 for unknown filters or values."""
    q = ListQuery()
    for key, value in params.items():
        if key in listing.CONTROL:
            continue
        if key in listing.ADMIN_ONLY:
            if is_admin and key == "all_tenants":
                q.all_projects = value.strip().lower() not in listing.FALSE_STRINGS
            elif is_admin:
                q.project_id = value
            continue
        if key not in FILTERS:
            raise faults.InvalidInput(f"Invalid filters {key} are found in query options.")
        if key == "metadata":
            q.metadata = listing._metadata(value)
        elif key == "display_name":
            q.filters.append(m.Snapshot.name == value)
        else:
            q.filters.append(getattr(m.Snapshot, key) == value)
    if q.project_id is not None:
        q.all_projects = True
        q.filters.append(m.Snapshot.project_id == q.project_id)
    q.sort = _sort(params)
    limit = listing._int("limit", params["limit"], 0) if "limit" in params else max_limit
    q.limit = min(limit, max_limit)
    q.marker = params.get("marker") or None
    if "offset" in params:
        q.offset = listing._int("offset", params["offset"], 0)
    q.with_count = "with_count" in params and listing._bool("with_count", params["with_count"])
    return q


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
    if "id" not in [k for k, _ in pairs]:
        # A total order, so that markers never skip or repeat a row.
        pairs.append(("id", pairs[-1][1]))
    return pairs


def order_by(q: ListQuery) -> list[Any]:
    """ORDER BY clauses of the query's sort."""
    return [SORT_KEYS[k].asc() if d == "asc" else SORT_KEYS[k].desc() for k, d in q.sort]


def after(q: ListQuery, marker: m.Snapshot) -> Expr[bool]:
    """Snapshots that come after `marker` in the query's order (keyset pagination)."""
    values = {
        "id": marker.id,
        "name": marker.name or "",
        "display_name": marker.name or "",
        "status": marker.status,
        "size": marker.size,
        "volume_id": marker.volume_id,
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
