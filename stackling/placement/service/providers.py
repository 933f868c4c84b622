"""Resource providers: create, read, rename or re-parent, list and delete."""

from __future__ import annotations

import uuid as uuidlib

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.db.engine import Database
from stackling.placement import models as m
from stackling.placement.errors import CannotDeleteParent, DuplicateName, ProviderInUse
from stackling.placement.service import search, writes
from stackling.placement.service.records import Provider

RP = m.ResourceProvider
# "Leave the parent as it is" for update(), distinct from None (make it a root).
KEEP: str = "\x00keep"


def record(row: RP) -> Provider:
    """A provider row as a value."""
    return Provider(
        uuid=row.uuid,
        name=row.name,
        generation=row.generation,
        parent_provider_uuid=row.parent_provider_uuid,
        root_provider_uuid=row.root_provider_uuid,
        updated_at=row.updated_at,
    )


async def row_of(s: AsyncSession, uuid: str) -> RP:
    """The provider's row; 404 when there is none."""
    row = await s.get(RP, uuid)
    if row is None:
        raise errors.NotFound(f"No resource provider with uuid {uuid} found")
    return row


async def show(db: Database, uuid: str) -> Provider:
    """One provider."""
    async with db.session() as s:
        return record(await row_of(s, uuid))


async def find(db: Database, query: search.ProviderQuery) -> list[Provider]:
    """Providers matching `query`."""
    async with db.session() as s:
        return [record(match.provider) for match in await search.find(s, query)]


async def check_name_free(s: AsyncSession, name: str, uuid: str) -> None:
    other = await s.scalar(select(RP.uuid).where(RP.name == name, RP.uuid != uuid))
    if other is not None:
        raise DuplicateName(f"Conflicting resource provider name: {name} already exists.")


async def insert(s: AsyncSession, uuid: str, name: str, parent: str | None) -> RP:
    """Add a provider row (name and uuid checked, parent must exist)."""
    if await s.get(RP, uuid) is not None:
        raise errors.Conflict(f"Conflicting resource provider uuid: {uuid} already exists.")
    await check_name_free(s, name, uuid)
    root = uuid
    if parent is not None:
        parent_row = await s.get(RP, parent)
        if parent_row is None:
            raise errors.BadRequest(
                f"Failed to create resource provider {uuid}: parent provider UUID {parent} "
                "does not exist."
            )
        root = parent_row.root_provider_uuid
    row = RP(
        uuid=uuid, name=name, generation=0, parent_provider_uuid=parent, root_provider_uuid=root
    )
    s.add(row)
    await s.flush()
    return row


async def _write_unique(db: Database, fn: writes.WriteFn[Provider], name: str) -> Provider:
    try:
        return await writes.write(db, fn, "Unable to write resource provider")
    except IntegrityError:
        # A concurrent writer took the name (or uuid) between our check and our insert.
        raise DuplicateName(f"Conflicting resource provider name: {name} already exists.") from None


async def create(
    db: Database, *, name: str, uuid: str | None = None, parent_provider_uuid: str | None = None
) -> Provider:
    """Create a provider at generation 0."""
    new_uuid = uuid or str(uuidlib.uuid4())

    async def _create(s: AsyncSession) -> Provider:
        return record(await insert(s, new_uuid, name, parent_provider_uuid))

    return await _write_unique(db, _create, name)


async def _descendants(s: AsyncSession, uuid: str) -> set[str]:
    found: set[str] = set()
    frontier = {uuid}
    while frontier:
        below = select(RP.uuid).where(RP.parent_provider_uuid.in_(frontier))
        children = set(await s.scalars(below))
        frontier = children - found
        found |= children
    return found


async def update_provider(
    db: Database,
    uuid: str,
    *,
    name: str,
    parent_provider_uuid: str | None = KEEP,
    allow_reparent: bool = False,
) -> Provider:
    """Rename a provider and (re)set its parent; a rename does not move its generation."""

    async def _update(s: AsyncSession) -> Provider:
        await writes.lock_provider(s, uuid)
        row = await row_of(s, uuid)
        await check_name_free(s, name, uuid)
        row.name = name
        parent = parent_provider_uuid
        if parent != KEEP and parent != row.parent_provider_uuid:
            await _reparent(s, row, parent, allow_reparent)
        row.updated_at = m.now()
        await s.flush()
        return record(row)

    return await _write_unique(db, _update, name)


async def _reparent(s: AsyncSession, row: RP, parent: str | None, allowed: bool) -> None:
    if row.parent_provider_uuid is not None and not allowed:
        raise errors.BadRequest("Re-parenting a provider is not allowed.")
    if parent is None and not allowed:
        raise errors.BadRequest("Un-parenting a provider is not allowed.")
    below = await _descendants(s, row.uuid)
    root = row.uuid
    if parent is not None:
        if parent == row.uuid or parent in below:
            raise errors.BadRequest("Creating loop in the provider tree is not allowed.")
        parent_row = await s.get(RP, parent)
        if parent_row is None:
            raise errors.BadRequest(f"parent provider UUID {parent} does not exist.")
        root = parent_row.root_provider_uuid
    row.parent_provider_uuid = parent
    row.root_provider_uuid = root
    if below:
        await s.execute(update(RP).where(RP.uuid.in_(below)).values(root_provider_uuid=root))


async def delete_provider(db: Database, uuid: str) -> None:
    """Delete a provider without allocations or children, with its inventory and links."""

    async def _delete(s: AsyncSession) -> None:
        await writes.lock_provider(s, uuid)
        if await s.scalar(select(exists().where(m.Allocation.provider_uuid == uuid))):
            raise ProviderInUse(
                f"Unable to delete resource provider {uuid}: Resource provider has allocations."
            )
        if await s.scalar(select(exists().where(RP.parent_provider_uuid == uuid))):
            raise CannotDeleteParent(
                f"Unable to delete parent resource provider {uuid}: It has child resource "
                "providers."
            )
        for table in (m.Inventory, m.ProviderTrait, m.ProviderAggregate):
            await s.execute(delete(table).where(table.provider_uuid == uuid))
        await s.execute(delete(RP).where(RP.uuid == uuid))

    await writes.write(db, _delete, "Unable to delete resource provider")
