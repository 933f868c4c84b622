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
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Row, event, text
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Executable

from stackling.common import errors

LOG = logging.getLogger(__name__)
T = TypeVar("T")

_RETRYABLE_PG_CODES = {"40001", "40P01"}


def is_retryable(exc: DBAPIError) -> bool:
    """Whether a write lost a race (busy, deadlock, serialization) and may be retried."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _RETRYABLE_PG_CODES:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database is busy" in text


def _refused_value(exc: DBAPIError) -> str | None:
    """Why the database refused a value of the request, or None when it is not that.

    SQLSTATE class 22 ("data exception": a NUL character in text, a string
    longer than its column, a number out of range...) and asyncpg's own check
    of query arguments mean the request carried a value this database cannot
    store or compare: bad input, not a server fault. SQLite stores such values,
    PostgreSQL refuses them; either way the client gets an answer, not a 500.
    """
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    cause = getattr(orig, "__cause__", None)
    refused = (
        isinstance(exc, DataError)
        or (isinstance(code, str) and code.startswith("22"))
        or (cause is not None and type(cause).__name__ == "DataError")
    )
    if not refused:
        return None
    detail = str(cause if cause is not None else orig).strip().splitlines()
    return detail[0][:200] if detail else "invalid value"


def _bad_request(exc: DBAPIError) -> errors.BadRequest | None:
    reason = _refused_value(exc)
    if reason is None:
        return None
    return errors.BadRequest(f"Invalid input: a value cannot be stored or searched for ({reason}).")


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
            self.autocommit_engine = self._sqlite_engine(
                url, busy_timeout_s, immediate=None, pool=pool_size
            )
        else:
            self.read_engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self.write_engine = self.read_engine
            self.autocommit_engine = self.read_engine.execution_options(
                isolation_level="AUTOCOMMIT"
            )

    @staticmethod
    def _sqlite_engine(
        url: str, busy_timeout_s: float, *, immediate: bool | None, pool: int
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

        if immediate is None:
            # Autocommit: each statement is its own transaction, with no BEGIN round trip.
            return engine
        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

        return engine

    async def fetch(self, stmt: Executable, params: dict[str, Any] | None = None) -> list[Row[Any]]:
        """The rows of one read statement, run on its own (a single statement is atomic).

        For hot read paths: no ORM session, no BEGIN/COMMIT around the statement.
        """
        try:
            async with self.autocommit_engine.connect() as conn:
                return list((await conn.execute(stmt, params or {})).all())
        except DBAPIError as exc:
            bad = _bad_request(exc)
            if bad is None:
                raise
            raise bad from exc

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; nothing it does is committed."""
        async with AsyncSession(self.read_engine, expire_on_commit=False) as session:
            try:
                yield session
            except DBAPIError as exc:
                bad = _bad_request(exc)
                if bad is None:
                    raise
                raise bad from exc

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
                bad = _bad_request(exc)
                if bad is not None:
                    raise bad from exc
                attempt += 1
                if not is_retryable(exc) or attempt > self.write_retries:
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

    @asynccontextmanager
    async def exclusive(self, name: str, timeout_s: float = 300.0) -> AsyncIterator[None]:
        """Hold a lock named `name` across every process using this database.

        On PostgreSQL this is a session advisory lock on a connection of its own
        (released on exit, or by the server if this process dies). On SQLite there
        is nothing to take: its write transactions already exclude each other.
        """
        if self.is_sqlite:
            yield
            return
        key = zlib.crc32(name.encode()) & 0x7FFFFFFF
        deadline = time.monotonic() + timeout_s
        async with self.write_engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            while not await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another process held the {name!r} lock for {timeout_s}s")
                await asyncio.sleep(0.1)
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.read_engine.dispose()
        if self.autocommit_engine is not self.read_engine and self.is_sqlite:
            await self.autocommit_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()
