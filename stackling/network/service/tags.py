"""Tags on any tagged resource (standard-attr-tag): the caller must own what it tags."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.network import faults
from stackling.network import models as m
from stackling.network.service import revisions, scope
from stackling.network.service.core import NetworkService

NOT_FOUND: dict[str, Callable[[str], Exception]] = {
    "networks": faults.NetworkNotFound,
    "subnets": faults.SubnetNotFound,
    "ports": faults.PortNotFound,
    "subnetpools": faults.SubnetPoolNotFound,
    "security_groups": faults.SecurityGroupNotFound,
    "routers": faults.RouterNotFound,
    "floatingips": faults.FloatingIPNotFound,
}


def taggable(collection: str) -> bool:
    """Whether this API serves tags on `collection`."""
    return collection in NOT_FOUND


async def _resource(
    s: AsyncSession, ctx: RequestContext, collection: str, ident: str, *, write: bool
) -> m.StandardAttrs:
    model = m.TAGGED[collection]
    row = await scope.load(s, ctx, model, ident, NOT_FOUND[collection], for_update=write)
    if write and not scope.owns(ctx, row.project_id):  # type: ignore[attr-defined]
        raise faults.PolicyNotAuthorized(f"rule:update_{collection}_tags")
    return row


async def _tags(s: AsyncSession, collection: str, ident: str) -> list[str]:
    rows = await s.scalars(
        select(m.Tag.tag)
        .where(m.Tag.resource_type == collection, m.Tag.resource_id == ident)
        .order_by(m.Tag.tag)
    )
    return list(rows)


async def list_tags(
    svc: NetworkService, ctx: RequestContext, collection: str, ident: str
) -> list[str]:
    """The tags of a resource the caller may see."""
    async with svc.db.session() as s:
        await _resource(s, ctx, collection, ident, write=False)
        return await _tags(s, collection, ident)


async def has_tag(
    svc: NetworkService, ctx: RequestContext, collection: str, ident: str, tag: str
) -> None:
    """Nothing when the resource carries `tag`; TagNotFound otherwise."""
    if tag not in await list_tags(svc, ctx, collection, ident):
        raise faults.TagNotFound(tag, collection[:-1], ident)


async def replace_tags(
    svc: NetworkService, ctx: RequestContext, collection: str, ident: str, new: list[str]
) -> list[str]:
    """Make `new` the resource's whole set of tags."""
    wanted = sorted(set(new))

    async def _replace(s: AsyncSession) -> list[str]:
        row = await _resource(s, ctx, collection, ident, write=True)
        if await _tags(s, collection, ident) != wanted:
            await s.execute(
                delete(m.Tag).where(m.Tag.resource_type == collection, m.Tag.resource_id == ident)
            )
            s.add_all(m.Tag(resource_type=collection, resource_id=ident, tag=t) for t in wanted)
            revisions.bump(row)
        return wanted

    return await svc.tx(_replace)


async def add_tag(
    svc: NetworkService, ctx: RequestContext, collection: str, ident: str, tag: str
) -> None:
    """Add one tag (adding one it has changes nothing)."""

    async def _add(s: AsyncSession) -> None:
        row = await _resource(s, ctx, collection, ident, write=True)
        if await s.get(m.Tag, (collection, ident, tag)) is None:
            s.add(m.Tag(resource_type=collection, resource_id=ident, tag=tag))
            revisions.bump(row)

    await svc.tx(_add)


async def remove_tag(
    svc: NetworkService, ctx: RequestContext, collection: str, ident: str, tag: str | None
) -> None:
    """Remove one tag (TagNotFound when absent), or every tag when `tag` is None."""

    async def _remove(s: AsyncSession) -> None:
        row = await _resource(s, ctx, collection, ident, write=True)
        where = [m.Tag.resource_type == collection, m.Tag.resource_id == ident]
        if tag is not None:
            if await s.get(m.Tag, (collection, ident, tag)) is None:
                raise faults.TagNotFound(tag, collection[:-1], ident)
            where.append(m.Tag.tag == tag)
        result = await s.execute(delete(m.Tag).where(*where))
        if result.rowcount:  # type: ignore[attr-defined]
            revisions.bump(row)

    await svc.tx(_remove)


async def forget(s: AsyncSession, collection: str, ids: list[str]) -> None:
    """Drop the tags of deleted resources (tags have no foreign key to cascade on)."""
    if ids:
        await s.execute(
            delete(m.Tag).where(m.Tag.resource_type == collection, m.Tag.resource_id.in_(ids))
        )
