"""Lookups several parts of the compute service share: flavors as a boot sees them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute import models as m


def flavor_access_clause(ctx: RequestContext) -> Any:
    """SQL condition: a flavor the caller may use (public, or private and shared with it)."""
    if ctx.is_admin:
        return m.Flavor.id.is_not(None)
    shared = exists().where(
        m.FlavorProject.flavor_id == m.Flavor.id, m.FlavorProject.project_id == ctx.project_id
    )
    return or_(m.Flavor.is_public.is_(True), shared)


async def find_flavor(s: AsyncSession, ctx: RequestContext, flavor_ref: str) -> m.Flavor | None:
    """The flavor with this id (or a trailing-id link to it) the caller may use, else None."""
    flavor_id = str(flavor_ref).rstrip("/").rsplit("/", 1)[-1]
    return await s.scalar(
        select(m.Flavor).where(m.Flavor.flavorid == flavor_id, flavor_access_clause(ctx))
    )


async def extra_specs(s: AsyncSession, flavor: m.Flavor) -> dict[str, str]:
    """A flavor's extra specs."""
    rows = await s.scalars(
        select(m.FlavorExtraSpec).where(m.FlavorExtraSpec.flavor_id == flavor.id)
    )
    return {row.key: row.value for row in rows}


async def flavor_snapshot(s: AsyncSession, flavor: m.Flavor) -> dict[str, Any]:
    """The copy of a flavor a server keeps (the 2.47+ server body shows it)."""
    return {
        "id": flavor.flavorid,
        "name": flavor.name,
        "vcpus": flavor.vcpus,
        "ram": flavor.memory_mb,
        "disk": flavor.root_gb,
        "ephemeral": flavor.ephemeral_gb,
        "swap": flavor.swap,
        "description": flavor.description,
        "extra_specs": await extra_specs(s, flavor),
    }


async def flavor_for_boot(s: AsyncSession, ctx: RequestContext, flavor_ref: Any) -> m.Flavor:
    """The flavor a server create or resize names; 400 when it is unknown or not allowed."""
    if not isinstance(flavor_ref, str | int) or isinstance(flavor_ref, bool):
        raise errors.BadRequest("Invalid flavorRef provided.")
    flavor = await find_flavor(s, ctx, str(flavor_ref))
    if flavor is None:
        raise errors.BadRequest(f"Flavor {flavor_ref} could not be found.")
    if flavor.disabled:
        raise errors.BadRequest(f"Flavor {flavor_ref} is disabled.")
    return flavor


def select_flavor_by_id(flavor_id: str) -> Any:
    """SELECT of the flavor with this API id (whoever may use it)."""
    return select(m.Flavor).where(m.Flavor.flavorid == flavor_id)
