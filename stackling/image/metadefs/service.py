"""Namespaces and resource types of the metadefs catalog: what is listed, made and removed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.timeutil import utcnow
from stackling.db.engine import Database
from stackling.db.upsert import insert_ignore
from stackling.image.metadefs import models as m
from stackling.image.metadefs.access import (
    after_marker,
    authorize,
    find_namespace,
    may_read,
    refuse_if_protected,
    require,
    visible_to,
    write,
)
from stackling.image.metadefs.validation import (
    AssociationInput,
    NamespaceInput,
    ObjectInput,
)

NS = m.MetadefNamespace
RT = m.MetadefResourceType
ASSOC = m.MetadefNamespaceResourceType

# The resource types Glance's database starts with, in its order (clients such
# as Tempest pick the first one listed).
DEFAULT_RESOURCE_TYPES = (
    "OS::Glance::Image",
    "OS::Cinder::Volume",
    "OS::Nova::Flavor",
    "OS::Nova::Aggregate",
    "OS::Nova::Server",
    "OS::Trove::Instance",
)

# Sortable namespace attributes; nullable ones sort as "" so paging can compare them.
_NULLABLE_KEYS = {"display_name", "description", "owner"}
SORT_KEYS = ("namespace", "display_name", "description", "visibility", "protected", "owner")
SORT_KEYS += ("created_at", "updated_at")


@dataclass(slots=True)
class Association:
    """A namespace's link to a resource type, by the type's name."""

    name: str
    prefix: str | None
    properties_target: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(slots=True)
class NamespaceDetail:
    """A namespace with what it holds (each part empty unless asked for)."""

    ns: m.MetadefNamespace
    associations: list[Association] = field(default_factory=list)
    objects: list[m.MetadefObject] = field(default_factory=list)
    properties: list[m.MetadefProperty] = field(default_factory=list)
    tags: list[m.MetadefTag] = field(default_factory=list)


@dataclass(slots=True)
class NamespacePage:
    """One page of namespaces, and the name to continue after when there may be more."""

    items: list[NamespaceDetail]
    next_marker: str | None


# -- reading --------------------------------------------------------------------------------


async def associations_of(s: AsyncSession, ns_ids: list[int]) -> dict[int, list[Association]]:
    """The resource type associations of each namespace in `ns_ids`."""
    if not ns_ids:
        return {}
    rows = await s.execute(
        select(ASSOC, RT.name)
        .join(RT, RT.id == ASSOC.resource_type_id)
        .where(ASSOC.namespace_id.in_(ns_ids))
        .order_by(ASSOC.namespace_id, RT.id)
    )
    out: dict[int, list[Association]] = {}
    for assoc, name in rows:
        out.setdefault(assoc.namespace_id, []).append(
            Association(
                name, assoc.prefix, assoc.properties_target, assoc.created_at, assoc.updated_at
            )
        )
    return out


async def _detail(s: AsyncSession, ns: m.MetadefNamespace) -> NamespaceDetail:
    objects = await s.scalars(
        select(m.MetadefObject)
        .where(m.MetadefObject.namespace_id == ns.id)
        .order_by(m.MetadefObject.id)
    )
    props = await s.scalars(
        select(m.MetadefProperty)
        .where(m.MetadefProperty.namespace_id == ns.id)
        .order_by(m.MetadefProperty.id)
    )
    # Newest first, as Glance lists a namespace's tags by default.
    tags = await s.scalars(
        select(m.MetadefTag)
        .where(m.MetadefTag.namespace_id == ns.id)
        .order_by(m.MetadefTag.created_at.desc(), m.MetadefTag.id.desc())
    )
    return NamespaceDetail(
        ns,
        associations=(await associations_of(s, [ns.id])).get(ns.id, []),
        objects=list(objects),
        properties=list(props),
        tags=list(tags),
    )


def _sort_expr(key: str) -> ColumnElement[Any]:
    column: ColumnElement[Any] = getattr(NS, key)
    return func.coalesce(column, "") if key in _NULLABLE_KEYS else column


def _sort_value(ns: m.MetadefNamespace, key: str) -> Any:
    value = getattr(ns, key)
    return (value or "") if key in _NULLABLE_KEYS else value


async def list_namespaces(
    db: Database,
    ctx: RequestContext,
    *,
    limit: int | None,
    marker: str | None,
    sort_key: str,
    sort_dir: str,
    visibility: str | None,
    resource_types: list[str] | None,
) -> NamespacePage:
    """The namespaces the caller may see, one page of them, with their associations."""
    require(ctx, "get_metadef_namespaces")
    require(ctx, "list_metadef_resource_types")
    if sort_key not in SORT_KEYS:
        raise errors.BadRequest(f"Invalid sort key: {sort_key}")
    keys = [sort_key] + [k for k in ("created_at", "id") if k != sort_key]
    async with db.session() as s:
        query = select(NS).where(visible_to(ctx))
        if visibility is not None:
            query = query.where(NS.visibility == visibility)
        if resource_types is not None:
            linked = (
                select(ASSOC.namespace_id)
                .join(RT, RT.id == ASSOC.resource_type_id)
                .where(RT.name.in_(resource_types))
            )
            query = query.where(NS.id.in_(linked))
        start = None
        if marker is not None:
            after = await find_namespace(s, ctx, marker)
            start = [_sort_value(after, k) for k in keys]
        query = after_marker(
            query, [_sort_expr(k) for k in keys], start, descending=sort_dir == "desc"
        )
        if limit is not None:
            query = query.limit(limit)
        rows = list(await s.scalars(query))
        shown = [ns for ns in rows if may_read(ctx, ns)]
        assocs = await associations_of(s, [ns.id for ns in shown])
    items = [NamespaceDetail(ns, associations=assocs.get(ns.id, [])) for ns in shown]
    more = bool(rows) and limit is not None and len(rows) == limit
    return NamespacePage(items, rows[-1].namespace if more else None)


async def get_namespace(db: Database, ctx: RequestContext, name: str) -> NamespaceDetail:
    """A namespace with its associations, objects, properties and tags."""
    async with db.session() as s:
        ns = await find_namespace(s, ctx, name)
        authorize(ctx, "get_metadef_namespace", ns)
        for action in (
            "list_metadef_resource_types",
            "get_metadef_objects",
            "get_metadef_properties",
            "get_metadef_tags",
        ):
            authorize(ctx, action, ns)
        return await _detail(s, ns)


# -- namespaces -----------------------------------------------------------------------------


async def _ensure_free_name(s: AsyncSession, name: str, *, but: int | None = None) -> None:
    query = select(NS.id).where(NS.namespace == name)
    if but is not None:
        query = query.where(NS.id != but)
    if await s.scalar(query) is not None:
        raise errors.Conflict(f"The metadata definition namespace={name} already exists.")


async def _resource_type(s: AsyncSession, name: str, now: dt.datetime) -> m.MetadefResourceType:
    """The resource type called `name`, made on first use as Glance makes it."""
    row = await s.scalar(select(RT).where(RT.name == name))
    if row is None:
        row = RT(name=name, protected=False, created_at=now, updated_at=now)
        s.add(row)
        await s.flush()
    return row


async def _associate(
    s: AsyncSession, ns: m.MetadefNamespace, given: AssociationInput, now: dt.datetime
) -> Association:
    rtype = await _resource_type(s, given.name, now)
    taken = await s.scalar(
        select(ASSOC.namespace_id).where(
            ASSOC.namespace_id == ns.id, ASSOC.resource_type_id == rtype.id
        )
    )
    if taken is not None:
        raise errors.Conflict(
            f"The metadata definition resource-type association of resource-type={given.name}"
            f" to namespace={ns.namespace} already exists."
        )
    s.add(
        ASSOC(
            namespace_id=ns.id,
            resource_type_id=rtype.id,
            prefix=given.prefix,
            properties_target=given.properties_target,
            created_at=now,
            updated_at=now,
        )
    )
    return Association(given.name, given.prefix, given.properties_target, now, now)


def new_object(ns_id: int, given: ObjectInput, now: dt.datetime) -> m.MetadefObject:
    """An object row from the client's object."""
    return m.MetadefObject(
        namespace_id=ns_id,
        name=given.name,
        description=given.description,
        required=given.required,
        properties=given.properties,
        created_at=now,
        updated_at=now,
    )


