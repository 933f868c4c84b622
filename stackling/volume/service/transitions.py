"""State changes as compare-and-set: a row moves on only from the status it was read in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.volume import models as m


async def compare_and_set(
    s: AsyncSession,
    row: Any,
    target: str,
    *,
    refused: type[Exception] = errors.Conflict,
    **values: Any,
) -> None:
    """Move a volume, snapshot or backup row from the status it was read in to `target`."""
    model = type(row)
    # UPDATE ... WHERE id=? AND status=?: a request that lost a race changes nothing.
    done = await s.execute(
        sql_update(model)
        .where(model.id == row.id, model.status == row.status)
        .values(status=target, updated_at=m.now(), **values)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise refused(f"{model.__name__} {row.id} changed state during the request.")
