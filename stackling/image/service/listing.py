"""GET /v2/images: Glance's filters, sorting and marker pagination, compiled to one query."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.timeutil import parse_iso
from stackling.image import models as m
from stackling.image import schemas
from stackling.image.service import access
from stackling.settings import ImageSettings

SORT_KEYS = {
    "name": (m.Image.name, ""),
    "status": (m.Image.status, None),
    "container_format": (m.Image.container_format, ""),
    "disk_format": (m.Image.disk_format, ""),
    "size": (m.Image.size, -1),
    "id": (m.Image.id, None),
    "created_at": (m.Image.created_at, None),
    "updated_at": (m.Image.updated_at, None),
    "visibility": (m.Image.visibility, None),
    "min_disk": (m.Image.min_disk, None),
    "min_ram": (m.Image.min_ram, None),
}
_IN_FILTERS = {
    "name": m.Image.name,
    "id": m.Image.id,
    "status": m.Image.status,
    "container_format": m.Image.container_format,
    "disk_format": m.Image.disk_format,
    "checksum": m.Image.checksum,
    "os_hash_value": m.Image.os_hash_value,
    "owner": m.Image.owner,
}
_TIME_OPS = {"gt", "gte", "lt", "lte", "eq", "neq"}
_PAGING = {"limit", "marker", "sort_key", "sort_dir", "sort"}
# The largest value a BIGINT column (size) holds: a larger filter matches nothing
# a database can store, and SQLite refuses to even bind it.
_BIGINT_MAX = 2**63 - 1
# Each filter is one more term in the WHERE clause, and SQLite refuses a query
# nested 1000 deep: a list request asking for more than this is refused first.
MAX_FILTERS = 100


@dataclass(slots=True)
class ListQuery:
    """A parsed image list request."""

    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int = 25
    marker: str | None = None
    visibility: str | None = None
    member_status: str = "accepted"
    hidden: bool | None = False


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise errors.BadRequest(f"Invalid value for '{name}': {value!r} is not a boolean.")


def _int(name: str, value: str, maximum: int | None = _BIGINT_MAX) -> int:
    try:
        number = int(value)
    except ValueError:
        raise errors.BadRequest(
            f"Invalid value for '{name}': {value!r} is not an integer."
        ) from None
    if number < 0:
        raise errors.BadRequest(f"Invalid value for '{name}': cannot be negative.")
    if maximum is not None and number > maximum:
        raise errors.BadRequest(f"Invalid value for '{name}': must be at most {maximum}.")
    return number


def _in_values(value: str) -> list[str] | None:
    """The list of an `in:a,b` filter, or None for a plain value."""
    if not value.startswith("in:"):
        return None
    items = [v.strip().strip('"') for v in value[3:].split(",")]
    return [v for v in items if v]


def _time_condition(name: str, column: Any, value: str) -> ColumnElement[bool]:
    op, sep, when = value.partition(":")
    if not sep or op not in _TIME_OPS:
        op, when = "eq", value
    try:
        moment = parse_iso(when)
    except ValueError:
        raise errors.BadRequest(
            f"Invalid value for '{name}': {value!r}; use an ISO 8601 time, "
            "optionally after gt:, gte:, lt:, lte:, eq: or neq:."
        ) from None
    return {
        "gt": column > moment,
        "gte": column >= moment,
        "lt": column < moment,
        "lte": column <= moment,
        "eq": column == moment,
        "neq": column != moment,
    }[op]


def _sort(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    keys = [v for k, v in pairs if k == "sort_key"]
    dirs = [v for k, v in pairs if k == "sort_dir"]
    sort = [v for k, v in pairs if k == "sort"]
    if sort and (keys or dirs):
        raise errors.BadRequest(
            "The 'sort' parameter cannot be combined with sort_key or sort_dir."
        )
    out: list[tuple[str, str]] = []
    if sort:
        for part in ",".join(sort).split(","):
            key, _, direction = part.strip().partition(":")
            out.append((key.strip(), direction.strip() or "desc"))
    else:
        keys = [k.strip() for key in keys for k in key.split(",")] or ["created_at"]
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise errors.BadRequest("The number of sort_dir values must match sort_key's.")
        out = [
            (key, dirs[i] if len(dirs) > 1 else (dirs[0] if dirs else "desc"))
            for i, key in enumerate(keys)
        ]
    for key, direction in out:
        if key not in SORT_KEYS:
            raise errors.BadRequest(f"Invalid sort key: {key}. Sort keys: {', '.join(SORT_KEYS)}.")
        if direction not in ("asc", "desc"):
            raise errors.BadRequest(f"Invalid sort direction: {direction}. Use asc or desc.")
    if len({k for k, _ in out}) != len(out):
        raise errors.BadRequest("Each sort key may be given only once.")
    if "id" not in {k for k, _ in out}:
        # A unique last key makes the order, and so marker pagination, total.
        out.append(("id", out[-1][1]))
    return out


def parse(pairs: list[tuple[str, str]], conf: ImageSettings) -> ListQuery:
    """Validate the query string; every bad value is a 400 naming the parameter."""
    q = ListQuery(limit=conf.limit_param_default, sort=_sort(pairs))
    tags: list[str] = []
    for name, value in pairs:
        if name == "limit":
            q.limit = min(_int(name, value, maximum=None), conf.api_limit_max)
        elif name == "marker":
            q.marker = value
        elif name in _PAGING:
            continue
        elif name == "visibility":
            if value not in (*schemas.VISIBILITIES, "all"):
                raise errors.BadRequest(f"Invalid visibility value: {value}")
            q.visibility = value
            if value != "all":
                q.conditions.append(m.Image.visibility == value)
        elif name == "member_status":
            if value not in (*schemas.MEMBER_STATUSES, "all"):
                raise errors.BadRequest(f"Invalid member_status value: {value}")
            q.member_status = value
        elif name == "tag":
            tags.append(value)
        elif name in ("size_min", "size_max"):
            size = _int(name, value)
            q.conditions.append(
                m.Image.size >= size if name == "size_min" else m.Image.size <= size
            )
        elif name == "size":
            q.conditions.append(m.Image.size == _int(name, value))
        elif name in ("min_ram", "min_disk"):
            q.conditions.append(getattr(m.Image, name) == _int(name, value, schemas.INT_MAX))
        elif name in ("created_at", "updated_at"):
            q.conditions.append(_time_condition(name, getattr(m.Image, name), value))
        elif name == "os_hidden":
            q.hidden = _bool(name, value)
        elif name == "protected":
            q.conditions.append(m.Image.protected == _bool(name, value))
        elif name in _IN_FILTERS:
            column = _IN_FILTERS[name]
            values = _in_values(value)
            if name == "status" and value not in schemas.STATUSES and values is None:
                raise errors.BadRequest(f"Invalid status value: {value}")
            q.conditions.append(column.in_(values) if values is not None else column == value)
        else:
            # Anything else filters on a custom property, as Glance does.
            q.conditions.append(
                exists(
                    select(m.ImageProperty.image_id).where(
                        m.ImageProperty.image_id == m.Image.id,
                        m.ImageProperty.name == name,
                        m.ImageProperty.value == value,
                    )
                )
            )
    for tag in tags:
        q.conditions.append(
            exists(
                select(m.ImageTag.image_id).where(
                    m.ImageTag.image_id == m.Image.id, m.ImageTag.value == tag
                )
            )
        )
    if len(q.conditions) > MAX_FILTERS:
        raise errors.BadRequest(f"Too many filters: at most {MAX_FILTERS} may be combined.")
    if q.hidden is not None:
        q.conditions.append(m.Image.os_hidden == q.hidden)
    return q


def _sort_column(key: str) -> Any:
    column, null_as = SORT_KEYS[key]
    return column if null_as is None else func.coalesce(column, null_as)


def _marker_value(marker: m.Image, key: str) -> Any:
    value = getattr(marker, key)
    return SORT_KEYS[key][1] if value is None else value


def _after(marker: m.Image, sort: list[tuple[str, str]]) -> ColumnElement[bool]:
    """Rows strictly after `marker` in the sort order (keyset pagination)."""
    branches = []
    for i, (key, direction) in enumerate(sort):
        expr = _sort_column(key)
        value = _marker_value(marker, key)
        step = expr > value if direction == "asc" else expr < value
        equal = [_sort_column(k) == _marker_value(marker, k) for k, _ in sort[:i]]
        branches.append(and_(*equal, step))
    return or_(*branches)


async def run(s: AsyncSession, ctx: RequestContext, q: ListQuery) -> list[m.Image]:
    """The page of images the query asks for, visible to the caller."""
    stmt: Select[tuple[m.Image]] = select(m.Image).where(
        access.visible_to(ctx, visibility=q.visibility, member_status=q.member_status),
        m.Image.status != "deleted",
        *q.conditions,
    )
    if q.marker is not None:
        marker = await s.get(m.Image, q.marker)
        if marker is None or marker.status == "deleted" or not await access.can_see(s, ctx, marker):
            raise errors.BadRequest(f"Invalid marker. Image {q.marker} could not be found.")
        stmt = stmt.where(_after(marker, q.sort))
    order = [
        _sort_column(key).asc() if direction == "asc" else _sort_column(key).desc()
        for key, direction in q.sort
    ]
    return list((await s.scalars(stmt.order_by(*order).limit(q.limit))).all())
