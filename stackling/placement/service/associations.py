"""A provider's traits and aggregates: read, and replaced whole under its generation."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.db.engine import Database
from stackling.placement import models as m
from stackling.placement.service import names, providers, writes

_HEX = "[0-9a-fA-F]"
_UUID = re.compile(f"^{_HEX}{{8}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{12}}$")


def check_uuids(values: Iterable[str], what: str) -> None:
    """400 unless every value is a UUID."""
    for value in values:
        if not isinstance(value, str) or not _UUID.match(value):
            raise errors.BadRequest(f"Invalid {what}: {value!r} is not a UUID.")


async def _traits(s: AsyncSession, uuid: str) -> set[str]:
    rows = await s.scalars(
        select(m.ProviderTrait.trait).where(m.ProviderTrait.provider_uuid == uuid)
    )
    return set(rows)


async def _aggregates(s: AsyncSession, uuid: str) -> set[str]:
    rows = await s.scalars(
        select(m.ProviderAggregate.aggregate_uuid).where(m.ProviderAggregate.provider_uuid == uuid)
    )
    return set(rows)


async def replace_traits(s: AsyncSession, uuid: str, traits: set[str]) -> bool:
    """Give the provider exactly `traits` (400 for an unknown one); whether anything changed."""
    unknown = await names.unknown_traits(s, traits)
    if unknown:
        raise errors.BadRequest(f"No such trait(s): {', '.join(unknown)}")
    current = await _traits(s, uuid)
    if current == traits:
        return False
    gone = current - traits
    if gone:
        await s.execute(
            delete(m.ProviderTrait).where(
                m.ProviderTrait.provider_uuid == uuid, m.ProviderTrait.trait.in_(gone)
            )
        )
    s.add_all(m.ProviderTrait(provider_uuid=uuid, trait=t) for t in sorted(traits - current))
    await s.flush()
    return True


async def replace_aggregates(s: AsyncSession, uuid: str, aggregates: set[str]) -> bool:
    """Put the provider in exactly `aggregates`; whether anything changed."""
    check_uuids(aggregates, "aggregate")
    current = await _aggregates(s, uuid)
    if current == aggregates:
        return False
    gone = current - aggregates
    if gone:
        await s.execute(
            delete(m.ProviderAggregate).where(
                m.ProviderAggregate.provider_uuid == uuid,
                m.ProviderAggregate.aggregate_uuid.in_(gone),
            )
        )
    s.add_all(
        m.ProviderAggregate(provider_uuid=uuid, aggregate_uuid=a)
        for a in sorted(aggregates - current)
    )
    await s.flush()
    return True


async def get_traits(db: Database, uuid: str) -> tuple[set[str], int]:
    """The provider's traits and generation."""
    async with db.session() as s:
        row = await providers.row_of(s, uuid)
        return await _traits(s, uuid), row.generation


async def get_aggregates(db: Database, uuid: str) -> tuple[set[str], int]:
    """The provider's aggregates and generation."""
    async with db.session() as s:
        row = await providers.row_of(s, uuid)
        return await _aggregates(s, uuid), row.generation


async def set_traits(
    db: Database, uuid: str, traits: set[str], generation: int
) -> tuple[set[str], int]:
    """Replace the provider's traits when the caller saw its current generation."""

    async def _set(s: AsyncSession) -> int:
        current = await writes.lock_provider(s, uuid)
        writes.check_generation(uuid, current, generation)
        await replace_traits(s, uuid, traits)
        return await writes.bump(s, uuid, current)

    return traits, await writes.write(db, _set, "Unable to update traits")


async def clear_traits(db: Database, uuid: str) -> None:
    """Remove every trait from the provider."""

    async def _clear(s: AsyncSession) -> None:
        current = await writes.lock_provider(s, uuid)
        await replace_traits(s, uuid, set())
        await writes.bump(s, uuid, current)

    await writes.write(db, _clear, "Unable to delete traits")


async def set_aggregates(
    db: Database, uuid: str, aggregates: set[str], generation: int | None
) -> tuple[set[str], int]:
    """Replace the provider's aggregates; `generation` None skips the check (before 1.19)."""

    async def _set(s: AsyncSession) -> int:
        current = await writes.lock_provider(s, uuid)
        writes.check_generation(uuid, current, generation)
        await replace_aggregates(s, uuid, aggregates)
        return await writes.bump(s, uuid, current)

    return aggregates, await writes.write(db, _set, "Unable to update aggregates")
