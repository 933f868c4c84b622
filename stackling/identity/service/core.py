"""The identity service's shared state: database, token codec, revocation index, catalog."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.timeutil import from_epoch
from stackling.db.engine import Database
from stackling.identity import models as m
from stackling.identity import passwords
from stackling.identity.keys import KeyRepository
from stackling.identity.revocation import Event, RevocationIndex
from stackling.identity.tokens import TokenCodec
from stackling.settings import Settings

LOG = logging.getLogger(__name__)
T = TypeVar("T")
Row = TypeVar("Row")

# Map from revocation kind to the column holding its key.
_EVENT_COLUMNS = {
    "audit": "audit_id",
    "user": "user_id",
    "project": "project_id",
    "domain": "domain_id",
    "trust": "trust_id",
    "app_cred": "application_credential_id",
    "role": "role_id",
}


async def fetch(s: AsyncSession, model: type[Row], ident: str, what: str) -> Row:
    """A row by primary key, or Keystone's 404 "Could not find <what>: <id>."."""
    row = await s.get(model, ident)
    if row is None:
        raise errors.NotFound(f"Could not find {what}: {ident}.")
    return row


def _event_from_row(row: Any) -> Event | None:
    """The index entry of a revocation row (a model or a selected row of its columns)."""
    if row.user_id and row.project_id:
        return Event(
            "user_project", f"{row.user_id}:{row.project_id}", row.issued_before.timestamp()
        )
    for kind, column in _EVENT_COLUMNS.items():
        key = getattr(row, column)
        if key:
            return Event(kind, key, row.issued_before.timestamp())
    return None


