"""Volume types and their extra specs; the default type every new cloud has."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.volume import faults
from stackling.volume import models as m
from stackling.volume.service import policy, qos, spec_tables
from stackling.volume.service.core import VolumeService

DEFAULT_DESCRIPTION = "Default Volume Type"
# Extra specs any reader may see (Cinder's user-visible keys); the rest are the admin's.
USER_VISIBLE_SPECS = ("RESKEY:availability_zones", "multiattach", "replication_enabled")


@dataclass(slots=True)
class TypeCreate:
    """A checked POST /types body."""

    name: str
    description: str | None = None
    is_public: bool = True
    extra_specs: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class TypeRecord:
    """A volume type with its extra specs."""

    vtype: m.VolumeType
    extra_specs: dict[str, str]
    qos_specs_id: str | None = None


def visible_types(ctx: RequestContext) -> ColumnElement[bool]:
    """SQL condition: the types the caller may see and use (private ones need access)."""
    if ctx.is_admin:
        return true()
    return _public_or_granted(ctx)


async def _records(s: AsyncSession, rows: list[m.VolumeType]) -> list[TypeRecord]:
    ids = [r.id for r in rows]
    specs = await _specs(s, ids)
    qos_ids = await qos.qos_ids_of_types(s, ids)
    return [TypeRecord(r, specs[r.id], qos_ids.get(r.id)) for r in rows]


async def _specs(s: AsyncSession, type_ids: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {tid: {} for tid in type_ids}
    if type_ids:
        rows = await s.scalars(
            select(m.VolumeTypeExtraSpec).where(m.VolumeTypeExtraSpec.type_id.in_(type_ids))
        )
        for row in rows:
            found[row.type_id][row.key] = row.value
    return found


async def ensure_default(svc: VolumeService) -> None:
    """Create the configured default type unless a type of that name exists."""
    wanted = svc.conf.default_volume_type

    async def _do(s: AsyncSession) -> None:
        if await s.scalar(select(m.VolumeType.id).where(m.VolumeType.name == wanted)) is None:
            s.add(m.VolumeType(id=new_uuid(), name=wanted, description=DEFAULT_DESCRIPTION))

    await svc.tx(_do)


async def find(s: AsyncSession, ctx: RequestContext, name_or_id: str) -> m.VolumeType:
    """A visible type by id, else by name; 404 when neither names one."""
    row = await s.scalar(
        select(m.VolumeType)
        .where(
            visible_types(ctx), or_(m.VolumeType.id == name_or_id, m.VolumeType.name == name_or_id)
        )
        .order_by((m.VolumeType.id == name_or_id).desc())
    )
    if row is None:
        raise faults.type_not_found(name_or_id)
    return row


async def default_type(s: AsyncSession, svc: VolumeService) -> m.VolumeType | None:
    """The configured default type, if it exists."""
    name = svc.conf.default_volume_type
    return await s.scalar(select(m.VolumeType).where(m.VolumeType.name == name))


async def list_types(
    svc: VolumeService, ctx: RequestContext, is_public: str | None
) -> list[TypeRecord]:
    """Types the caller may see; admins choose public (default), private or all (`None`)."""
    query = (
        select(m.VolumeType)
        .where(visible_types(ctx))
        .order_by(m.VolumeType.created_at, m.VolumeType.id)
    )
    if ctx.is_admin:
        choice = (is_public or "true").strip().lower()
        if choice in ("true", "1", "t", "yes"):
            # As Cinder: public types, and the private ones the admin's project may use.
            query = query.where(_public_or_granted(ctx))
        elif choice in ("false", "0", "f", "no"):
            query = query.where(m.VolumeType.is_public.is_(False))
        elif choice != "none":
            raise faults.InvalidInput(f"Invalid is_public filter [{is_public}]")
    async with svc.db.session() as s:
        return await _records(s, list((await s.scalars(query)).all()))


async def show(svc: VolumeService, ctx: RequestContext, type_id: str) -> TypeRecord:
    """One type, by id."""
    async with svc.db.session() as s:
        row = await s.scalar(
            select(m.VolumeType).where(visible_types(ctx), m.VolumeType.id == type_id)
        )
        if row is None:
            raise faults.type_not_found(type_id)
        return (await _records(s, [row]))[0]


async def show_default(svc: VolumeService, ctx: RequestContext) -> TypeRecord:
    """The default type (GET /types/default)."""
    async with svc.db.session() as s:
        row = await default_type(s, svc)
        if row is None:
            raise errors.NotFound("Default volume type can not be found.")
        return (await _records(s, [row]))[0]


async def _name_taken(s: AsyncSession, name: str, but: str | None = None) -> None:
    query = select(m.VolumeType.id).where(m.VolumeType.name == name)
    if but is not None:
        query = query.where(m.VolumeType.id != but)
    if await s.scalar(query) is not None:
        raise errors.Conflict(f"Volume Type {name} already exists.")


async def create(svc: VolumeService, ctx: RequestContext, req: TypeCreate) -> TypeRecord:
    """A new type (admin only); 409 when the name is taken."""
    policy.enforce(ctx, "volume_extension:types_manage")

    async def _do(s: AsyncSession) -> TypeRecord:
        await _name_taken(s, req.name)
        row = m.VolumeType(
            id=new_uuid(), name=req.name, description=req.description, is_public=req.is_public
        )
        s.add(row)
        for key, value in req.extra_specs.items():
            s.add(m.VolumeTypeExtraSpec(type_id=row.id, key=key, value=value))
        await s.flush()
        return TypeRecord(row, dict(req.extra_specs))

    return await svc.tx(_do)


async def update(
    svc: VolumeService, ctx: RequestContext, type_id: str, changes: dict[str, object]
) -> TypeRecord:
    """Rename, describe or publish a type (admin only)."""
    policy.enforce(ctx, "volume_extension:types_manage")

    async def _do(s: AsyncSession) -> TypeRecord:
        row = await s.get(m.VolumeType, type_id)
        if row is None:
            raise faults.type_not_found(type_id)
        if "name" in changes:
            if row.name == svc.conf.default_volume_type and changes["name"] != row.name:
                raise faults.InvalidInput("The default volume type cannot be renamed.")
            await _name_taken(s, str(changes["name"]), but=row.id)
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = m.now()
        await s.flush()
        return (await _records(s, [row]))[0]

    return await svc.tx(_do)


async def delete_type(svc: VolumeService, ctx: RequestContext, type_id: str) -> None:
    """Delete a type no volume uses (admin only); the default type stays."""
    policy.enforce(ctx, "volume_extension:types_manage")

    async def _do(s: AsyncSession) -> None:
        row = await s.get(m.VolumeType, type_id)
        if row is None:
            raise faults.type_not_found(type_id)
        if row.name == svc.conf.default_volume_type:
            raise errors.BadRequest("Default volume type can not be deleted.")
        used = await s.scalar(select(func.count()).where(m.Volume.volume_type_id == type_id))
        if used:
            raise errors.BadRequest("Target volume type is still in use.")
        # SQLite may not enforce the cascades: the children go explicitly.
        for child in (m.VolumeTypeExtraSpec, m.VolumeTypeQos, m.VolumeTypeProject):
            await s.execute(delete(child).where(child.type_id == type_id))
        await s.delete(row)

    await svc.tx(_do)


def visible_specs(ctx: RequestContext, specs: dict[str, str]) -> dict[str, str]:
    """The extra specs the caller may read."""
    if ctx.is_admin:
        return dict(specs)
    return {k: v for k, v in specs.items() if k in USER_VISIBLE_SPECS}


async def get_specs(svc: VolumeService, ctx: RequestContext, type_id: str) -> dict[str, str]:
    """A type's extra specs, as far as the caller may read them."""
    return visible_specs(ctx, (await show(svc, ctx, type_id)).extra_specs)


