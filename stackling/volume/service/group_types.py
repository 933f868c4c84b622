"""Group types and their group specs: what kinds of generic volume groups exist."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.volume import faults
from stackling.volume import models as m
from stackling.volume.service import policy, spec_tables
from stackling.volume.service.core import VolumeService

# Sort keys a group type list accepts (Cinder's generic sort keys for types).
SORT_KEYS = {
    "name": m.VolumeGroupType.name,
    "id": m.VolumeGroupType.id,
    "created_at": m.VolumeGroupType.created_at,
    "updated_at": m.VolumeGroupType.updated_at,
    "description": m.VolumeGroupType.description,
    "is_public": m.VolumeGroupType.is_public,
}
_TRUE = ("true", "1", "t", "yes", "y", "on")
_FALSE = ("false", "0", "f", "no", "n", "off")


@dataclass(slots=True)
class GroupTypeCreate:
    """A checked POST /group_types body."""

    name: str
    description: str | None = None
    is_public: bool = True
    group_specs: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class GroupTypeRecord:
    """A group type with its group specs."""

    gtype: m.VolumeGroupType
    group_specs: dict[str, str]


def visible(ctx: RequestContext) -> ColumnElement[bool]:
    """SQL condition: group types the caller may see (private ones are the admin's)."""
    if ctx.is_admin:
        return true()
    return m.VolumeGroupType.is_public.is_(True)


async def _records(s: AsyncSession, rows: list[m.VolumeGroupType]) -> list[GroupTypeRecord]:
    specs: dict[str, dict[str, str]] = {row.id: {} for row in rows}
    if rows:
        found = await s.scalars(
            select(m.VolumeGroupTypeSpec).where(m.VolumeGroupTypeSpec.group_type_id.in_(specs))
        )
        for spec in found:
            specs[spec.group_type_id][spec.key] = spec.value
    return [GroupTypeRecord(row, specs[row.id]) for row in rows]


async def find(s: AsyncSession, ctx: RequestContext, name_or_id: str) -> m.VolumeGroupType:
    """A visible group type by id, else by name; 404 when neither names one."""
    for column in (m.VolumeGroupType.id, m.VolumeGroupType.name):
        row = await s.scalar(select(m.VolumeGroupType).where(visible(ctx), column == name_or_id))
        if row is not None:
            return row
    raise faults.group_type_not_found(name_or_id)


def _sort(value: str | None) -> list[ColumnElement[object]]:
    """ORDER BY of Cinder's `sort=key[:dir],...` (created_at, then id, by default)."""
    order: list[ColumnElement[object]] = []
    for part in (value or "").split(","):
        if not part.strip():
            continue
        key, _, direction = part.strip().partition(":")
        column = SORT_KEYS.get(key.strip())
        if column is None:
            raise faults.InvalidInput(f"Invalid sort key {key.strip()!r}.")
        direction = (direction or "asc").strip().lower()
        if direction not in ("asc", "desc"):
            raise faults.InvalidInput(f"Invalid sort direction {direction!r}.")
        order.append(column.desc() if direction == "desc" else column.asc())
    return [*order, m.VolumeGroupType.created_at.asc(), m.VolumeGroupType.id.asc()]


async def list_types(
    svc: VolumeService, ctx: RequestContext, is_public: str | None, sort: str | None
) -> list[GroupTypeRecord]:
    """Visible group types; admins choose public (default), private or all ("none")."""
    query = select(m.VolumeGroupType).where(visible(ctx)).order_by(*_sort(sort))
    if ctx.is_admin:
        choice = (is_public or "true").strip().lower()
        if choice in _TRUE:
            query = query.where(m.VolumeGroupType.is_public.is_(True))
        elif choice in _FALSE:
            query = query.where(m.VolumeGroupType.is_public.is_(False))
        elif choice != "none":
            raise faults.InvalidInput(f"Invalid is_public filter [{is_public}]")
    async with svc.db.session() as s:
        return await _records(s, list((await s.scalars(query)).all()))


async def show(svc: VolumeService, ctx: RequestContext, group_type_id: str) -> GroupTypeRecord:
    """One group type, by id."""
    async with svc.db.session() as s:
        row = await s.scalar(
            select(m.VolumeGroupType).where(visible(ctx), m.VolumeGroupType.id == group_type_id)
        )
        if row is None:
            raise faults.group_type_not_found(group_type_id)
        return (await _records(s, [row]))[0]


async def show_default(svc: VolumeService, ctx: RequestContext) -> GroupTypeRecord:
    """The default group type: this cloud configures none, so Cinder's 404."""
    raise errors.NotFound("Default group type can not be found.")


async def _name_taken(s: AsyncSession, name: str, but: str | None = None) -> None:
    query = select(m.VolumeGroupType.id).where(m.VolumeGroupType.name == name)
    if but is not None:
        query = query.where(m.VolumeGroupType.id != but)
    if await s.scalar(query) is not None:
        raise errors.Conflict(f"Group Type {name} already exists.")


async def create(svc: VolumeService, ctx: RequestContext, req: GroupTypeCreate) -> GroupTypeRecord:
    """A new group type (admin only); 409 when the name is taken."""
    policy.enforce(ctx, "group:group_types_manage")

    async def _do(s: AsyncSession) -> GroupTypeRecord:
        await _name_taken(s, req.name)
        row = m.VolumeGroupType(
            id=new_uuid(), name=req.name, description=req.description, is_public=req.is_public
        )
        s.add(row)
        await s.flush()
        for key, value in req.group_specs.items():
            s.add(m.VolumeGroupTypeSpec(group_type_id=row.id, key=key, value=value))
        await s.flush()
        return GroupTypeRecord(row, dict(req.group_specs))

    return await svc.tx(_do)


async def update(
    svc: VolumeService, ctx: RequestContext, group_type_id: str, changes: dict[str, object]
) -> GroupTypeRecord:
    """Rename, describe or publish a group type (admin only)."""
    policy.enforce(ctx, "group:group_types_manage")

    async def _do(s: AsyncSession) -> GroupTypeRecord:
        row = await s.get(m.VolumeGroupType, group_type_id)
        if row is None:
            raise faults.group_type_not_found(group_type_id)
        if "name" in changes:
            await _name_taken(s, str(changes["name"]), but=row.id)
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = m.now()
        await s.flush()
        return (await _records(s, [row]))[0]

    return await svc.tx(_do)


async def delete_type(svc: VolumeService, ctx: RequestContext, group_type_id: str) -> None:
    """Delete a group type no group uses (admin only)."""
    policy.enforce(ctx, "group:group_types_manage")

    async def _do(s: AsyncSession) -> None:
        row = await s.get(m.VolumeGroupType, group_type_id)
        if row is None:
            raise faults.group_type_not_found(group_type_id)
        used = await s.scalar(
            select(func.count()).where(m.VolumeGroup.group_type_id == group_type_id)
        )
        if used:
            raise errors.BadRequest(
                f"Group Type {group_type_id} deletion is not allowed with groups present "
                "with the type."
            )
        # SQLite may not enforce the cascade: the specs go explicitly.
        await s.execute(
            delete(m.VolumeGroupTypeSpec).where(m.VolumeGroupTypeSpec.group_type_id == row.id)
        )
        await s.delete(row)

    await svc.tx(_do)


async def get_specs(svc: VolumeService, ctx: RequestContext, group_type_id: str) -> dict[str, str]:
    """A group type's specs (admin only, as Cinder's group_types_specs policy)."""
    policy.enforce(ctx, "group:group_types_specs")
    return dict((await show(svc, ctx, group_type_id)).group_specs)


async def get_spec(svc: VolumeService, ctx: RequestContext, group_type_id: str, key: str) -> str:
    """One group spec; 404 when the type has no such key."""
    specs = await get_specs(svc, ctx, group_type_id)
    if key not in specs:
        raise _no_spec(group_type_id, key)
    return specs[key]


async def set_specs(
    svc: VolumeService, ctx: RequestContext, group_type_id: str, specs: dict[str, str]
) -> dict[str, str]:
    """Add or replace group specs (admin only); the others stay."""
    policy.enforce(ctx, "group:group_types_specs")
    return await spec_tables.set_specs(svc, GROUP_SPECS, group_type_id, specs)


async def delete_spec(
    svc: VolumeService, ctx: RequestContext, group_type_id: str, key: str
) -> None:
    """Remove one group spec (admin only)."""
    policy.enforce(ctx, "group:group_types_specs")
    await spec_tables.delete_spec(svc, GROUP_SPECS, group_type_id, key)


def _no_spec(group_type_id: str, key: str) -> errors.NotFound:
    """Cinder's GroupTypeSpecsNotFound."""
    return errors.NotFound(f"Group Type {group_type_id} has no specs with key {key}.")


GROUP_SPECS = spec_tables.SpecTable(
    owner=m.VolumeGroupType,
    spec=m.VolumeGroupTypeSpec,
    owner_column="group_type_id",
    owner_missing=faults.group_type_not_found,
    key_missing=_no_spec,
)
