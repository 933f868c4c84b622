"""Resource classes and traits: standard ones from code, custom ones from the database."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.db.engine import Database
from stackling.db.upsert import insert_ignore
from stackling.placement import models as m
from stackling.placement import standards
from stackling.placement.errors import DuplicateName

INVALID_TRAIT = (
    "The trait is invalid. A valid trait must be no longer than 255 characters, start "
    'with the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"'
)


# -- resource classes ---------------------------------------------------------------------------


async def unknown_classes(s: AsyncSession, names: Iterable[str]) -> list[str]:
    """Those of `names` that are neither standard nor an existing custom class, sorted."""
    custom = {n for n in names if not standards.is_standard_class(n)}
    if not custom:
        return []
    found = set(
        await s.scalars(select(m.ResourceClass.name).where(m.ResourceClass.name.in_(custom)))
    )
    return sorted(custom - found)


async def list_classes(db: Database) -> list[str]:
    """Every resource class: the standard ones in their order, then custom ones by name."""
    async with db.session() as s:
        custom = list(await s.scalars(select(m.ResourceClass.name).order_by(m.ResourceClass.name)))
    return [*standards.RESOURCE_CLASSES, *custom]


async def show_class(db: Database, name: str) -> str:
    """The class `name`; 404 when there is none."""
    async with db.session() as s:
        if await unknown_classes(s, [name]):
            raise errors.NotFound(f"No such resource class {name}.")
    return name


def _check_custom_class(name: str) -> None:
    if not standards.is_custom_name(name):
        raise errors.BadRequest(
            f"Invalid resource class name {name!r}: custom resource classes must match "
            "^CUSTOM_[A-Z0-9_]+$ and be at most 255 characters."
        )


async def create_class(db: Database, name: str) -> None:
    """Create a custom class; 409 when it exists already."""
    _check_custom_class(name)

    async def _create(s: AsyncSession) -> bool:
        return await insert_ignore(s, m.ResourceClass, name=name, created_at=m.now())

    if not await db.write(_create):
        raise DuplicateName(f"Conflicting resource class already exists: {name}")


async def ensure_class(db: Database, name: str) -> bool:
    """Create a custom class unless it (or a standard one) exists; True when created."""
    if standards.is_standard_class(name):
        return False
    _check_custom_class(name)

    async def _ensure(s: AsyncSession) -> bool:
        return await insert_ignore(s, m.ResourceClass, name=name, created_at=m.now())

    return await db.write(_ensure)


async def rename_class(db: Database, name: str, new_name: str) -> None:
    """Rename a custom class everywhere it is used (PUT before 1.7)."""
    if standards.is_standard_class(name):
        raise errors.BadRequest(f"Cannot update standard resource class {name}")
    _check_custom_class(new_name)

    async def _rename(s: AsyncSession) -> None:
        row = await s.get(m.ResourceClass, name, with_for_update=True)
        if row is None:
            raise errors.NotFound(f"No such resource class {name}.")
        if new_name == name:
            return
        if standards.is_standard_class(new_name) or await s.get(m.ResourceClass, new_name):
            raise DuplicateName(f"Resource class already exists: {new_name}")
        s.add(m.ResourceClass(name=new_name, created_at=row.created_at, updated_at=m.now()))
        await s.flush()
        for table in (m.Inventory, m.Allocation):
            await s.execute(
                update(table).where(table.resource_class == name).values(resource_class=new_name)
            )
        await s.execute(delete(m.ResourceClass).where(m.ResourceClass.name == name))

    await db.write(_rename)


async def delete_class(db: Database, name: str) -> None:
    """Delete a custom class nothing uses."""
    if standards.is_standard_class(name):
        raise errors.BadRequest(f"Cannot delete standard resource class {name}")

    async def _delete(s: AsyncSession) -> None:
        row = await s.get(m.ResourceClass, name, with_for_update=True)
        if row is None:
            raise errors.NotFound(f"No such resource class {name}.")
        in_use = await s.scalar(select(exists().where(m.Inventory.resource_class == name)))
        if in_use:
            raise errors.Conflict(
                f"Unable to delete resource class {name}. Resource class is in use in inventory."
            )
        await s.delete(row)

    await db.write(_delete)


# -- traits -------------------------------------------------------------------------------------


async def unknown_traits(s: AsyncSession, names: Iterable[str]) -> list[str]:
    """Those of `names` that are neither standard nor an existing custom trait, sorted."""
    custom = {n for n in names if n not in standards.TRAITS}
    if not custom:
        return []
    found = set(await s.scalars(select(m.Trait.name).where(m.Trait.name.in_(custom))))
    return sorted(custom - found)


async def list_traits(
    db: Database,
    *,
    names: set[str] | None = None,
    prefix: str | None = None,
    associated: bool | None = None,
) -> list[str]:
    """Trait names, sorted, filtered by name set, prefix and whether any provider has them."""
    async with db.session() as s:
        custom = set(await s.scalars(select(m.Trait.name)))
        every = standards.TRAITS | custom
        if associated is not None:
            used = set(await s.scalars(select(m.ProviderTrait.trait).distinct()))
            every = every & used if associated else every - used
    if names is not None:
        every = every & names
    if prefix is not None:
        every = {t for t in every if t.startswith(prefix)}
    return sorted(every)


async def trait_exists(db: Database, name: str) -> bool:
    """Whether the trait exists."""
    async with db.session() as s:
        return not await unknown_traits(s, [name])


async def ensure_trait(db: Database, name: str) -> bool:
    """Create a custom trait unless it exists; True when created."""
    if name in standards.TRAITS:
        return False
    if not standards.is_custom_name(name):
        raise errors.BadRequest(INVALID_TRAIT)

    async def _ensure(s: AsyncSession) -> bool:
        return await insert_ignore(s, m.Trait, name=name, created_at=m.now())

    return await db.write(_ensure)


async def delete_trait(db: Database, name: str) -> None:
    """Delete a custom trait no provider has."""
    if name in standards.TRAITS:
        raise errors.BadRequest(f"Cannot delete standard trait {name}.")

    async def _delete(s: AsyncSession) -> None:
        row = await s.get(m.Trait, name, with_for_update=True)
        if row is None:
            raise errors.NotFound(f"No such trait(s): {name}")
        if await s.scalar(select(exists().where(m.ProviderTrait.trait == name))):
            raise errors.Conflict(f"The trait {name} is in use by a resource provider.")
        await s.delete(row)

    await db.write(_delete)
