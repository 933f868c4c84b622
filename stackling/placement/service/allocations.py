"""Allocations: replacing what consumers hold, atomically and never beyond capacity.

Every write replaces the whole set of allocations of one or more consumers
in one transaction: lock the consumers, drop what they held, check the new
amounts against each provider's inventory and what others hold, write them,
then move each touched provider's generation on with a compare-and-set (see
writes.py). A consumer left with nothing is deleted, as Placement does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.db.engine import Database
from stackling.db.upsert import insert_ignore
from stackling.placement import models as m
from stackling.placement.errors import AllocationConflict, ConcurrentUpdate
from stackling.placement.service import inventories, names, writes
from stackling.placement.service.records import ConsumerAllocations

Amounts = dict[str, dict[str, int]]  # provider uuid -> resource class -> amount
PREFIX = "Unable to allocate inventory"


@dataclass(frozen=True)
class ConsumerWrite:
    """The complete new allocations of one consumer (empty: it holds nothing any more)."""

    consumer_uuid: str
    project_id: str
    user_id: str
    allocations: Amounts
    consumer_type: str | None = None
    # With check_generation, the generation the caller last saw (None: "a new consumer").
    consumer_generation: int | None = None
    check_generation: bool = False


def _check_amounts(write: ConsumerWrite) -> None:
    for rp, resources in write.allocations.items():
        for rc, amount in resources.items():
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
                raise errors.BadRequest(
                    f"Allocation of {rc} on resource provider {rp} must be a positive integer."
                )


async def replace(db: Database, writes_: list[ConsumerWrite]) -> None:
    """Replace the allocations of every consumer in `writes_`, all or nothing."""
    for w in writes_:
        _check_amounts(w)

    async def _replace(s: AsyncSession) -> None:
        await replace_in(s, writes_)

    await writes.write(db, _replace, PREFIX)


async def _lock_consumers(s: AsyncSession, ws: list[ConsumerWrite]) -> dict[str, m.Consumer]:
    """Each consumer's row, created where absent (generation 0) and locked; uuid order."""
    found: dict[str, m.Consumer] = {}
    for w in sorted(ws, key=lambda w: w.consumer_uuid):
        if w.allocations:
            await insert_ignore(
                s,
                m.Consumer,
                uuid=w.consumer_uuid,
                project_id=w.project_id,
                user_id=w.user_id,
                generation=0,
                consumer_type=w.consumer_type,
                created_at=m.now(),
                updated_at=m.now(),
            )
        row = await s.scalar(
            select(m.Consumer)
            .where(m.Consumer.uuid == w.consumer_uuid)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is not None:
            found[w.consumer_uuid] = row
    return found


def _check_consumer_generation(w: ConsumerWrite, row: m.Consumer | None) -> None:
    # A consumer just inserted by this transaction sits at generation 0: it is new.
    current = None if row is None or row.generation == 0 else row.generation
    if w.check_generation and w.consumer_generation != current:
        expected = "null" if w.consumer_generation is None else w.consumer_generation
        got = "null" if current is None else current
        raise ConcurrentUpdate(f"consumer generation conflict - expected {expected} but got {got}")


async def replace_in(s: AsyncSession, ws: list[ConsumerWrite]) -> None:
    """The body of replace(), inside the caller's transaction."""
    uuids = [w.consumer_uuid for w in ws]
    if len(set(uuids)) != len(uuids):
        raise errors.BadRequest("A consumer appears more than once in the request.")
    wanted_classes = {rc for w in ws for res in w.allocations.values() for rc in res}
    unknown = await names.unknown_classes(s, wanted_classes)
    if unknown:
        raise errors.BadRequest(f"{PREFIX}: unknown resource class(es) {', '.join(unknown)}.")
    consumers = await _lock_consumers(s, ws)
    for w in ws:
        _check_consumer_generation(w, consumers.get(w.consumer_uuid))
    held = (
        await s.execute(
            select(m.Allocation.provider_uuid).where(m.Allocation.consumer_uuid.in_(uuids))
        )
    ).scalars()
    new_providers = {rp for w in ws for rp in w.allocations}
    generations = await writes.lock_providers(s, new_providers | set(held))
    missing = sorted(new_providers - set(generations))
    if missing:
        raise errors.BadRequest(
            f"Allocation for resource provider '{missing[0]}' that does not exist."
        )
    await s.execute(delete(m.Allocation).where(m.Allocation.consumer_uuid.in_(uuids)))
    await _check_capacity(s, ws, new_providers)
    rows = [
        {"provider_uuid": rp, "consumer_uuid": w.consumer_uuid, "resource_class": rc, "used": n}
        for w in ws
        for rp, resources in sorted(w.allocations.items())
        for rc, n in sorted(resources.items())
    ]
    if rows:
        # One executemany: the claim holds the write lock, so each round trip counts.
        await s.execute(insert(m.Allocation), rows)
    for rp in sorted(generations):
        await writes.bump(s, rp, generations[rp])
    for w in ws:
        await _settle_consumer(s, w, consumers.get(w.consumer_uuid))


async def _check_capacity(s: AsyncSession, ws: list[ConsumerWrite], rps: set[str]) -> None:
    """AllocationConflict unless every amount fits its inventory's rules and free capacity."""
    invs = await inventories.load(s, rps)
    used = await inventories.usages(s, rps)  # our consumers' old allocations are gone already
    asked: dict[tuple[str, str], int] = defaultdict(int)
    for w in ws:
        for rp, resources in w.allocations.items():
            for rc, amount in resources.items():
                inv = invs[rp].get(rc)
                if inv is None:
                    raise AllocationConflict(
                        f"{PREFIX}: Inventory for '{rc}' on resource provider '{rp}' invalid."
                    )
                if not inv.allows(amount):
                    raise AllocationConflict(
                        f"{PREFIX}: Unable to create allocation for '{rc}' on resource "
                        f"provider '{rp}'. The requested amount would violate inventory "
                        f"constraints (min_unit {inv.min_unit}, max_unit {inv.max_unit}, "
                        f"step_size {inv.step_size})."
                    )
                asked[(rp, rc)] += amount
    for (rp, rc), amount in sorted(asked.items()):
        if not invs[rp][rc].fits_total(amount, used.get((rp, rc), 0)):
            raise AllocationConflict(
                f"{PREFIX}: Unable to create allocation for '{rc}' on resource provider "
                f"'{rp}'. The requested amount would exceed the capacity."
            )


async def _settle_consumer(s: AsyncSession, w: ConsumerWrite, row: m.Consumer | None) -> None:
    """Delete a consumer left with nothing, else record who it is and move its generation."""
    if row is None:
        return
    if not w.allocations:
        await s.execute(delete(m.Consumer).where(m.Consumer.uuid == w.consumer_uuid))
        return
    result = await s.execute(
        update(m.Consumer)
        .where(m.Consumer.uuid == w.consumer_uuid, m.Consumer.generation == row.generation)
        .values(
            generation=m.Consumer.generation + 1,
            project_id=w.project_id,
            user_id=w.user_id,
            consumer_type=w.consumer_type or row.consumer_type,
            updated_at=m.now(),
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentUpdate(
            f"consumer generation conflict: consumer {w.consumer_uuid} changed concurrently"
        )


async def read_in(s: AsyncSession, consumer_uuid: str) -> ConsumerAllocations:
    """What a consumer holds, inside the caller's session."""
    consumer = await s.get(m.Consumer, consumer_uuid)
    rows = await s.execute(
        select(
            m.Allocation.provider_uuid,
            m.Allocation.resource_class,
            m.Allocation.used,
            m.ResourceProvider.generation,
        )
        .join(m.ResourceProvider, m.ResourceProvider.uuid == m.Allocation.provider_uuid)
        .where(m.Allocation.consumer_uuid == consumer_uuid)
    )
    allocations: Amounts = defaultdict(dict)
    provider_generations: dict[str, int] = {}
    for rp, rc, used, generation in rows.all():
        allocations[rp][rc] = used
        provider_generations[rp] = generation
    return ConsumerAllocations(
        consumer_uuid=consumer_uuid,
        project_id=consumer.project_id if consumer else None,
        user_id=consumer.user_id if consumer else None,
        generation=consumer.generation if consumer else None,
        consumer_type=consumer.consumer_type if consumer else None,
        allocations=dict(allocations),
        provider_generations=provider_generations,
        updated_at=consumer.updated_at if consumer else None,
    )


async def read(db: Database, consumer_uuid: str) -> ConsumerAllocations:
    """What a consumer holds (empty allocations when nothing)."""
    async with db.session() as s:
        return await read_in(s, consumer_uuid)


async def delete_consumer(db: Database, consumer_uuid: str, *, missing_ok: bool) -> None:
    """Drop everything a consumer holds; 404 when it holds nothing, unless `missing_ok`."""

    async def _delete(s: AsyncSession) -> None:
        held = await read_in(s, consumer_uuid)
        if not held.allocations:
            if missing_ok:
                return
            raise errors.NotFound(f"No allocations for consumer '{consumer_uuid}'")
        await replace_in(
            s,
            [ConsumerWrite(consumer_uuid, held.project_id or "", held.user_id or "", {})],
        )

    await writes.write(db, _delete, "Unable to delete allocations")


async def move(db: Database, *, source: str, target: str, project_id: str, user_id: str) -> None:
    """Give `target` exactly what `source` holds and leave `source` with nothing.

    When `source` holds nothing this does nothing: a previous move already
    happened (Nova's report client behaves the same way).
    """

    async def _move(s: AsyncSession) -> None:
        await _lock_consumers(s, [ConsumerWrite(source, project_id, user_id, {})])
        held = await read_in(s, source)
        if not held.allocations:
            return
        await replace_in(
            s,
            [
                ConsumerWrite(source, held.project_id or project_id, held.user_id or user_id, {}),
                ConsumerWrite(
                    target,
                    project_id,
                    user_id,
                    held.allocations,
                    consumer_type=held.consumer_type,
                ),
            ],
        )

    await writes.write(db, _move, "Unable to move allocations")


async def of_provider(db: Database, provider_uuid: str) -> tuple[dict[str, dict[str, int]], int]:
    """Consumer uuid -> resources held on the provider, and the provider's generation."""
    async with db.session() as s:
        generation = await s.scalar(
            select(m.ResourceProvider.generation).where(m.ResourceProvider.uuid == provider_uuid)
        )
        if generation is None:
            raise errors.NotFound(f"No resource provider with uuid {provider_uuid} found")
        rows = await s.execute(
            select(
                m.Allocation.consumer_uuid, m.Allocation.resource_class, m.Allocation.used
            ).where(m.Allocation.provider_uuid == provider_uuid)
        )
        out: dict[str, dict[str, int]] = defaultdict(dict)
        for consumer, rc, used in rows.all():
            out[consumer][rc] = used
        return dict(out), generation
