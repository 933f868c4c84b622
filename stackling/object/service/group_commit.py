"""Group commit: concurrent small write transactions share one commit.

Every object PUT or DELETE is one short transaction whose cost is mostly the
commit itself (a WAL fsync on SQLite, a round trip and a flush on
PostgreSQL). Requests that arrive while a commit is under way queue up and
go together in the next one. The database's own retry on a lost race re-runs
the whole batch, which is safe because a batch only reads and writes rows in
its own session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.db.engine import Database, is_retryable

T = TypeVar("T")
Item = TypeVar("Item")
# Applies a batch in one transaction; one outcome per item, in order: its result,
# or the exception its caller gets.
Apply = Callable[[AsyncSession, list[Item]], Awaitable[list[Any]]]
Work = Callable[[AsyncSession], Awaitable[Any]]


class Batcher(Generic[Item]):
    """Queues items while a batch commits; the next batch takes all that queued."""

    def __init__(self, db: Database, apply: Apply[Item], max_batch: int) -> None:
        self.db = db
        self.apply = apply
        self.max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[Any]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Any:
        """The item's outcome once its batch has committed."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain(), name="object-batched-writes")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            live = [(item, fut) for item, fut in batch if not fut.cancelled()]
            if not live:
                continue
            items = [item for item, _ in live]
            try:
                outcomes = await self.db.write(lambda s, items=items: self.apply(s, items))
            except BaseException as exc:  # the commit itself failed: nobody's work stands
                for _item, fut in live:
                    if not fut.done():
                        fut.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_item, fut), outcome in zip(live, outcomes, strict=True):
                if fut.done():
                    continue
                if isinstance(outcome, BaseException):
                    fut.set_exception(outcome)
                else:
                    fut.set_result(outcome)


class GroupCommit:
    """Runs write functions in shared transactions, each in a savepoint of its own.

    One function failing (a 404, a quota) rolls back only its own changes.
    """

    def __init__(self, db: Database) -> None:
        self._batcher: Batcher[Work] = Batcher(db, _in_savepoints, max_batch=64)

    async def run(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `fn(session)` in the next shared transaction; its result once committed."""
        result: T = await self._batcher.submit(fn)
        return result


async def _in_savepoints(s: AsyncSession, batch: list[Work]) -> list[Any]:
    outcomes: list[Any] = []
    for fn in batch:
        try:
            async with s.begin_nested():
                outcomes.append(await fn(s))
        except DBAPIError as exc:
            if is_retryable(exc):
                # A lost race: the whole batch is retried, not this piece alone.
                raise
            outcomes.append(exc)
        except Exception as exc:
            outcomes.append(exc)
    return outcomes
