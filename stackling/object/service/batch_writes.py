"""The hot write path: plain object PUTs and DELETEs applied in batches with a few statements.

Concurrent writes queue up while a batch commits and go together in the next
one. A batch reads the containers and the current rows of all its names in
two statements, applies its writes in arrival order in memory (so a later
write of the same name sees the earlier one), then writes the outcome with
one upsert, one delete, one insert of freed files and one update of totals
per container. Writes needing more (versioned containers, count quotas) take
the general path in objects.py instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.db.engine import Database
from stackling.object import models as m
from stackling.object.service import clock
from stackling.object.service.group_commit import Batcher

_MAX_BATCH = 256
_O = m.StoredObject.__table__
_C = m.ObjectContainer.__table__


@dataclass(slots=True)
class Put:
    """A new object replacing whatever has its name."""

    row: m.StoredObject


@dataclass(slots=True)
class Delete:
    """The removal of a live object (404 when there is none)."""

    container_id: int
    name: str


@dataclass(slots=True)
class _Current:
    file_id: str
    size: int
    timestamp: str
    delete_at: int | None

    def expired(self, now: float) -> bool:
        return self.delete_at is not None and self.delete_at <= now


@dataclass(slots=True)
class _Plan:
    """What a batch leaves behind, computed before anything is written."""

    upserts: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    deletes: set[tuple[int, str]] = field(default_factory=set)
    freed: list[str] = field(default_factory=list)
    counts: dict[int, list[int]] = field(default_factory=dict)

    def bump(self, container_id: int, objects: int, size: int) -> None:
        delta = self.counts.setdefault(container_id, [0, 0])
        delta[0] += objects
        delta[1] += size


class BatchWriter:
    """Queues plain PUTs and DELETEs and applies them a batch at a time."""

    def __init__(self, db: Database) -> None:
        self._batcher: Batcher[Put | Delete] = Batcher(db, _apply, max_batch=_MAX_BATCH)

    async def put(self, row: m.StoredObject) -> m.StoredObject:
        """Make `row` the object of its name (row.timestamp is set); 404 if its container went."""
        await self._batcher.submit(Put(row))
        return row

    async def delete(self, container_id: int, name: str) -> None:
        """Delete a live object; 404 when there is none."""
        await self._batcher.submit(Delete(container_id, name))


def _key(op: Put | Delete) -> tuple[int, str]:
    return (op.row.container_id, op.row.name) if isinstance(op, Put) else (op.container_id, op.name)


async def _apply(s: AsyncSession, ops: list[Put | Delete]) -> list[Any]:
    """Apply the batch in one transaction; per-op outcome: None or the error to raise."""
    keys = list(dict.fromkeys(_key(op) for op in ops))
    container_ids = {k[0] for k in keys}
    live_containers = set(
        (await s.execute(select(_C.c.id).where(_C.c.id.in_(container_ids)))).scalars()
    )
    found = await s.execute(
        select(
            _O.c.container_id, _O.c.name, _O.c.file_id, _O.c.size, _O.c.timestamp, _O.c.delete_at
        ).where(tuple_(_O.c.container_id, _O.c.name).in_(keys))
    )
    current: dict[tuple[int, str], _Current | None] = {
        (r[0], r[1]): _Current(r[2], r[3], r[4], r[5]) for r in found
    }
    existed = set(current)
    now = time.time()
    plan = _Plan()
    outcomes: list[Any] = []
    for op in ops:
        key = _key(op)
        if key[0] not in live_containers:
            outcomes.append(errors.NotFound("The resource could not be found."))
            continue
        old = current.get(key)
        if isinstance(op, Put):
            row = op.row
            row.timestamp = clock.after(old.timestamp if old is not None else None)
            if old is None:
                plan.bump(key[0], 1, row.size)
            else:
                plan.freed.append(old.file_id)
                plan.bump(key[0], 0, row.size - old.size)
            current[key] = _Current(row.file_id, row.size, row.timestamp, row.delete_at)
            plan.deletes.discard(key)
            plan.upserts[key] = {
                "container_id": key[0],
                "name": key[1],
                "size": row.size,
                "etag": row.etag,
                "content_type": row.content_type,
                "timestamp": row.timestamp,
                "file_id": row.file_id,
                "meta": row.meta,
                "delete_at": row.delete_at,
            }
            outcomes.append(None)
            continue
        if old is None or old.expired(now):
            outcomes.append(errors.NotFound("The resource could not be found."))
            continue
        plan.freed.append(old.file_id)
        plan.bump(key[0], -1, -old.size)
        current[key] = None
        plan.upserts.pop(key, None)
        if key in existed:
            plan.deletes.add(key)
        outcomes.append(None)
    await _write(s, plan)
    return outcomes


async def _write(s: AsyncSession, plan: _Plan) -> None:
    if plan.deletes:
        await s.execute(
            delete(_O).where(tuple_(_O.c.container_id, _O.c.name).in_(list(plan.deletes)))
        )
    if plan.upserts:
        dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(_O)
        columns = ("size", "etag", "content_type", "timestamp", "file_id", "meta", "delete_at")
        stmt = stmt.on_conflict_do_update(
            index_elements=[_O.c.container_id, _O.c.name],
            set_={c: getattr(stmt.excluded, c) for c in columns},
        )
        await s.execute(stmt, list(plan.upserts.values()))
    if plan.freed:
        dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
        stamp = clock.now()
        await s.execute(
            dialect.insert(m.FreedData.__table__).on_conflict_do_nothing(),
            [{"file_id": f, "freed_at": stamp} for f in dict.fromkeys(plan.freed)],
        )
    for container_id, (objects, size) in plan.counts.items():
        if objects or size:
            await s.execute(
                update(_C)
                .where(_C.c.id == container_id)
                .values(object_count=_C.c.object_count + objects, bytes_used=_C.c.bytes_used + size)
            )
