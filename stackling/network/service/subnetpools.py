"""Subnet pools: prefixes subnets are carved from, including each IP family's default pool."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.network import faults, policy
from stackling.network import models as m
from stackling.network.service import addressing, listing, quota, revisions, scope, tags
from stackling.network.service.core import NetworkService

OPTIONS = (selectinload(m.SubnetPool.prefixes), selectinload(m.SubnetPool.tags))
# Per family: the longest prefix, the default shortest one, and the unit quotas count in.
_FAMILY = {4: (32, 8, 32), 6: (128, 64, 64)}

_UPDATABLE = {
    "name": "name",
    "description": "description",
    "default_prefixlen": "default_prefixlen",
    "min_prefixlen": "min_prefixlen",
    "max_prefixlen": "max_prefixlen",
    "is_default": "is_default",
    "default_quota": "default_quota",
}

LISTING = listing.Listing(
    model=m.SubnetPool,
    columns={
        "id": m.SubnetPool.id,
        "name": m.SubnetPool.name,
        **listing.owned_columns(m.SubnetPool),
        "ip_version": m.SubnetPool.ip_version,
        "default_prefixlen": m.SubnetPool.default_prefixlen,
        "min_prefixlen": m.SubnetPool.min_prefixlen,
        "max_prefixlen": m.SubnetPool.max_prefixlen,
        "shared": m.SubnetPool.shared,
        "is_default": m.SubnetPool.is_default,
        "default_quota": m.SubnetPool.default_quota,
        "address_scope_id": m.SubnetPool.address_scope_id,
    },
    options=OPTIONS,
    not_found=faults.SubnetPoolNotFound,
)


def _compact(prefixes: list[str]) -> tuple[int, list[addressing.IPNetwork]]:
    """The pool's family and its prefixes merged (overlapping or adjacent ones join)."""
    if not prefixes:
        raise faults.EmptySubnetPoolPrefixList()
    nets = []
    for text in prefixes:
        try:
            nets.append(addressing.network(text))
        except ValueError:
            raise faults.InvalidCIDR(text) from None
    versions = {net.version for net in nets}
    if len(versions) > 1:
        raise faults.PrefixVersionMismatch()
    return versions.pop(), list(ipaddress.collapse_addresses(nets))  # type: ignore[type-var]


def _bounds(version: int, minimum: int, maximum: int, default: int) -> None:
    top = _FAMILY[version][0]
    if not 0 <= minimum <= maximum:
        raise faults.IllegalSubnetPoolPrefixBounds(
            "min_prefixlen", minimum, "max_prefixlen", maximum
        )
    if maximum > top:
        raise faults.IllegalSubnetPoolPrefixBounds("max_prefixlen", maximum, "max_prefixlen", top)
    if not minimum <= default <= maximum:
        raise faults.IllegalSubnetPoolPrefixBounds(
            "default_prefixlen", default, "min_prefixlen", minimum
        )


async def _reload(s: AsyncSession, pool_id: str) -> m.SubnetPool:
    query = select(m.SubnetPool).where(m.SubnetPool.id == pool_id).options(*OPTIONS)
    return (await s.execute(query.execution_options(populate_existing=True))).scalar_one()


async def _check_single_default(s: AsyncSession, version: int, pool_id: str) -> None:
    other = await s.scalar(
        select(m.SubnetPool.id).where(
            m.SubnetPool.is_default.is_(True),
            m.SubnetPool.ip_version == version,
            m.SubnetPool.id != pool_id,
        )
    )
    if other is not None:
        raise faults.InvalidInput(
            "A default subnetpool for this IP family has already been set. Only one default "
            "may exist per IP family"
        )


async def list_subnetpools(
    svc: NetworkService, ctx: RequestContext, query: listing.ListQuery
) -> list[m.SubnetPool]:
    """The subnet pools the caller may see (its own and shared ones)."""
    async with svc.db.session() as s:
        return await listing.fetch(s, ctx, LISTING, query)


async def show_subnetpool(svc: NetworkService, ctx: RequestContext, pool_id: str) -> m.SubnetPool:
    """One subnet pool the caller may see."""
    async with svc.db.session() as s:
        return await scope.load(
            s, ctx, m.SubnetPool, pool_id, faults.SubnetPoolNotFound, options=OPTIONS
        )


async def create_subnetpool(
    svc: NetworkService, ctx: RequestContext, body: dict[str, Any]
) -> m.SubnetPool:
    """A new subnet pool."""
    project_id = body["project_id"]
    policy.enforce(ctx, "create_subnetpool", {"project_id": project_id})
    version, prefixes = _compact(body["prefixes"])
    top, low, _ = _FAMILY[version]
    minimum = body.get("min_prefixlen", low)
    maximum = body.get("max_prefixlen", top)
    default = body.get("default_prefixlen", minimum)
    _bounds(version, minimum, maximum, default)

    async def _create(s: AsyncSession) -> m.SubnetPool:
        await quota.reserve(s, svc.conf, project_id, {"subnetpool": 1})
        pool = m.SubnetPool(
            id=new_uuid(),
            project_id=project_id,
            name=body.get("name", ""),
            description=body.get("description", ""),
            ip_version=version,
            min_prefixlen=minimum,
            max_prefixlen=maximum,
            default_prefixlen=default,
            shared=body.get("shared", False),
            is_default=body.get("is_default", False),
            default_quota=body.get("default_quota"),
        )
        if pool.is_default:
            await _check_single_default(s, version, pool.id)
        s.add(pool)
        await s.flush()
        s.add_all(m.SubnetPoolPrefix(subnetpool_id=pool.id, cidr=str(p)) for p in prefixes)
        return await _reload(s, pool.id)

    return await svc.tx(_create)


