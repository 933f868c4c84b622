"""What a namespace holds: its objects, property definitions and tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.timeutil import utcnow
from stackling.db.engine import Database
from stackling.image.metadefs import models as m
from stackling.image.metadefs.access import (
    after_marker,
    authorize,
    find_namespace,
    refuse_if_protected,
    write,
)
from stackling.image.metadefs.service import find_association, new_object
from stackling.image.metadefs.validation import ObjectInput

OBJ = m.MetadefObject
PROP = m.MetadefProperty
TAG = m.MetadefTag

TAG_SORT_KEYS = ("name", "created_at", "updated_at")


# -- objects --------------------------------------------------------------------------------


def _object_missing(ns: str, name: str) -> errors.NotFound:
    return errors.NotFound(
        f"The metadata definition object with name={name} was not found in namespace={ns}."
    )


def _object_taken(ns: str, name: str) -> errors.Conflict:
    return errors.Conflict(
        f"A metadata definition object with name={name} already exists in namespace={ns}."
    )


async def _find_object(s: AsyncSession, ns: m.MetadefNamespace, name: str) -> m.MetadefObject:
    row = await s.scalar(select(OBJ).where(OBJ.namespace_id == ns.id, OBJ.name == name))
    if row is None:
        raise _object_missing(ns.namespace, name)
    return row


async def list_objects(db: Database, ctx: RequestContext, ns_name: str) -> list[m.MetadefObject]:
    """A namespace's objects, oldest first."""
    async with db.session() as s:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "get_metadef_objects", ns)
        return list(await s.scalars(select(OBJ).where(OBJ.namespace_id == ns.id).order_by(OBJ.id)))


async def get_object(db: Database, ctx: RequestContext, ns_name: str, name: str) -> m.MetadefObject:
    """One object of a namespace."""
    async with db.session() as s:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "get_metadef_object", ns)
        return await _find_object(s, ns, name)


async def create_object(
    db: Database, ctx: RequestContext, ns_name: str, given: ObjectInput
) -> m.MetadefObject:
    """Add an object to a namespace."""

    async def fn(s: AsyncSession) -> m.MetadefObject:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "add_metadef_object", ns)
        taken = await s.scalar(
            select(OBJ.id).where(OBJ.namespace_id == ns.id, OBJ.name == given.name)
        )
        if taken is not None:
            raise _object_taken(ns_name, given.name)
        row = new_object(ns.id, given, utcnow())
        s.add(row)
        await s.flush()
        return row

    return await write(db, fn, str(_object_taken(ns_name, given.name)))


async def update_object(
    db: Database, ctx: RequestContext, ns_name: str, name: str, given: ObjectInput
) -> m.MetadefObject:
    """Replace an object (possibly renaming it)."""

    async def fn(s: AsyncSession) -> m.MetadefObject:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "modify_metadef_object", ns)
        row = await _find_object(s, ns, name)
        if given.name != row.name:
            taken = await s.scalar(
                select(OBJ.id).where(OBJ.namespace_id == ns.id, OBJ.name == given.name)
            )
            if taken is not None:
                raise _object_taken(ns_name, given.name)
        row.name = given.name
        row.description = given.description
        row.required = given.required
        row.properties = given.properties
        row.updated_at = utcnow()
        await s.flush()
        return row

    return await write(db, fn, str(_object_taken(ns_name, given.name)))


async def delete_object(db: Database, ctx: RequestContext, ns_name: str, name: str) -> None:
    """Remove an object from an unprotected namespace."""

    async def fn(s: AsyncSession) -> None:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "delete_metadef_object", ns)
        row = await _find_object(s, ns, name)
        refuse_if_protected(ns, f"Metadata definition object {name}")
        await s.delete(row)

    await write(db, fn)


# -- properties -----------------------------------------------------------------------------


def _property_taken(ns: str, name: str) -> errors.Conflict:
    return errors.Conflict(
        f"A metadata definition property with name={name} already exists in namespace={ns}."
    )


async def _find_property(s: AsyncSession, ns: m.MetadefNamespace, name: str) -> m.MetadefProperty:
    row = await s.scalar(select(PROP).where(PROP.namespace_id == ns.id, PROP.name == name))
    if row is None:
        raise errors.NotFound(
            f"The metadata definition property with name={name} was not found"
            f" in namespace={ns.namespace}."
        )
    return row


