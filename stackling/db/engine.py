"""Engines and the one place that serialises writes.

SQLite allows one writer at a time. Rather than let concurrent transactions
collide ("database is locked"), every write in this process goes through one
connection guarded by an asyncio lock and opens with BEGIN IMMEDIATE, so it
holds the write lock from its first statement; readers use their own
connections and, in WAL mode, never block the writer. Other processes sharing
the file are handled by the busy timeout and by retrying the whole
transaction. On PostgreSQL writes run concurrently and a serialisation failure
or deadlock retries the transaction.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

LOG = logging.getLogger(__name__)
T = TypeVar("T")

_RETRYABLE_PG_CODES = {"40001", "40P01"}


def _is_retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _RETRYABLE_PG_CODES:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database is busy" in text


class Database:
    """Read sessions and retried, serialised write transactions over one database URL."""

    def __init__(
        self, url: str, *, busy_timeout_s: float = 30.0, write_retries: int = 8, pool_size: int = 8
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.write_retries = write_retries
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            self.read_engine = self._sqlite_engine(
                url, busy_timeout_s, immediate=False, pool=pool_size
            )
            self.write_engine = self._sqlite_engine(url, busy_timeout_s, immediate=True, pool=1)
        else:
            self.read_engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self.write_engine = self.read_engine

    @staticmethod
    def _sqlite_engine(
        url: str, busy_timeout_s: float, *, immediate: bool, pool: int
    ) -> AsyncEngine:
        memory = ":memory:" in url or url.endswith("sqlite+aiosqlite://")
        kwargs: dict[str, Any] = {"connect_args": {"timeout": busy_timeout_s}}
        if memory:
            kwargs["poolclass"] = NullPool
        else:
            kwargs.update(pool_size=pool, max_overflow=0)
        engine = create_async_engine(url, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let us emit BEGIN ourselves; the driver's implicit one is deferred.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            cur.close()

        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

        return engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; nothing it does is committed."""
        async with AsyncSession(self.read_engine, expire_on_commit=False) as session:
            yield session

    async def write(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `fn(session)` in one write transaction, retried when it loses a race."""
        attempt = 0
        while True:
            try:
                if self._write_lock is not None:
                    async with self._write_lock:
                        return await self._write_once(fn)
                return await self._write_once(fn)
            except DBAPIError as exc:
                attempt += 1
                if not _is_retryable(exc) or attempt > self.write_retries:
                    raise
                delay = min(0.05 * 2**attempt, 1.0) * random.uniform(0.5, 1.0)
                LOG.warning("write transaction lost a race (%s); retry %d", exc.orig, attempt)
                await asyncio.sleep(delay)

    async def _write_once(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with (
            AsyncSession(self.write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            return await fn(session)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()