async def get_spec(svc: VolumeService, ctx: RequestContext, type_id: str, key: str) -> str:
    """One extra spec; 404 when the type has no such key."""
    specs = await get_specs(svc, ctx, type_id)
    if key not in specs:
        raise _no_extra_spec(type_id, key)
    return specs[key]


def _no_extra_spec(type_id: str, key: str) -> errors.NotFound:
    return errors.NotFound(f"Volume Type {type_id} has no extra specs with key {key}.")


EXTRA_SPECS = spec_tables.SpecTable(
    owner=m.VolumeType,
    spec=m.VolumeTypeExtraSpec,
    owner_column="type_id",
    owner_missing=faults.type_not_found,
    key_missing=_no_extra_spec,
)


async def set_specs(
    svc: VolumeService, ctx: RequestContext, type_id: str, specs: dict[str, str]
) -> dict[str, str]:
    """Add or replace extra specs (admin only); the others stay."""
    policy.enforce(ctx, "volume_extension:types_extra_specs:create")
    return await spec_tables.set_specs(svc, EXTRA_SPECS, type_id, specs)


async def delete_spec(svc: VolumeService, ctx: RequestContext, type_id: str, key: str) -> None:
    """Remove one extra spec (admin only)."""
    policy.enforce(ctx, "volume_extension:types_extra_specs:delete")
    await spec_tables.delete_spec(svc, EXTRA_SPECS, type_id, key)