async def list_properties(
    db: Database, ctx: RequestContext, ns_name: str
) -> list[m.MetadefProperty]:
    """A namespace's property definitions, oldest first."""
    async with db.session() as s:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "get_metadef_properties", ns)
        query = select(PROP).where(PROP.namespace_id == ns.id).order_by(PROP.id)
        return list(await s.scalars(query))


async def get_property(
    db: Database,
    ctx: RequestContext,
    ns_name: str,
    name: str,
    resource_type: str | None = None,
) -> m.MetadefProperty:
    """One property; with `resource_type`, `name` carries that association's prefix."""
    async with db.session() as s:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "get_metadef_property", ns)
        if resource_type:
            authorize(ctx, "get_metadef_resource_type", ns)
            prefix = (await find_association(s, ns, resource_type)).prefix
            if not prefix or not name.startswith(prefix):
                raise errors.NotFound(
                    f"Property {name} does not start with the expected resource type"
                    f" association prefix of '{prefix}'."
                )
            name = name[len(prefix) :]
        return await _find_property(s, ns, name)


async def create_property(
    db: Database, ctx: RequestContext, ns_name: str, name: str, definition: dict[str, Any]
) -> m.MetadefProperty:
    """Add a property definition to a namespace."""

    async def fn(s: AsyncSession) -> m.MetadefProperty:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "add_metadef_property", ns)
        taken = await s.scalar(select(PROP.id).where(PROP.namespace_id == ns.id, PROP.name == name))
        if taken is not None:
            raise _property_taken(ns_name, name)
        now = utcnow()
        row = PROP(
            namespace_id=ns.id, name=name, definition=definition, created_at=now, updated_at=now
        )
        s.add(row)
        await s.flush()
        return row

    return await write(db, fn, str(_property_taken(ns_name, name)))


async def update_property(
    db: Database,
    ctx: RequestContext,
    ns_name: str,
    name: str,
    new_name: str,
    definition: dict[str, Any],
) -> m.MetadefProperty:
    """Replace a property definition (possibly renaming it)."""

    async def fn(s: AsyncSession) -> m.MetadefProperty:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "modify_metadef_property", ns)
        row = await _find_property(s, ns, name)
        if new_name != row.name:
            taken = await s.scalar(
                select(PROP.id).where(PROP.namespace_id == ns.id, PROP.name == new_name)
            )
            if taken is not None:
                raise _property_taken(ns_name, new_name)
        row.name = new_name
        row.definition = definition
        row.updated_at = utcnow()
        await s.flush()
        return row

    return await write(db, fn, str(_property_taken(ns_name, new_name)))


async def delete_property(db: Database, ctx: RequestContext, ns_name: str, name: str) -> None:
    """Remove a property definition from an unprotected namespace."""

    async def fn(s: AsyncSession) -> None:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "remove_metadef_property", ns)
        row = await _find_property(s, ns, name)
        refuse_if_protected(ns, f"Metadata definition property {name}")
        await s.delete(row)

    await write(db, fn)


# -- tags -----------------------------------------------------------------------------------


def _tag_taken(ns: str, name: str) -> errors.Conflict:
    return errors.Conflict(f"A metadata tag with name={name} already exists in namespace={ns}.")


async def _find_tag(s: AsyncSession, ns: m.MetadefNamespace, name: str) -> m.MetadefTag:
    row = await s.scalar(select(TAG).where(TAG.namespace_id == ns.id, TAG.name == name))
    if row is None:
        raise errors.NotFound(
            f"The metadata definition tag with name={name} was not found"
            f" in namespace={ns.namespace}."
        )
    return row


async def list_tags(
    db: Database,
    ctx: RequestContext,
    ns_name: str,
    *,
    limit: int | None,
    marker: str | None,
    sort_key: str,
    sort_dir: str,
) -> list[m.MetadefTag]:
    """A page of a namespace's tags (newest first by default)."""
    if sort_key not in TAG_SORT_KEYS:
        raise errors.BadRequest(f"Invalid sort key: {sort_key}")
    keys = [sort_key] + [k for k in ("created_at", "id") if k != sort_key]
    async with db.session() as s:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "get_metadef_tags", ns)
        start = None
        if marker:
            after = await _find_tag(s, ns, marker)
            start = [getattr(after, k) for k in keys]
        query = after_marker(
            select(TAG).where(TAG.namespace_id == ns.id),
            [getattr(TAG, k) for k in keys],
            start,
            descending=sort_dir == "desc",
        )
        if limit:
            query = query.limit(limit)
        return list(await s.scalars(query))


