"""Standard attributes on change: revision numbers, If-Match constraints, updated_at."""

from __future__ import annotations

from typing import Any

from stackling.network import faults
from stackling.network import models as m


def check(row: m.StandardAttrs, expected: int | None) -> None:
    """412 when the caller constrained the change to a revision the row no longer has.

    The row was read FOR UPDATE in the transaction that changes it, so no other
    change can slip between this check and the bump.
    """
    if expected is not None and row.revision_number != expected:
        raise faults.RevisionNumberConstraintFailed(expected, row.revision_number)


def bump(row: m.StandardAttrs) -> None:
    """Record a change of the resource: a new revision, a new updated_at."""
    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = m.now()


def apply(row: Any, changes: dict[str, Any], columns: dict[str, str]) -> bool:
    """Set the columns (attribute -> column) that `changes` alters; whether any did."""
    changed = False
    for attr, column in columns.items():
        if attr in changes and getattr(row, column) != changes[attr]:
            setattr(row, column, changes[attr])
            changed = True
    return changed
