"""Keystone list filters: exact attributes, `__contains`-style inexact ones, booleans."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, false, func, true
from sqlalchemy.orm import InstrumentedAttribute

from stackling.common import errors

_INEXACT = {
    "contains": lambda col, v: col.like(f"%{_escape(v)}%", escape="\\"),
    "icontains": lambda col, v: func.lower(col).like(f"%{_escape(v.lower())}%", escape="\\"),
    "startswith": lambda col, v: col.like(f"{_escape(v)}%", escape="\\"),
    "istartswith": lambda col, v: func.lower(col).like(f"{_escape(v.lower())}%", escape="\\"),
    "endswith": lambda col, v: col.like(f"%{_escape(v)}", escape="\\"),
    "iendswith": lambda col, v: func.lower(col).like(f"%{_escape(v.lower())}", escape="\\"),
    "equals": lambda col, v: col == v,
    "iequals": lambda col, v: func.lower(col) == v.lower(),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def is_true(value: str) -> bool:
    """Keystone's reading of a boolean query value: only '0' and 'false' are false."""
    return value.strip().lower() not in ("0", "false")


def apply(
    stmt: Select[Any],
    query: Mapping[str, str],
    columns: Mapping[str, InstrumentedAttribute[Any]],
    booleans: frozenset[str] = frozenset({"enabled"}),
) -> Select[Any]:
    """Add a WHERE clause for each query parameter that names a filterable column."""
    for key, value in query.items():
        name, _, op = key.partition("__")
        col = columns.get(name)
        if col is None:
            continue
        if op:
            if op not in _INEXACT or name in booleans:
                raise errors.BadRequest(f"Unsupported filter {key}")
            stmt = stmt.where(_INEXACT[op](col, value))
        elif name in booleans:
            stmt = stmt.where(col == (true() if is_true(value) else false()))
        else:
            stmt = stmt.where(col == value)
    return stmt