async def get_tag(db: Database, ctx: RequestContext, ns_name: str, name: str) -> m.MetadefTag:
    """One tag of a namespace."""
    async with db.session() as s:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "get_metadef_tag", ns)
        return await _find_tag(s, ns, name)


async def create_tag(db: Database, ctx: RequestContext, ns_name: str, name: str) -> m.MetadefTag:
    """Add one tag to a namespace."""

    async def fn(s: AsyncSession) -> m.MetadefTag:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "add_metadef_tag", ns)
        if await s.scalar(select(TAG.id).where(TAG.namespace_id == ns.id, TAG.name == name)):
            raise _tag_taken(ns_name, name)
        now = utcnow()
        row = TAG(namespace_id=ns.id, name=name, created_at=now, updated_at=now)
        s.add(row)
        await s.flush()
        return row

    return await write(db, fn, str(_tag_taken(ns_name, name)))


async def create_tags(
    db: Database, ctx: RequestContext, ns_name: str, names: list[str], *, append: bool
) -> list[str]:
    """Add several tags; unless `append`, they replace the namespace's tags."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise _tag_taken(ns_name, name)
        seen.add(name)

    async def fn(s: AsyncSession) -> list[str]:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "add_metadef_tags", ns)
        # An empty list changes nothing, not even in replace mode (as in Glance).
        if not names:
            return []
        if append:
            existing = await s.scalar(
                select(TAG.name).where(TAG.namespace_id == ns.id, TAG.name.in_(names)).limit(1)
            )
            if existing is not None:
                raise _tag_taken(ns_name, existing)
        else:
            await s.execute(delete(TAG).where(TAG.namespace_id == ns.id))
        now = utcnow()
        for name in names:
            s.add(TAG(namespace_id=ns.id, name=name, created_at=now, updated_at=now))
        await s.flush()
        return list(names)

    return await write(db, fn, f"A metadata tag already exists in namespace={ns_name}.")


async def update_tag(
    db: Database, ctx: RequestContext, ns_name: str, name: str, new_name: str
) -> m.MetadefTag:
    """Rename a tag."""

    async def fn(s: AsyncSession) -> m.MetadefTag:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "modify_metadef_tag", ns)
        row = await _find_tag(s, ns, name)
        if new_name != row.name and await s.scalar(
            select(TAG.id).where(TAG.namespace_id == ns.id, TAG.name == new_name)
        ):
            raise _tag_taken(ns_name, new_name)
        row.name = new_name
        row.updated_at = utcnow()
        await s.flush()
        return row

    return await write(db, fn, str(_tag_taken(ns_name, new_name)))


async def delete_tag(db: Database, ctx: RequestContext, ns_name: str, name: str) -> None:
    """Remove a tag from an unprotected namespace."""

    async def fn(s: AsyncSession) -> None:
        ns = await find_namespace(s, ctx, ns_name)
        authorize(ctx, "delete_metadef_tag", ns)
        row = await _find_tag(s, ns, name)
        refuse_if_protected(ns, f"Metadata definition tag {name}")
        await s.delete(row)

    await write(db, fn)


# -- emptying a namespace -------------------------------------------------------------------

_CONTENT: dict[str, tuple[type[Any], tuple[str, ...]]] = {
    "objects": (OBJ, ("delete_metadef_namespace",)),
    "properties": (PROP, ("delete_metadef_namespace",)),
    "tags": (TAG, ("delete_metadef_namespace", "delete_metadef_tags")),
}


async def delete_all(db: Database, ctx: RequestContext, ns_name: str, kind: str) -> None:
    """Remove every object, property or tag (`kind`) of an unprotected namespace."""
    model, actions = _CONTENT[kind]

    async def fn(s: AsyncSession) -> None:
        ns = await find_namespace(s, ctx, ns_name)
        for action in actions:
            authorize(ctx, action, ns)
        refuse_if_protected(ns, f"Metadata definition namespace {ns.namespace}")
        await s.execute(delete(model).where(model.namespace_id == ns.id))

    await write(db, fn)
