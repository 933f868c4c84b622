"""Name-ordered listings with prefix, markers, delimiter and reverse, paged in SQL.

Names are compared as Swift compares them, by UTF-8 bytes, which is code point
order: the database's ordering (BINARY on SQLite, "C" on PostgreSQL) agrees.
A delimiter folds every name under a common prefix into one `subdir`; the scan
then jumps past that whole range in one query, so a listing never reads the
rows it folds away, and a million names under "a/" cost one query, not a million.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

_FIRST_FOLDING_BATCH = 32


@dataclass(frozen=True, slots=True)
class Query:
    """What a listing asks for (Swift's query parameters, S3's map onto them)."""

    limit: int
    prefix: str = ""
    marker: str = ""
    end_marker: str = ""
    delimiter: str = ""
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class Subdir:
    """Names folded by the delimiter under one common prefix."""

    name: str


def successor(prefix: str) -> str:
    """The least string greater than every string that starts with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


async def scan(
    session: AsyncSession,
    columns: Sequence[Any],
    name: InstrumentedAttribute[str],
    scope: ColumnElement[bool],
    q: Query,
) -> list[Any]:
    """Rows (with the given columns) and Subdirs in listing order, at most q.limit of them."""
    out: list[Any] = []
    # Bounds of the names still to visit; inclusive flags say whether the bound itself may match.
    low, low_incl = q.marker, False
    high, high_incl = q.end_marker, False
    if q.reverse:
        low, high = q.end_marker, q.marker
    if q.prefix:
        if not low or low < q.prefix:
            low, low_incl = q.prefix, True
        upper = successor(q.prefix)
        if not high or high > upper:
            high, high_incl = upper, False
    # With a delimiter most rows of a batch may fold into one subdir and be
    # skipped, so batches start small and grow only while nothing folds: a
    # page of 30 folders then reads a few hundred rows, not 30 x the limit.
    batch = min(q.limit, _FIRST_FOLDING_BATCH) if q.delimiter else q.limit
    while len(out) < q.limit:
        stmt: Select[Any] = select(*columns).where(scope)
        if low:
            stmt = stmt.where(name >= low if low_incl else name > low)
        if high:
            stmt = stmt.where(name <= high if high_incl else name < high)
        requested = min(q.limit - len(out), batch)
        stmt = stmt.order_by(name.desc() if q.reverse else name).limit(requested)
        rows = (await session.execute(stmt)).all()
        if not rows:
            break
        jumped = False
        for row in rows:
            row_name: str = getattr(row, name.key)
            if q.delimiter:
                cut = row_name.find(q.delimiter, len(q.prefix))
                if cut >= 0:
                    folded = row_name[: cut + len(q.delimiter)]
                    out.append(Subdir(folded))
                    # Continue past every name under `folded`.
                    if q.reverse:
                        high, high_incl = folded, False
                    else:
                        low, low_incl = successor(folded), True
                    jumped = True
                    break
            out.append(row)
            if q.reverse:
                high, high_incl = row_name, False
            else:
                low, low_incl = row_name, False
            if len(out) >= q.limit:
                break
        if not jumped and len(rows) < requested:
            # The page came back short: nothing is left in range.
            break
        if not jumped:
            batch = min(batch * 4, q.limit)
    return out
