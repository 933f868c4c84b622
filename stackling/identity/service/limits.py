"""Unified limits: registered (default) limits per service resource, and project/domain limits.

One table holds both: a registered limit has neither project nor domain, a
limit has one of them and must match a registered limit (service, region,
resource name), as Keystone's flat enforcement model requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.ids import new_id
from stackling.identity import models as m
from stackling.identity.service import filters
from stackling.identity.service.core import Identity

MODEL = {
    "name": "flat",
    "description": (
        "Limit enforcement and validation does not take project hierarchy into consideration."
    ),
}


def _registered() -> Select[tuple[m.Limit]]:
    return select(m.Limit).where(m.Limit.project_id.is_(None), m.Limit.domain_id.is_(None))


def _project_limits() -> Select[tuple[m.Limit]]:
    return select(m.Limit).where(
        (m.Limit.project_id.is_not(None)) | (m.Limit.domain_id.is_not(None))
    )


def _same_resource(
    stmt: Select[tuple[m.Limit]], row: m.Limit | Mapping[str, Any]
) -> Select[tuple[m.Limit]]:
    """Narrow `stmt` to limits on the same service, region and resource as `row`."""
    fields = row if isinstance(row, Mapping) else vars(row)
    region = fields.get("region_id")
    return stmt.where(
        m.Limit.service_id == fields.get("service_id"),
        m.Limit.resource_name == fields.get("resource_name"),
        m.Limit.region_id.is_(None) if region is None else m.Limit.region_id == region,
    )


async def _check_refs(s: AsyncSession, item: dict[str, Any], what: str) -> None:
    """400 for a service, region, project or domain that does not exist, as Keystone."""
    if "service_id" in item and await s.get(m.Service, item["service_id"]) is None:
        raise errors.BadRequest(f"Invalid service_id for {what}: {item['service_id']}.")
    if item.get("region_id") and await s.get(m.Region, item["region_id"]) is None:
        raise errors.BadRequest(f"Invalid region_id for {what}: {item['region_id']}.")
    if item.get("project_id"):
        project = await s.get(m.Project, item["project_id"])
        if project is None:
            raise errors.BadRequest(f"Invalid project_id for {what}: {item['project_id']}.")
        if project.is_domain:
            # A limit on a project acting as a domain is a domain limit.
            item["domain_id"] = item.pop("project_id")
    if item.get("domain_id"):
        domain = await s.get(m.Project, item["domain_id"])
        if domain is None or not domain.is_domain:
            raise errors.BadRequest(f"Invalid domain_id for {what}: {item['domain_id']}.")


# -- registered limits ------------------------------------------------------------------------


async def _fetch_registered(s: AsyncSession, limit_id: str) -> m.Limit:
    row = await s.get(m.Limit, limit_id)
    if row is None or row.project_id is not None or row.domain_id is not None:
        raise errors.NotFound(f"Could not find registered limit for {limit_id}.")
    return row


async def list_registered_limits(idn: Identity, query: Mapping[str, str]) -> list[m.Limit]:
    """Registered limits, filtered by service, region and resource name."""
    stmt = filters.apply(
        _registered(),
        query,
        {
            "service_id": m.Limit.service_id,
            "region_id": m.Limit.region_id,
            "resource_name": m.Limit.resource_name,
        },
    )
    async with idn.db.session() as s:
        return list((await s.scalars(stmt.order_by(m.Limit.id))).all())


async def _add_limit(s: AsyncSession, item: dict[str, Any], value: int) -> m.Limit:
    """Insert a registered limit (no project or domain in item) or a project/domain limit."""
    row = m.Limit(
        id=new_id(),
        service_id=item["service_id"],
        region_id=item.get("region_id"),
        resource_name=item["resource_name"],
        project_id=item.get("project_id"),
        domain_id=item.get("domain_id"),
        limit=value,
        description=item.get("description"),
    )
    s.add(row)
    await s.flush()
    return row


async def get_registered_limit(idn: Identity, limit_id: str) -> m.Limit:
    """One registered limit."""
    async with idn.db.session() as s:
        return await _fetch_registered(s, limit_id)


async def create_registered_limits(idn: Identity, items: list[dict[str, Any]]) -> list[m.Limit]:
    """Register default limits, all or none; a duplicate resource is 409."""

    async def _do(s: AsyncSession) -> list[m.Limit]:
        rows = []
        for raw in items:
            item = dict(raw)
            await _check_refs(s, item, "registered_limit")
            if await s.scalar(_same_resource(_registered(), item)) is not None:
                raise errors.Conflict(
                    f"Duplicate entry for registered limit: service {item['service_id']}, "
                    f"region {item.get('region_id')}, resource {item['resource_name']}."
                )
            rows.append(await _add_limit(s, item, item["default_limit"]))
        return rows

    return await idn.tx(_do)


async def update_registered_limit(idn: Identity, limit_id: str, body: dict[str, Any]) -> m.Limit:
    """Change a registered limit; what it limits is fixed once limits refer to it."""

    async def _do(s: AsyncSession) -> m.Limit:
        row = await _fetch_registered(s, limit_id)
        item = dict(body)
        await _check_refs(s, item, "registered_limit")
        moves = any(
            k in item and item[k] != getattr(row, k)
            for k in ("service_id", "region_id", "resource_name")
        )
        if moves:
            if await s.scalar(_same_resource(_project_limits(), row)) is not None:
                raise errors.Forbidden(
                    f"Registered limit {limit_id} is referenced by limits and cannot change "
                    "its service, region or resource."
                )
            target = {
                k: item.get(k, getattr(row, k))
                for k in ("service_id", "region_id", "resource_name")
            }
            other = await s.scalar(_same_resource(_registered(), target))
            if other is not None and other.id != row.id:
                raise errors.Conflict("Duplicate entry for registered limit.")
            for key, value in target.items():
                setattr(row, key, value)
        if "default_limit" in item:
            row.limit = item["default_limit"]
        if "description" in item:
            row.description = item["description"]
        return row

    return await idn.tx(_do)


async def delete_registered_limit(idn: Identity, limit_id: str) -> None:
    """Delete a registered limit no limit refers to (403 otherwise)."""

    async def _do(s: AsyncSession) -> None:
        row = await _fetch_registered(s, limit_id)
        if await s.scalar(_same_resource(_project_limits(), row)) is not None:
            raise errors.Forbidden(
                f"Registered limit {limit_id} is referenced by limits; delete them first."
            )
        await s.delete(row)

    await idn.tx(_do)


# -- project and domain limits ------------------------------------------------------------------


async def _fetch_limit(s: AsyncSession, limit_id: str) -> m.Limit:
    row = await s.get(m.Limit, limit_id)
    if row is None or (row.project_id is None and row.domain_id is None):
        raise errors.NotFound(f"Could not find limit for {limit_id}.")
    return row


async def list_limits(
    idn: Identity,
    query: Mapping[str, str],
    *,
    project_id: str | None = None,
    domain_id: str | None = None,
) -> list[m.Limit]:
    """Limits by service, region, resource, project, domain; or only one project's/domain's."""
    stmt = filters.apply(
        _project_limits(),
        query,
        {
            "service_id": m.Limit.service_id,
            "region_id": m.Limit.region_id,
            "resource_name": m.Limit.resource_name,
            "project_id": m.Limit.project_id,
            "domain_id": m.Limit.domain_id,
        },
    )
    if domain_id is not None:
        in_domain = select(m.Project.id).where(m.Project.domain_id == domain_id)
        stmt = stmt.where((m.Limit.domain_id == domain_id) | m.Limit.project_id.in_(in_domain))
    elif project_id is not None:
        stmt = stmt.where(m.Limit.project_id == project_id)
    async with idn.db.session() as s:
        return list((await s.scalars(stmt.order_by(m.Limit.id))).all())


async def get_limit(idn: Identity, limit_id: str) -> tuple[m.Limit, str | None]:
    """One limit, and the domain of its project (for the reader check)."""
    async with idn.db.session() as s:
        row = await _fetch_limit(s, limit_id)
        project = await s.get(m.Project, row.project_id) if row.project_id else None
    return row, project.domain_id if project is not None else row.domain_id


async def create_limits(idn: Identity, items: list[dict[str, Any]]) -> list[m.Limit]:
    """Set project or domain limits, all or none; each needs a registered limit to override."""

    async def _do(s: AsyncSession) -> list[m.Limit]:
        rows = []
        for raw in items:
            item = dict(raw)
            await _check_refs(s, item, "limit")
            if await s.scalar(_same_resource(_registered(), item)) is None:
                raise errors.Forbidden(
                    "The limit has no registered limit to override: register one for service "
                    f"{item['service_id']}, region {item.get('region_id')}, resource "
                    f"{item['resource_name']} first."
                )
            owner = (
                m.Limit.project_id == item["project_id"]
                if item.get("project_id")
                else m.Limit.domain_id == item["domain_id"]
            )
            if await s.scalar(_same_resource(_project_limits(), item).where(owner)) is not None:
                raise errors.Conflict(
                    f"Duplicate entry for limit: resource {item['resource_name']} of "
                    f"{item.get('project_id') or item.get('domain_id')}."
                )
            rows.append(await _add_limit(s, item, item["resource_limit"]))
        return rows

    return await idn.tx(_do)


async def update_limit(idn: Identity, limit_id: str, body: dict[str, Any]) -> m.Limit:
    """Change a limit's value or description."""

    async def _do(s: AsyncSession) -> m.Limit:
        row = await _fetch_limit(s, limit_id)
        if "resource_limit" in body:
            row.limit = body["resource_limit"]
        if "description" in body:
            row.description = body["description"]
        return row

    return await idn.tx(_do)


async def delete_limit(idn: Identity, limit_id: str) -> None:
    """Delete a limit."""

    async def _do(s: AsyncSession) -> None:
        await s.delete(await _fetch_limit(s, limit_id))

    await idn.tx(_do)
