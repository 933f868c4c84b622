"""How placement writes stay correct under concurrency: locked reads, compare-and-set, retry.

Every change to what a provider offers or holds moves its `generation` with
`UPDATE ... SET generation = generation + 1 WHERE uuid = ? AND generation = ?`
after the change was checked against what the transaction read. A row count of
0 means another writer got there first: the transaction is thrown away and run
again from the start, a few times with jitter, before the caller sees a 409.

On PostgreSQL the provider rows are also read `FOR UPDATE` (in uuid order, so
two writers never wait on each other in a cycle). Without that, N writers
racing for one provider all read the same generation, one wins and N-1 retry,
round after round: under heavy contention a claim can exhaust its retries
while there is still room. With the lock the others wait instead, then read
what the winner committed, and the compare-and-set stays as the guard. SQLite
needs neither: its write transactions already run one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.db.engine import Database
from stackling.placement import models as m
from stackling.placement.errors import ConcurrentUpdate

LOG = logging.getLogger(__name__)
T = TypeVar("T")
WriteFn = Callable[[AsyncSession], Awaitable[T]]

# Placement's allocation_conflict_retry_count default.
RETRIES = 10


class GenerationRace(Exception):
    """A provider's generation moved under this transaction: run it again."""


async def lock_providers(s: AsyncSession, uuids: Iterable[str]) -> dict[str, int]:
    """The generation of each existing provider among `uuids`, their rows locked (PostgreSQL)."""
    wanted = sorted(set(uuids))
    if not wanted:
        return {}
    rows = await s.execute(
        select(m.ResourceProvider.uuid, m.ResourceProvider.generation)
        .where(m.ResourceProvider.uuid.in_(wanted))
        .order_by(m.ResourceProvider.uuid)
        .with_for_update()
    )
    return {uuid: generation for uuid, generation in rows.all()}


async def lock_provider(s: AsyncSession, uuid: str) -> int:
    """The generation of one provider, its row locked; 404 when it does not exist."""
    found = await lock_providers(s, [uuid])
    if uuid not in found:
        raise errors.NotFound(f"No resource provider with uuid {uuid} found")
    return found[uuid]


async def bump(s: AsyncSession, uuid: str, seen: int) -> int:
    """Move a provider's generation on from `seen`; GenerationRace when it had moved already."""
    result = await s.execute(
        update(m.ResourceProvider)
        .where(m.ResourceProvider.uuid == uuid, m.ResourceProvider.generation == seen)
        .values(generation=m.ResourceProvider.generation + 1, updated_at=m.now())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise GenerationRace(uuid)
    return seen + 1


def check_generation(uuid: str, current: int, expected: int | None) -> None:
    """409 placement.concurrent_update when the caller's generation is not the current one."""
    if expected is not None and expected != current:
        raise ConcurrentUpdate(
            "resource provider generation conflict: "
            f"resource provider {uuid} is at generation {current}, not {expected}"
        )


async def write(db: Database, fn: WriteFn[T], what: str) -> T:
    """Run `fn` in one write transaction, again from the start when a generation race is lost."""
    for attempt in range(RETRIES + 1):
        try:
            return await db.write(fn)
        except GenerationRace as race:
            if attempt == RETRIES:
                raise ConcurrentUpdate(
                    f"{what}: resource provider {race} was changed by another request "
                    f"{RETRIES + 1} times in a row; retry."
                ) from None
            LOG.debug("placement write lost a race on %s; retry %d", race, attempt + 1)
        except IntegrityError:
            # A concurrent writer inserted the same row (a new provider or consumer)
            # after our checks: run again, and the checks now see it and answer properly.
            if attempt == RETRIES:
                raise
            LOG.debug("placement write collided with a concurrent insert; retry %d", attempt + 1)
        await asyncio.sleep(random.uniform(0.0, 0.01 * 2 ** min(attempt, 5)))
    raise AssertionError("unreachable")
