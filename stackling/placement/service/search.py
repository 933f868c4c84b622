"""Finding providers: by name, tree, traits, aggregates and room for a set of resources."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from stackling.common import errors
from stackling.placement import models as m
from stackling.placement.service import inventories, names
from stackling.placement.service.records import Inventory

RP = m.ResourceProvider
# Providers are read in batches so that an IN list stays far below every database's limit.
BATCH = 500


@dataclass(frozen=True)
class ProviderQuery:
    """What a provider must be, have and be able to hold (every part optional)."""

    name: str | None = None
    uuid: str | None = None
    in_tree: str | None = None
    resources: dict[str, int] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()
    # Each set: the provider must have at least one of these traits (1.39 `in:`).
    any_traits: tuple[frozenset[str], ...] = ()
    # Each set: the provider must be in at least one of these aggregates.
    member_of: tuple[frozenset[str], ...] = ()
    not_member_of: frozenset[str] = frozenset()
    # Traits the provider's root must have, or must not have (1.35 root_required).
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    # Allocation candidates count the root's aggregates as the provider's own.
    aggregates_via_root: bool = False


@dataclass(frozen=True)
class Match:
    """A provider that satisfies a query, with what was read to decide it."""

    provider: m.ResourceProvider
    inventories: dict[str, Inventory]
    used: dict[str, int]


def _in_aggregates(aggregates: frozenset[str], via_root: bool) -> Any:
    """Provider uuids in any of `aggregates` (directly, or through their root)."""
    if not via_root:
        return select(m.ProviderAggregate.provider_uuid).where(
            m.ProviderAggregate.aggregate_uuid.in_(aggregates)
        )
    member = aliased(RP)
    return (
        select(member.uuid)
        .join(
            m.ProviderAggregate,
            or_(
                m.ProviderAggregate.provider_uuid == member.uuid,
                m.ProviderAggregate.provider_uuid == member.root_provider_uuid,
            ),
        )
        .where(m.ProviderAggregate.aggregate_uuid.in_(aggregates))
    )


def _statement(q: ProviderQuery) -> Any:
    stmt = select(RP)
    if q.name is not None:
        stmt = stmt.where(RP.name == q.name)
    if q.uuid is not None:
        stmt = stmt.where(RP.uuid == q.uuid)
    if q.in_tree is not None:
        tree = aliased(RP)
        root = select(tree.root_provider_uuid).where(tree.uuid == q.in_tree).scalar_subquery()
        stmt = stmt.where(RP.root_provider_uuid == root)
    for trait in sorted(q.required):
        stmt = stmt.where(
            RP.uuid.in_(select(m.ProviderTrait.provider_uuid).where(m.ProviderTrait.trait == trait))
        )
    for choice in q.any_traits:
        stmt = stmt.where(
            RP.uuid.in_(
                select(m.ProviderTrait.provider_uuid).where(m.ProviderTrait.trait.in_(choice))
            )
        )
    if q.forbidden:
        stmt = stmt.where(
            RP.uuid.not_in(
                select(m.ProviderTrait.provider_uuid).where(m.ProviderTrait.trait.in_(q.forbidden))
            )
        )
    for trait in sorted(q.root_required):
        stmt = stmt.where(
            RP.root_provider_uuid.in_(
                select(m.ProviderTrait.provider_uuid).where(m.ProviderTrait.trait == trait)
            )
        )
    if q.root_forbidden:
        stmt = stmt.where(
            RP.root_provider_uuid.not_in(
                select(m.ProviderTrait.provider_uuid).where(
                    m.ProviderTrait.trait.in_(q.root_forbidden)
                )
            )
        )
    for aggregates in q.member_of:
        stmt = stmt.where(RP.uuid.in_(_in_aggregates(aggregates, q.aggregates_via_root)))
    if q.not_member_of:
        stmt = stmt.where(RP.uuid.not_in(_in_aggregates(q.not_member_of, q.aggregates_via_root)))
    for rc in sorted(q.resources):
        stmt = stmt.where(
            RP.uuid.in_(select(m.Inventory.provider_uuid).where(m.Inventory.resource_class == rc))
        )
    return stmt.order_by(RP.created_at, RP.uuid)


async def check_names(s: AsyncSession, q: ProviderQuery) -> None:
    """400 for a resource class or trait in the query that does not exist."""
    unknown = await names.unknown_classes(s, q.resources)
    if unknown:
        raise errors.BadRequest(f"Invalid resource class in resources parameter: {unknown[0]}")
    wanted = set(q.required) | q.forbidden | q.root_required | q.root_forbidden
    for choice in q.any_traits:
        wanted |= choice
    missing = await names.unknown_traits(s, wanted)
    if missing:
        raise errors.BadRequest(f"No such trait(s): {', '.join(missing)}")
    for rc, amount in q.resources.items():
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
            raise errors.BadRequest(f"Requested amount of {rc} must be a positive integer.")


async def find(s: AsyncSession, q: ProviderQuery, limit: int | None = None) -> list[Match]:
    """Providers matching `q`, oldest first, at most `limit` of them."""
    await check_names(s, q)
    rows: Sequence[m.ResourceProvider] = (await s.scalars(_statement(q))).all()
    out: list[Match] = []
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        uuids = [row.uuid for row in batch]
        invs = await inventories.load(s, uuids)
        used: dict[str, dict[str, int]] = {uuid: {} for uuid in uuids}
        for (rp, rc), amount in (await inventories.usages(s, uuids)).items():
            used[rp][rc] = amount
        for row in batch:
            mine = used[row.uuid]
            fits = all(
                invs[row.uuid][rc].fits(amount, mine.get(rc, 0))
                for rc, amount in q.resources.items()
            )
            if fits:
                out.append(Match(row, invs[row.uuid], mine))
                if limit is not None and len(out) >= limit:
                    return out
    return out


async def traits_of(s: AsyncSession, uuids: Sequence[str]) -> dict[str, frozenset[str]]:
    """The traits of each provider."""
    out: dict[str, set[str]] = {uuid: set() for uuid in uuids}
    for start in range(0, len(uuids), BATCH):
        rows = await s.execute(
            select(m.ProviderTrait.provider_uuid, m.ProviderTrait.trait).where(
                m.ProviderTrait.provider_uuid.in_(uuids[start : start + BATCH])
            )
        )
        for uuid, trait in rows.all():
            out[uuid].add(trait)
    return {uuid: frozenset(traits) for uuid, traits in out.items()}
