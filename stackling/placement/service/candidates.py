"""Allocation candidates: single providers that can hold a whole request on their own."""

from __future__ import annotations

from stackling.common import errors
from stackling.db.engine import Database
from stackling.placement.service import search
from stackling.placement.service.records import Candidate


async def find(
    db: Database, query: search.ProviderQuery, limit: int | None = None
) -> list[Candidate]:
    """Candidates for `query.resources`, filtered by its traits, aggregates and tree."""
    if not query.resources:
        raise errors.BadRequest("At least one resource must be requested.")
    if limit is not None and limit < 1:
        raise errors.BadRequest("limit must be a positive integer.")
    async with db.session() as s:
        matches = await search.find(s, query, limit)
        traits = await search.traits_of(s, [match.provider.uuid for match in matches])
    return [
        Candidate(
            provider_uuid=match.provider.uuid,
            provider_name=match.provider.name,
            summaries={
                rc: {"capacity": inv.capacity, "used": match.used.get(rc, 0)}
                for rc, inv in match.inventories.items()
            },
            resources=dict(query.resources),
            traits=traits[match.provider.uuid],
            parent_provider_uuid=match.provider.parent_provider_uuid,
            root_provider_uuid=match.provider.root_provider_uuid,
            generation=match.provider.generation,
        )
        for match in matches
    ]