def _public_or_granted(ctx: RequestContext) -> ColumnElement[bool]:
    granted = exists().where(
        m.VolumeTypeProject.type_id == m.VolumeType.id,
        m.VolumeTypeProject.project_id == ctx.project_id,
    )
    return or_(m.VolumeType.is_public.is_(True), granted)


async def _private_type(s: AsyncSession, type_id: str) -> m.VolumeType:
    row = await s.get(m.VolumeType, type_id)
    if row is None:
        raise faults.type_not_found(type_id)
    return row


async def list_access(svc: VolumeService, ctx: RequestContext, type_id: str) -> list[str]:
    """The projects allowed to use a private type (admin); public types have no such list."""
    policy.enforce(ctx, "volume_extension:volume_type_access")
    async with svc.db.session() as s:
        row = await _private_type(s, type_id)
        if row.is_public:
            raise errors.NotFound("Access list not available for public volume types.")
        found = await s.scalars(
            select(m.VolumeTypeProject.project_id)
            .where(m.VolumeTypeProject.type_id == type_id)
            .order_by(m.VolumeTypeProject.project_id)
        )
        return list(found)


async def add_access(svc: VolumeService, ctx: RequestContext, type_id: str, project: str) -> None:
    """Let a project use a private type (admin); 409 when it already may."""
    policy.enforce(ctx, "volume_extension:volume_type_access:addProjectAccess")

    async def _do(s: AsyncSession) -> None:
        row = await _private_type(s, type_id)
        if row.is_public:
            raise errors.BadRequest(
                "Invalid volume type: Type access modification is not applicable "
                "to public volume type."
            )
        if await s.get(m.VolumeTypeProject, (type_id, project)) is not None:
            raise errors.Conflict(
                f"Volume type access for {type_id} / {project} combination already exists."
            )
        s.add(m.VolumeTypeProject(type_id=type_id, project_id=project))

    await svc.tx(_do)


async def remove_access(
    svc: VolumeService, ctx: RequestContext, type_id: str, project: str
) -> None:
    """Withdraw a project's use of a private type (admin); 404 when it had none."""
    policy.enforce(ctx, "volume_extension:volume_type_access:removeProjectAccess")

    async def _do(s: AsyncSession) -> None:
        row = await _private_type(s, type_id)
        if row.is_public:
            raise errors.BadRequest(
                "Invalid volume type: Type access modification is not applicable "
                "to public volume type."
            )
        grant = await s.get(m.VolumeTypeProject, (type_id, project))
        if grant is None:
            raise errors.NotFound(
                f"Volume type access not found for {type_id} / {project} combination."
            )
        await s.delete(grant)

    await svc.tx(_do)