class Identity:
    """What every identity service function needs, built once per process."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.keys = KeyRepository(
            settings.data_dir / "identity" / "fernet-keys", settings.identity.max_active_keys
        )
        self.codec: TokenCodec | None = None
        self.revocations = RevocationIndex()
        # Built from the services and endpoints tables; rebuilt after every catalog change.
        self.catalog_rows: list[tuple[m.Service, list[m.Endpoint]]] = []
        self._sync_task: asyncio.Task[None] | None = None
        self._keys_version: tuple[tuple[str, int], ...] = ()
        # Proofs of recent successful bcrypt checks, keyed by an HMAC under a
        # per-process random key; see verify_password.
        self._verified_key = os.urandom(32)
        self._verified: dict[bytes, float] = {}

    async def start(self) -> None:
        """Load keys, revocation events and the catalog."""
        self.keys.ensure()
        self._load_keys()
        await self.load_revocations()
        await self.reload_catalog()
        self._sync_task = asyncio.create_task(self._sync_loop(), name="identity:revocation-sync")

    def _load_keys(self) -> None:
        self._keys_version = self.keys.version()
        self.codec = TokenCodec(self.keys.load())

    def reload_keys_if_rotated(self) -> None:
        """Pick up keys rotated by `stackling identity rotate-keys` while running."""
        if self.keys.version() != self._keys_version:
            self._load_keys()
            LOG.info("token keys reloaded after rotation")

    async def stop(self) -> None:
        """Stop background work."""
        task, self._sync_task = self._sync_task, None
        if task is not None:
            task.cancel()
            # Waited for, so it is gone before the engine is disposed: a task cancelled
            # inside a query and left to finish later would wait forever on a closed
            # aiosqlite connection (seen as a 300 s hang when a test's loop closed).
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def token_codec(self) -> TokenCodec:
        """The codec; only valid after start()."""
        assert self.codec is not None, "identity not started"
        return self.codec

    async def tx(self, fn: Callable[[AsyncSession], Awaitable[T]], conflict: str = "") -> T:
        """One write transaction; a uniqueness violation becomes a 409 Conflict."""
        try:
            return await self.db.write(fn)
        except IntegrityError as exc:
            raise errors.Conflict(
                conflict or "Conflict occurred attempting to store data."
            ) from exc

    async def verify_password(self, user: m.User, secret: str) -> bool:
        """bcrypt-check a user's password, remembering recent successes for a short while.

        A repeated login with the same correct password skips the bcrypt work
        for `identity.password_cache_ttl_s`; a wrong password always pays the
        full cost, and a changed password hash never matches an old entry.
        """
        if not user.password_hash:
            return False
        ttl = self.settings.identity.password_cache_ttl_s
        proof = hmac.new(
            self._verified_key,
            b"\0".join((user.id.encode(), user.password_hash.encode(), secret.encode())),
            hashlib.sha256,
        ).digest()
        now = time.monotonic()
        if ttl > 0 and self._verified.get(proof, 0.0) > now:
            return True
        ok = await passwords.verify_password(secret, user.password_hash)
        if ok and ttl > 0:
            if len(self._verified) >= 10000:
                self._verified = {k: t for k, t in self._verified.items() if t > now}
                if len(self._verified) >= 10000:
                    self._verified.clear()
            self._verified[proof] = now + ttl
        return ok

    # -- revocation ---------------------------------------------------------

    def _revocation_horizon(self) -> float:
        """Events older than this cannot match a token anyone may still present."""
        ident = self.settings.identity
        return time.time() - ident.token_expiration_s - ident.allow_expired_window_s - 60

    async def load_revocations(self) -> None:
        """Read revocation events newer than the last one seen into the index."""
        horizon = from_epoch(self._revocation_horizon())
        ev = m.RevocationEvent
        columns = [ev.id, ev.issued_before, *(getattr(ev, c) for c in _EVENT_COLUMNS.values())]
        async with self.db.session() as s:
            newest = await s.scalar(select(func.max(ev.id)))
            result = await s.stream(
                select(*columns).where(
                    ev.id > self.revocations.last_event_id, ev.issued_before >= horizon
                )
            )
            events = [e async for row in result if (e := _event_from_row(row)) is not None]
        self.revocations.add(events)
        self.revocations.last_event_id = max(self.revocations.last_event_id, newest or 0)

    async def _sync_loop(self) -> None:
        # Other processes sharing the database may revoke tokens or rotate keys.
        rounds = 0
        while True:
            await asyncio.sleep(2.0)
            rounds += 1
            try:
                self.reload_keys_if_rotated()
                await self.load_revocations()
                if rounds % 300 == 0:
                    await self._forget_old_revocations()
            except Exception:
                LOG.exception("revocation sync failed")

    async def _forget_old_revocations(self) -> None:
        """Drop events no token can match any more, from memory and from the table."""
        horizon = self._revocation_horizon()
        self.revocations.prune(horizon)

        async def _do(s: AsyncSession) -> None:
            await s.execute(
                delete(m.RevocationEvent).where(
                    m.RevocationEvent.issued_before < from_epoch(horizon)
                )
            )

        await self.tx(_do)

    @staticmethod
    def record_revocations(session: AsyncSession, events: Iterable[Event]) -> list[Event]:
        """Add revocation rows to a write transaction; call `apply_revocations` after commit."""
        out = []
        for ev in events:
            row = m.RevocationEvent(issued_before=from_epoch(ev.issued_before))
            if ev.kind == "user_project":
                row.user_id, row.project_id = ev.key.split(":", 1)
            else:
                setattr(row, _EVENT_COLUMNS[ev.kind], ev.key)
            session.add(row)
            out.append(ev)
        return out

    def apply_revocations(self, events: Iterable[Event]) -> None:
        """Make committed events effective in this process at once."""
        self.revocations.add(events)

    async def revoke(self, events: list[Event]) -> None:
        """Record and apply events in a transaction of their own."""
        if not events:
            return

        async def _do(s: AsyncSession) -> None:
            self.record_revocations(s, events)

        await self.tx(_do)
        self.apply_revocations(events)

    # -- catalog ------------------------------------------------------------

    async def reload_catalog(self) -> None:
        """Rebuild the in-memory catalog from the database."""
        async with self.db.session() as s:
            services = (await s.scalars(select(m.Service))).all()
            endpoints = (await s.scalars(select(m.Endpoint))).all()
        by_service: dict[str, list[m.Endpoint]] = {}
        for ep in endpoints:
            by_service.setdefault(ep.service_id, []).append(ep)
        self.catalog_rows = [(svc, by_service.get(svc.id, [])) for svc in services]

    def catalog_for(self, project_id: str | None, user_id: str | None) -> list[dict[str, Any]]:
        """The service catalog as a token shows it, with endpoint URL substitutions done."""
        subst = {"tenant_id": project_id, "project_id": project_id, "user_id": user_id}
        out = []
        for svc, eps in self.catalog_rows:
            if not svc.enabled:
                continue
            rendered = []
            for ep in eps:
                if not ep.enabled:
                    continue
                url = _substitute(ep.url, subst)
                if url is None:
                    continue
                rendered.append(
                    {
                        "id": ep.id,
                        "interface": ep.interface,
                        "region": ep.region_id,
                        "region_id": ep.region_id,
                        "url": url,
                    }
                )
            out.append(
                {
                    "id": svc.id,
                    "type": svc.type,
                    "name": svc.extra.get("name", ""),
                    "endpoints": rendered,
                }
            )
        return out


def _substitute(url: str, values: dict[str, str | None]) -> str | None:
    """Fill $(name)s and %(name)s; None when a needed value is missing (endpoint omitted)."""
    if "$(" not in url and "%(" not in url:
        return url
    out = url.replace("$(", "%(")
    for key, value in values.items():
        marker = f"%({key})s"
        if marker in out:
            if value is None:
                return None
            out = out.replace(marker, value)
    return None if "%(" in out else out
