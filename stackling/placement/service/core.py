"""The placement service as other services in the process call it (scheduler, compute agent).

Every method takes plain values and returns plain values; HTTP routes use the
finer-grained functions of the sibling modules for generation-checked writes.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.db.engine import Database
from stackling.placement.service import allocations as allocation_ops
from stackling.placement.service import associations, candidates, providers, search, usages, writes
from stackling.placement.service import inventories as inventory_ops
from stackling.placement.service.records import Candidate, Provider
from stackling.settings import Settings


class PlacementService:
    """Resource providers, their inventories and the allocations against them."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    async def ensure_provider(
        self,
        *,
        uuid: str,
        name: str,
        inventories: dict[str, dict[str, int | float]],
        traits: set[str] | None = None,
        aggregates: set[str] | None = None,
    ) -> None:
        """Create or update a provider so it has exactly this inventory (and traits, aggregates).

        Idempotent: when nothing differs nothing is written and the generation
        stays. Removing a class that has allocations raises InventoryInUse (409).
        """
        new = inventory_ops.parse(uuid, inventories)

        async def _ensure(s: AsyncSession) -> None:
            found = await writes.lock_providers(s, [uuid])
            if uuid not in found:
                await providers.insert(s, uuid, name, None)
                found[uuid] = 0
            row = await providers.row_of(s, uuid)
            changed = False
            if row.name != name:
                await providers.check_name_free(s, name, uuid)
                row.name = name
            changed |= await inventory_ops.replace(s, uuid, new)
            if traits is not None:
                changed |= await associations.replace_traits(s, uuid, set(traits))
            if aggregates is not None:
                changed |= await associations.replace_aggregates(s, uuid, set(aggregates))
            if changed:
                await writes.bump(s, uuid, found[uuid])

        await writes.write(self.db, _ensure, "Unable to update resource provider")

    async def allocation_candidates(
        self,
        *,
        resources: dict[str, int],
        required_traits: set[str] = frozenset(),  # type: ignore[assignment]
        forbidden_traits: set[str] = frozenset(),  # type: ignore[assignment]
        member_of: list[set[str]] | None = None,
        in_tree: str | None = None,
        limit: int | None = None,
    ) -> list[Candidate]:
        """Providers that can each hold all of `resources`, with their capacity summaries."""
        query = search.ProviderQuery(
            resources=dict(resources),
            required=frozenset(required_traits),
            forbidden=frozenset(forbidden_traits),
            member_of=tuple(frozenset(group) for group in member_of or ()),
            in_tree=in_tree,
            aggregates_via_root=True,
        )
        return await candidates.find(self.db, query, limit)

    async def claim(
        self,
        *,
        consumer_uuid: str,
        project_id: str,
        user_id: str,
        allocations: dict[str, dict[str, int]],
    ) -> None:
        """Replace the consumer's allocations with these, atomically; AllocationConflict if full."""
        await allocation_ops.replace(
            self.db, [allocation_ops.ConsumerWrite(consumer_uuid, project_id, user_id, allocations)]
        )

    async def move_allocations(
        self, *, source_consumer: str, target_consumer: str, project_id: str, user_id: str
    ) -> None:
        """Hand what `source_consumer` holds to `target_consumer` (a resize's migration)."""
        if source_consumer == target_consumer:
            raise errors.BadRequest("The source and target consumer are the same.")
        await allocation_ops.move(
            self.db,
            source=source_consumer,
            target=target_consumer,
            project_id=project_id,
            user_id=user_id,
        )

    async def delete_allocations(self, consumer_uuid: str) -> None:
        """Drop everything the consumer holds (nothing held is fine)."""
        await allocation_ops.delete_consumer(self.db, consumer_uuid, missing_ok=True)

    async def get_allocations(self, consumer_uuid: str) -> dict[str, dict[str, int]]:
        """Provider uuid -> resource class -> amount the consumer holds."""
        return (await allocation_ops.read(self.db, consumer_uuid)).allocations

    async def provider_usages(self, provider_uuid: str) -> dict[str, int]:
        """Resource class -> amount allocated on the provider (404 when it does not exist)."""
        return (await usages.of_provider(self.db, provider_uuid))[0]

    async def provider_consumers(self, provider_uuid: str) -> list[str]:
        """The consumers holding allocations on the provider (404 when it does not exist)."""
        return sorted((await allocation_ops.of_provider(self.db, provider_uuid))[0])

    async def project_usages(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        """Resource class -> amount allocated to the project's (and user's) consumers."""
        return await usages.of_project(self.db, project_id, user_id)

    async def delete_provider(self, uuid: str) -> None:
        """Delete a provider; 409 while it has allocations or children, 404 when absent."""
        await providers.delete_provider(self.db, uuid)

    async def list_providers(self) -> list[Provider]:
        """Every provider, oldest first."""
        return await providers.find(self.db, search.ProviderQuery())