async def update_subnetpool(
    svc: NetworkService,
    ctx: RequestContext,
    pool_id: str,
    body: dict[str, Any],
    revision: int | None = None,
) -> m.SubnetPool:
    """Change a pool; its prefixes may grow but never lose addresses."""

    async def _update(s: AsyncSession) -> m.SubnetPool:
        pool = await scope.load(
            s, ctx, m.SubnetPool, pool_id, faults.SubnetPoolNotFound,
            options=OPTIONS, for_update=True,
        )  # fmt: skip
        policy.enforce(ctx, "update_subnetpool", {"project_id": pool.project_id})
        revisions.check(pool, revision)
        changed = False
        if "prefixes" in body:
            version, new = _compact(body["prefixes"])
            old = [addressing.network(p.cidr) for p in pool.prefixes]
            if version != pool.ip_version:
                raise faults.PrefixVersionMismatch()
            if any(not any(o.subnet_of(n) for n in new) for o in old):  # type: ignore[arg-type]
                raise faults.IllegalSubnetPoolPrefixUpdate(
                    "Existing prefixes must be a subset of the new prefixes"
                )
            if [str(n) for n in new] != [p.cidr for p in pool.prefixes]:
                await s.execute(
                    delete(m.SubnetPoolPrefix).where(m.SubnetPoolPrefix.subnetpool_id == pool.id)
                )
                s.add_all(m.SubnetPoolPrefix(subnetpool_id=pool.id, cidr=str(n)) for n in new)
                changed = True
        _bounds(
            pool.ip_version,
            body.get("min_prefixlen", pool.min_prefixlen),
            body.get("max_prefixlen", pool.max_prefixlen),
            body.get("default_prefixlen", pool.default_prefixlen),
        )
        if body.get("is_default"):
            await _check_single_default(s, pool.ip_version, pool.id)
        if revisions.apply(pool, body, _UPDATABLE) or changed:
            revisions.bump(pool)
        await s.flush()
        return await _reload(s, pool.id)

    return await svc.tx(_update)


async def delete_subnetpool(
    svc: NetworkService, ctx: RequestContext, pool_id: str, revision: int | None = None
) -> None:
    """Delete a pool no subnet was allocated from."""

    async def _delete(s: AsyncSession) -> None:
        pool = await scope.load(
            s, ctx, m.SubnetPool, pool_id, faults.SubnetPoolNotFound, for_update=True
        )
        policy.enforce(ctx, "delete_subnetpool", {"project_id": pool.project_id})
        revisions.check(pool, revision)
        used = await s.scalar(select(m.Subnet.id).where(m.Subnet.subnetpool_id == pool.id).limit(1))
        if used is not None:
            raise faults.SubnetPoolDeleteError("Subnet pool has existing allocations")
        await tags.forget(s, "subnetpools", [pool.id])
        await s.execute(delete(m.SubnetPool).where(m.SubnetPool.id == pool.id))

    await svc.tx(_delete)


async def default_pool(s: AsyncSession, ctx: RequestContext, version: int) -> m.SubnetPool:
    """The caller-visible default pool of an IP family; 400 when there is none."""
    pool = await s.scalar(
        scope.select_visible(ctx, m.SubnetPool).where(
            m.SubnetPool.is_default.is_(True), m.SubnetPool.ip_version == version
        )
    )
    if pool is None:
        raise faults.BadRequest("subnets", f"No default subnetpool found for IPv{version}")
    return pool


async def allocate(
    s: AsyncSession,
    pool: m.SubnetPool,
    project_id: str,
    *,
    cidr: str | None,
    prefixlen: int | None,
) -> str:
    """A prefix of the pool for a new subnet: the asked one, or the first free of that size.

    The caller holds the pool's row lock, so two subnets cannot take the same prefix.
    """
    prefixes = [addressing.network(p.cidr) for p in pool.prefixes]
    wanted = addressing.network(cidr) if cidr is not None else None
    length = wanted.prefixlen if wanted is not None else (prefixlen or pool.default_prefixlen)
    if length < pool.min_prefixlen:
        raise faults.MinPrefixSubnetAllocationError(length, pool.min_prefixlen)
    if length > pool.max_prefixlen:
        raise faults.MaxPrefixSubnetAllocationError(length, pool.max_prefixlen)
    rows = await s.execute(
        select(m.Subnet.cidr, m.Subnet.project_id).where(m.Subnet.subnetpool_id == pool.id)
    )
    taken = []
    held = 0
    unit = _FAMILY[pool.ip_version][2]
    for text, owner in rows:
        net = addressing.network(text)
        taken.append(net)
        if owner == project_id:
            held += 2 ** (unit - net.prefixlen) if net.prefixlen <= unit else 1
    if pool.default_quota is not None:
        asked = 2 ** (unit - length) if length <= unit else 1
        if held + asked > pool.default_quota:
            raise faults.SubnetPoolQuotaExceeded()
    if wanted is not None:
        inside = any(wanted.subnet_of(p) for p in prefixes)  # type: ignore[arg-type]
        if not inside or any(wanted.overlaps(t) for t in taken):  # type: ignore[arg-type]
            raise faults.SubnetAllocationError(
                "Cannot allocate requested subnet from the available set of prefixes"
            )
        return str(wanted)
    for prefix in prefixes:
        if prefix.prefixlen > length:
            continue
        for candidate in prefix.subnets(new_prefix=length):
            if not any(candidate.overlaps(t) for t in taken):  # type: ignore[arg-type]
                return str(candidate)
    raise faults.SubnetAllocationError(
        f"Insufficient prefix space to allocate subnet size /{length}"
    )
