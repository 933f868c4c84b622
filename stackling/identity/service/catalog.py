"""Regions, services and endpoints; every change refreshes the in-memory catalog."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.ids import new_id
from stackling.identity import models as m
from stackling.identity.service import filters
from stackling.identity.service.core import Identity, fetch

T = TypeVar("T")
INTERFACES = ("public", "internal", "admin")


async def _catalog_tx(
    idn: Identity, fn: Callable[[AsyncSession], Awaitable[T]], conflict: str = ""
) -> T:
    result = await idn.tx(fn, conflict=conflict)
    await idn.reload_catalog()
    return result


# -- regions -------------------------------------------------------------------


async def fetch_region(s: AsyncSession, region_id: str) -> m.Region:
    """A region by id, or 404."""
    return await fetch(s, m.Region, region_id, "region")


async def get_region(idn: Identity, region_id: str) -> m.Region:
    """One region."""
    async with idn.db.session() as s:
        return await fetch_region(s, region_id)


async def list_regions(idn: Identity, query: Mapping[str, str]) -> list[m.Region]:
    """Regions, optionally children of one parent."""
    stmt = filters.apply(select(m.Region), query, {"parent_region_id": m.Region.parent_region_id})
    async with idn.db.session() as s:
        return list((await s.scalars(stmt.order_by(m.Region.id))).all())


async def _check_parent(s: AsyncSession, region_id: str | None, parent_id: str | None) -> None:
    if parent_id is None:
        return
    current: str | None = parent_id
    seen = set()
    while current is not None:
        if current == region_id or current in seen:
            raise errors.BadRequest("The parent region would create a loop.")
        seen.add(current)
        parent = await s.get(m.Region, current)
        if parent is None:
            raise errors.BadRequest(f"Could not find parent region: {current}.")
        current = parent.parent_region_id


async def create_region(
    idn: Identity, body: dict[str, Any], region_id: str | None = None
) -> m.Region:
    """Create a region (with a chosen id via PUT /regions/{id})."""
    rid = region_id or body.get("id") or new_id()
    extra = {
        k: v for k, v in body.items() if k not in {"id", "description", "parent_region_id", "links"}
    }

    async def _do(s: AsyncSession) -> m.Region:
        if await s.get(m.Region, rid) is not None:
            raise errors.Conflict(f"Duplicate ID, {rid}.")
        await _check_parent(s, rid, body.get("parent_region_id"))
        row = m.Region(
            id=rid,
            description=body.get("description") or "",
            parent_region_id=body.get("parent_region_id"),
            extra=extra,
        )
        s.add(row)
        await s.flush()
        return row

    return await _catalog_tx(idn, _do, conflict=f"Duplicate ID, {rid}.")


async def update_region(idn: Identity, region_id: str, body: dict[str, Any]) -> m.Region:
    """Change description, parent, extra."""

    async def _do(s: AsyncSession) -> m.Region:
        row = await fetch_region(s, region_id)
        if "parent_region_id" in body:
            await _check_parent(s, region_id, body["parent_region_id"])
            row.parent_region_id = body["parent_region_id"]
        if "description" in body:
            row.description = body["description"] or ""
        extra = {
            k: v
            for k, v in body.items()
            if k not in {"id", "description", "parent_region_id", "links"}
        }
        if extra:
            row.extra = {**row.extra, **extra}
        return row

    return await _catalog_tx(idn, _do)


async def delete_region(idn: Identity, region_id: str) -> None:
    """Delete a region without children."""

    async def _do(s: AsyncSession) -> None:
        row = await fetch_region(s, region_id)
        child = await s.scalar(select(m.Region.id).where(m.Region.parent_region_id == region_id))
        if child:
            raise errors.Forbidden(f"Region {region_id} has child regions and cannot be deleted.")
        await s.delete(row)

    await _catalog_tx(idn, _do)


# -- services --------------------------------------------------------------------

_SERVICE_CORE = {"id", "type", "enabled", "links"}


async def fetch_service(s: AsyncSession, service_id: str) -> m.Service:
    """A service by id, or 404."""
    return await fetch(s, m.Service, service_id, "service")


async def get_service(idn: Identity, service_id: str) -> m.Service:
    """One service."""
    async with idn.db.session() as s:
        return await fetch_service(s, service_id)


async def list_services(idn: Identity, query: Mapping[str, str]) -> list[m.Service]:
    """Services, filtered by type and name."""
    stmt = filters.apply(
        select(m.Service), query, {"type": m.Service.type, "enabled": m.Service.enabled}
    )
    async with idn.db.session() as s:
        rows = list((await s.scalars(stmt)).all())
    if "name" in query:
        rows = [r for r in rows if r.extra.get("name") == query["name"]]
    return rows


async def create_service(idn: Identity, body: dict[str, Any]) -> m.Service:
    """Register a service; name and description live with the other free-form fields."""

    async def _do(s: AsyncSession) -> m.Service:
        row = m.Service(
            id=new_id(),
            type=body["type"],
            enabled=body.get("enabled", True),
            extra={k: v for k, v in body.items() if k not in _SERVICE_CORE},
        )
        s.add(row)
        await s.flush()
        return row

    return await _catalog_tx(idn, _do)


async def update_service(idn: Identity, service_id: str, body: dict[str, Any]) -> m.Service:
    """Change type, enabled, name, description..."""

    async def _do(s: AsyncSession) -> m.Service:
        row = await fetch_service(s, service_id)
        if "type" in body:
            row.type = body["type"]
        if "enabled" in body:
            row.enabled = body["enabled"]
        extra = {k: v for k, v in body.items() if k not in _SERVICE_CORE}
        if extra:
            row.extra = {**row.extra, **extra}
        return row

    return await _catalog_tx(idn, _do)


async def delete_service(idn: Identity, service_id: str) -> None:
    """Delete a service and its endpoints."""

    async def _do(s: AsyncSession) -> None:
        row = await fetch_service(s, service_id)
        for ep in (
            await s.scalars(select(m.Endpoint).where(m.Endpoint.service_id == service_id))
        ).all():
            await s.delete(ep)
        await s.delete(row)

    await _catalog_tx(idn, _do)


# -- endpoints -------------------------------------------------------------------

_ENDPOINT_CORE = {"id", "service_id", "interface", "url", "region_id", "region", "enabled", "links"}


async def fetch_endpoint(s: AsyncSession, endpoint_id: str) -> m.Endpoint:
    """An endpoint by id, or 404."""
    return await fetch(s, m.Endpoint, endpoint_id, "endpoint")


async def get_endpoint(idn: Identity, endpoint_id: str) -> m.Endpoint:
    """One endpoint."""
    async with idn.db.session() as s:
        return await fetch_endpoint(s, endpoint_id)


async def list_endpoints(idn: Identity, query: Mapping[str, str]) -> list[m.Endpoint]:
    """Endpoints filtered by service, interface and region."""
    q = dict(query)
    if "region" in q and "region_id" not in q:
        q["region_id"] = q.pop("region")
    stmt = filters.apply(
        select(m.Endpoint),
        q,
        {
            "service_id": m.Endpoint.service_id,
            "interface": m.Endpoint.interface,
            "region_id": m.Endpoint.region_id,
            "enabled": m.Endpoint.enabled,
        },
    )
    async with idn.db.session() as s:
        return list((await s.scalars(stmt)).all())


def _interface(value: Any) -> str:
    if value not in INTERFACES:
        raise errors.BadRequest(
            f"Invalid interface {value!r}: must be one of {', '.join(INTERFACES)}."
        )
    return str(value)


async def create_endpoint(idn: Identity, body: dict[str, Any]) -> m.Endpoint:
    """Add an endpoint to a service; an unknown region is created as Keystone does."""

    async def _do(s: AsyncSession) -> m.Endpoint:
        await _bad_if_missing_service(s, body["service_id"])
        region_id = await _endpoint_region(s, body)
        row = m.Endpoint(
            id=new_id(),
            service_id=body["service_id"],
            interface=_interface(body["interface"]),
            url=body["url"],
            region_id=region_id,
            enabled=body.get("enabled", True),
            extra={k: v for k, v in body.items() if k not in _ENDPOINT_CORE},
        )
        s.add(row)
        await s.flush()
        return row

    return await _catalog_tx(idn, _do)


async def _endpoint_region(s: AsyncSession, body: dict[str, Any]) -> str | None:
    """The region an endpoint body names: region_id must exist (400), while the legacy
    `region` attribute creates a missing region, as Keystone does for old clients."""
    region_id = body.get("region_id")
    if region_id:
        if await s.get(m.Region, region_id) is None:
            raise errors.BadRequest(f"Could not find region: {region_id}.")
        return str(region_id)
    legacy = body.get("region")
    if legacy and await s.get(m.Region, legacy) is None:
        s.add(m.Region(id=legacy, description="", extra={}))
        await s.flush()
    return legacy


async def _bad_if_missing_service(s: AsyncSession, service_id: str) -> None:
    if await s.get(m.Service, service_id) is None:
        raise errors.BadRequest(f"Could not find service: {service_id}.")


async def update_endpoint(idn: Identity, endpoint_id: str, body: dict[str, Any]) -> m.Endpoint:
    """Change an endpoint."""

    async def _do(s: AsyncSession) -> m.Endpoint:
        row = await fetch_endpoint(s, endpoint_id)
        if "service_id" in body:
            await _bad_if_missing_service(s, body["service_id"])
            row.service_id = body["service_id"]
        if "interface" in body:
            row.interface = _interface(body["interface"])
        if "url" in body:
            row.url = body["url"]
        if "region_id" in body or "region" in body:
            row.region_id = await _endpoint_region(s, body)
        if "enabled" in body:
            row.enabled = body["enabled"]
        extra = {k: v for k, v in body.items() if k not in _ENDPOINT_CORE}
        if extra:
            row.extra = {**row.extra, **extra}
        return row

    return await _catalog_tx(idn, _do)


async def delete_endpoint(idn: Identity, endpoint_id: str) -> None:
    """Delete an endpoint."""

    async def _do(s: AsyncSession) -> None:
        await s.delete(await fetch_endpoint(s, endpoint_id))

    await _catalog_tx(idn, _do)
