"""Group commit: concurrent small write transactions share one commit.

Every object PUT or DELETE is one short transaction whose cost is mostly the
commit itself (a WAL fsync on SQLite, a round trip and a flush on
PostgreSQL). Requests that arrive while a commit is under way queue up and
go together in the next one, each in a savepoint of its own, so one request
failing (a 404, a quota) rolls back only its own changes. The database's
own retry on a lost race re-runs the whole batch, which is safe because
each piece only reads and writes rows in its session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.db.engine import Database, is_retryable

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[Any]]
_MAX_BATCH = 64


class GroupCommit:
    """Runs write functions in shared transactions, one savepoint each."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: list[tuple[Work, asyncio.Future[Any]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def run(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `fn(session)` in the next shared transaction; its result once committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((fn, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain(), name="object-group-commit")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:_MAX_BATCH], self._queue[_MAX_BATCH:]
            live = [(fn, fut) for fn, fut in batch if not fut.cancelled()]
            if not live:
                continue
            try:
                outcomes = await self.db.write(lambda s, live=live: _apply(s, live))
            except BaseException as exc:  # the commit itself failed: nobody's work stands
                for _fn, fut in live:
                    if not fut.done():
                        fut.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_fn, fut), (ok, value) in zip(live, outcomes, strict=True):
                if fut.done():
                    continue
                if ok:
                    fut.set_result(value)
                else:
                    fut.set_exception(value)


async def _apply(
    s: AsyncSession, batch: list[tuple[Work, asyncio.Future[Any]]]
) -> list[tuple[bool, Any]]:
    outcomes: list[tuple[bool, Any]] = []
    for fn, _fut in batch:
        try:
            async with s.begin_nested():
                outcomes.append((True, await fn(s)))
        except DBAPIError as exc:
            if is_retryable(exc):
                # A lost race: the whole batch is retried, not this piece alone.
                raise
            outcomes.append((False, exc))
        except Exception as exc:
            outcomes.append((False, exc))
    return outcomes
