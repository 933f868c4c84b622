"""Provider inventories: read, replace, add, change and remove, never below what is in use."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.db.engine import Database
from stackling.placement import models as m
from stackling.placement.errors import InventoryInUse
from stackling.placement.service import names, writes
from stackling.placement.service.records import Inventory, make_inventory

Inventories = dict[str, Inventory]


def _record(row: m.Inventory) -> Inventory:
    return Inventory(
        resource_class=row.resource_class,
        total=row.total,
        reserved=row.reserved,
        min_unit=row.min_unit,
        max_unit=row.max_unit,
        step_size=row.step_size,
        allocation_ratio=row.allocation_ratio,
    )


async def load(s: AsyncSession, uuids: Iterable[str]) -> dict[str, Inventories]:
    """The inventories of each of `uuids` (providers without any map to {})."""
    wanted = list(set(uuids))
    out: dict[str, Inventories] = {uuid: {} for uuid in wanted}
    if wanted:
        rows = await s.scalars(select(m.Inventory).where(m.Inventory.provider_uuid.in_(wanted)))
        for row in rows:
            out[row.provider_uuid][row.resource_class] = _record(row)
    return out


async def usages(s: AsyncSession, uuids: Iterable[str]) -> dict[tuple[str, str], int]:
    """How much of each class is allocated on each of `uuids`: (provider, class) -> used."""
    wanted = list(set(uuids))
    if not wanted:
        return {}
    rows = await s.execute(
        select(m.Allocation.provider_uuid, m.Allocation.resource_class, func.sum(m.Allocation.used))
        .where(m.Allocation.provider_uuid.in_(wanted))
        .group_by(m.Allocation.provider_uuid, m.Allocation.resource_class)
    )
    return {(rp, rc): int(used) for rp, rc, used in rows.all()}


def parse(
    provider_uuid: str,
    raw: dict[str, dict[str, int | float]],
    *,
    reserved_may_equal_total: bool = True,
) -> Inventories:
    """Caller-supplied inventory dicts as checked records (400 on a bad value)."""
    equal_ok = reserved_may_equal_total
    return {
        rc: make_inventory(
            rc, values, provider_uuid=provider_uuid, reserved_may_equal_total=equal_ok
        )
        for rc, values in raw.items()
    }


async def _check_classes(s: AsyncSession, provider_uuid: str, classes: Iterable[str]) -> None:
    unknown = await names.unknown_classes(s, classes)
    if unknown:
        raise errors.BadRequest(
            f"Unknown resource class in inventory for resource provider {provider_uuid}: "
            f"{', '.join(unknown)}"
        )


async def replace(s: AsyncSession, provider_uuid: str, new: Inventories) -> bool:
    """Make the provider's inventory exactly `new`; whether anything changed.

    Removing a class that has allocations is refused (409 InventoryInUse);
    shrinking one below its usage is allowed, as Placement allows it.
    """
    await _check_classes(s, provider_uuid, new)
    current = (await load(s, [provider_uuid]))[provider_uuid]
    removed = set(current) - set(new)
    if removed:
        used = await usages(s, [provider_uuid])
        busy = sorted(rc for rc in removed if used.get((provider_uuid, rc), 0) > 0)
        if busy:
            raise InventoryInUse(
                f"update conflict: Inventory for '{', '.join(busy)}' on resource provider "
                f"'{provider_uuid}' in use."
            )
        await s.execute(
            delete(m.Inventory).where(
                m.Inventory.provider_uuid == provider_uuid, m.Inventory.resource_class.in_(removed)
            )
        )
    changed = bool(removed)
    for rc, inv in new.items():
        if current.get(rc) == inv:
            continue
        changed = True
        values = inv.as_dict()
        if rc in current:
            row = await s.scalar(
                select(m.Inventory).where(
                    m.Inventory.provider_uuid == provider_uuid, m.Inventory.resource_class == rc
                )
            )
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = m.now()
        else:
            s.add(m.Inventory(provider_uuid=provider_uuid, resource_class=rc, **values))
    await s.flush()
    return changed


async def get_all(db: Database, provider_uuid: str) -> tuple[Inventories, int]:
    """The provider's inventories and generation."""
    async with db.session() as s:
        generation = await s.scalar(
            select(m.ResourceProvider.generation).where(m.ResourceProvider.uuid == provider_uuid)
        )
        if generation is None:
            raise errors.NotFound(f"No resource provider with uuid {provider_uuid} found")
        return (await load(s, [provider_uuid]))[provider_uuid], generation


async def put_all(
    db: Database, provider_uuid: str, generation: int, new: Inventories
) -> tuple[Inventories, int]:
    """Replace every inventory, when the caller saw the current generation."""

    async def _put(s: AsyncSession) -> int:
        current = await writes.lock_provider(s, provider_uuid)
        writes.check_generation(provider_uuid, current, generation)
        await replace(s, provider_uuid, new)
        return await writes.bump(s, provider_uuid, current)

    return new, await writes.write(db, _put, "Unable to update inventory")


async def get_one(db: Database, provider_uuid: str, rc: str) -> tuple[Inventory, int]:
    """One class of the provider's inventory, with the provider's generation."""
    invs, generation = await get_all(db, provider_uuid)
    if rc not in invs:
        raise errors.NotFound(f"No inventory of class {rc} for {provider_uuid}")
    return invs[rc], generation


async def set_one(
    db: Database, provider_uuid: str, generation: int, inv: Inventory, *, create: bool
) -> int:
    """Add (`create`) or change one class of inventory; the new generation."""
    rc = inv.resource_class

    async def _set(s: AsyncSession) -> int:
        current = await writes.lock_provider(s, provider_uuid)
        writes.check_generation(provider_uuid, current, generation)
        invs = (await load(s, [provider_uuid]))[provider_uuid]
        if create and rc in invs:
            raise errors.Conflict(
                f"Update conflict: Inventory for resource class {rc} already exists for "
                f"resource provider {provider_uuid}."
            )
        if not create and rc not in invs:
            raise errors.BadRequest(
                f"No inventory record with resource class {rc} for "
                f"resource provider {provider_uuid}."
            )
        await replace(s, provider_uuid, {**invs, rc: inv})
        return await writes.bump(s, provider_uuid, current)

    return await writes.write(db, _set, "Unable to update inventory")


async def delete_one(db: Database, provider_uuid: str, rc: str) -> None:
    """Remove one class of inventory (409 while it has allocations)."""

    async def _delete(s: AsyncSession) -> None:
        current = await writes.lock_provider(s, provider_uuid)
        invs = (await load(s, [provider_uuid]))[provider_uuid]
        if rc not in invs:
            raise errors.NotFound(f"No inventory of class {rc} found for delete")
        del invs[rc]
        await replace(s, provider_uuid, invs)
        await writes.bump(s, provider_uuid, current)

    await writes.write(db, _delete, "Unable to delete inventory")


async def delete_all(db: Database, provider_uuid: str) -> None:
    """Remove every class of inventory (409 while any has allocations)."""

    async def _delete(s: AsyncSession) -> None:
        current = await writes.lock_provider(s, provider_uuid)
        await replace(s, provider_uuid, {})
        await writes.bump(s, provider_uuid, current)

    await writes.write(db, _delete, "Unable to delete inventory")