def _duplicate(names: list[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


async def create_namespace(
    db: Database, ctx: RequestContext, given: NamespaceInput
) -> NamespaceDetail:
    """Create a namespace and everything it embeds, in one transaction."""
    require(ctx, "add_metadef_namespace")
    for part, action in (
        (given.associations, "add_metadef_resource_type_association"),
        (given.objects, "add_metadef_object"),
        (given.properties, "add_metadef_property"),
        (given.tags, "add_metadef_tag"),
    ):
        if part:
            require(ctx, action)
    dup_object = _duplicate([o.name for o in given.objects])
    if dup_object is not None:
        raise errors.Conflict(
            f"A metadata definition object with name={dup_object} already exists"
            f" in namespace={given.namespace}."
        )
    dup_tag = _duplicate(given.tags)
    if dup_tag is not None:
        raise errors.Conflict(
            f"A metadata tag with name={dup_tag} already exists in namespace={given.namespace}."
        )

    async def fn(s: AsyncSession) -> NamespaceDetail:
        await _ensure_free_name(s, given.namespace)
        now = utcnow()
        ns = NS(
            namespace=given.namespace,
            display_name=given.display_name,
            description=given.description,
            visibility=given.visibility or "private",
            protected=bool(given.protected),
            owner=given.owner or ctx.project_id,
            created_at=now,
            updated_at=now,
        )
        s.add(ns)
        await s.flush()
        for assoc in given.associations:
            await _associate(s, ns, assoc, now)
            await s.flush()
        for obj in given.objects:
            s.add(new_object(ns.id, obj, now))
        for name, definition in given.properties.items():
            s.add(
                m.MetadefProperty(
                    namespace_id=ns.id,
                    name=name,
                    definition=definition,
                    created_at=now,
                    updated_at=now,
                )
            )
        for tag in given.tags:
            s.add(m.MetadefTag(namespace_id=ns.id, name=tag, created_at=now, updated_at=now))
        await s.flush()
        return await _detail(s, ns)

    conflict = f"The metadata definition namespace={given.namespace} already exists."
    return await write(db, fn, conflict)


async def update_namespace(
    db: Database, ctx: RequestContext, name: str, given: NamespaceInput
) -> m.MetadefNamespace:
    """Replace a namespace's attributes (omitted ones take their defaults, as in Glance)."""

    async def fn(s: AsyncSession) -> m.MetadefNamespace:
        ns = await find_namespace(s, ctx, name)
        authorize(ctx, "modify_metadef_namespace", ns)
        await _ensure_free_name(s, given.namespace, but=ns.id)
        ns.namespace = given.namespace
        ns.display_name = given.display_name
        ns.description = given.description
        ns.visibility = given.visibility or "private"
        ns.protected = bool(given.protected)
        ns.owner = given.owner or ctx.project_id
        ns.updated_at = utcnow()
        await s.flush()
        return ns

    conflict = f"The metadata definition namespace={given.namespace} already exists."
    return await write(db, fn, conflict)


async def _delete_content(s: AsyncSession, ns_id: int, *models: type[Any]) -> None:
    for model in models:
        await s.execute(delete(model).where(model.namespace_id == ns_id))


async def delete_namespace(db: Database, ctx: RequestContext, name: str) -> None:
    """Delete an unprotected namespace and everything in it."""

    async def fn(s: AsyncSession) -> None:
        ns = await find_namespace(s, ctx, name)
        authorize(ctx, "delete_metadef_namespace", ns)
        refuse_if_protected(ns, f"Metadata definition namespace {ns.namespace}")
        await _delete_content(s, ns.id, m.MetadefTag, m.MetadefObject, m.MetadefProperty, ASSOC)
        await s.delete(ns)

    await write(db, fn)


# -- resource types -------------------------------------------------------------------------


async def _seed_resource_types(s: AsyncSession) -> None:
    now = utcnow()
    for name in DEFAULT_RESOURCE_TYPES:
        await insert_ignore(s, RT, name=name, protected=True, created_at=now, updated_at=now)


async def list_resource_types(db: Database, ctx: RequestContext) -> list[m.MetadefResourceType]:
    """Every resource type; the defaults are seeded on the first call, not at start-up."""
    require(ctx, "list_metadef_resource_types")
    async with db.session() as s:
        rows = list(await s.scalars(select(RT).order_by(RT.id)))
    if not set(DEFAULT_RESOURCE_TYPES) <= {r.name for r in rows}:
        await db.write(_seed_resource_types)
        async with db.session() as s:
            rows = list(await s.scalars(select(RT).order_by(RT.id)))
    return rows


async def list_associations(db: Database, ctx: RequestContext, name: str) -> list[Association]:
    """The resource types a namespace applies to."""
    async with db.session() as s:
        ns = await find_namespace(s, ctx, name)
        authorize(ctx, "list_metadef_resource_types", ns)
        return (await associations_of(s, [ns.id])).get(ns.id, [])


async def create_association(
    db: Database, ctx: RequestContext, name: str, given: AssociationInput
) -> Association:
    """Apply a namespace to a resource type (made if it is new)."""

    async def fn(s: AsyncSession) -> Association:
        ns = await find_namespace(s, ctx, name)
        authorize(ctx, "add_metadef_resource_type_association", ns)
        assoc = await _associate(s, ns, given, utcnow())
        await s.flush()
        return assoc

    conflict = f"The resource type {given.name} is already associated with namespace {name}."
    return await write(db, fn, conflict)


async def delete_association(
    db: Database, ctx: RequestContext, name: str, resource_type: str
) -> None:
    """Stop applying a namespace to a resource type."""

    async def fn(s: AsyncSession) -> None:
        ns = await find_namespace(s, ctx, name)
        authorize(ctx, "remove_metadef_resource_type_association", ns)
        rtype_id = await s.scalar(select(RT.id).where(RT.name == resource_type))
        assoc = None
        if rtype_id is not None:
            assoc = await s.get(ASSOC, (ns.id, rtype_id))
        if assoc is None:
            raise errors.NotFound(f"Failed to find resource type {resource_type} to delete")
        refuse_if_protected(ns, f"Metadata definition resource-type-association {resource_type}")
        await s.delete(assoc)

    await write(db, fn)


async def find_association(
    s: AsyncSession, ns: m.MetadefNamespace, resource_type: str
) -> Association:
    """The namespace's association with `resource_type`, or NotFound."""
    for assoc in (await associations_of(s, [ns.id])).get(ns.id, []):
        if assoc.name == resource_type:
            return assoc
    raise errors.NotFound(
        f"The metadata definition resource-type association of resource-type={resource_type}"
        f" to namespace={ns.namespace}, was not found."
    )
