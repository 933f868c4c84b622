"""os-migrations and /servers/{id}/migrations: resizes and moves, from the Migration table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute import models as m
from stackling.compute.service import access, checks
from stackling.compute.service.core import ComputeService

_POLICY = "os_compute_api:os-migrations:index"
LIVE = "live-migration"
# Statuses of a live migration that can still be watched, aborted or forced.
LIVE_IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")


@dataclass(slots=True)
class MigrationQuery:
    """Filters and paging of GET /os-migrations (paging and time filters from 2.59)."""

    host: str | None = None
    source_compute: str | None = None
    status: str | None = None
    instance_uuid: str | None = None
    migration_type: str | None = None
    user_id: str | None = None
    project_id: str | None = None
    changes_since: dt.datetime | None = None
    changes_before: dt.datetime | None = None
    paged: bool = False
    limit: int | None = None
    marker: str | None = None


@dataclass(slots=True)
class MigrationRecord:
    """A migration with what its view needs: flavor row ids and the destination's address."""

    migration: m.Migration
    old_instance_type_id: int | None
    new_instance_type_id: int | None
    dest_host: str | None


def _conditions(q: MigrationQuery) -> list[ColumnElement[bool]]:
    row = m.Migration
    out: list[ColumnElement[bool]] = []
    if q.host is not None:
        out.append(or_(row.source_compute == q.host, row.dest_compute == q.host))
    elif q.source_compute is not None:
        out.append(row.source_compute == q.source_compute)
    for column, value in (
        (row.status, q.status),
        (row.instance_uuid, q.instance_uuid),
        (row.migration_type, q.migration_type),
        (row.user_id, q.user_id),
        (row.project_id, q.project_id),
    ):
        if value is not None:
            out.append(column == value)
    if q.changes_since is not None:
        out.append(row.updated_at >= q.changes_since)
    if q.changes_before is not None:
        out.append(row.updated_at <= q.changes_before)
    return out


async def _records(s: AsyncSession, rows: list[m.Migration]) -> list[MigrationRecord]:
    """Flavor ids by flavorid (None once the flavor is gone) and node addresses, in 2 queries."""
    flavor_ids = {f for r in rows for f in (r.old_flavor_id, r.new_flavor_id) if f is not None}
    flavors: dict[str, int] = {}
    if flavor_ids:
        found = await s.execute(
            select(m.Flavor.flavorid, m.Flavor.id).where(m.Flavor.flavorid.in_(flavor_ids))
        )
        flavors = {flavorid: number for flavorid, number in found}
    hosts = {r.dest_compute for r in rows if r.dest_compute is not None}
    addresses: dict[str, str] = {}
    if hosts:
        found = await s.execute(
            select(m.ComputeNode.host, m.ComputeNode.host_ip).where(m.ComputeNode.host.in_(hosts))
        )
        addresses = {host: ip for host, ip in found}
    return [
        MigrationRecord(
            r,
            flavors.get(r.old_flavor_id or ""),
            flavors.get(r.new_flavor_id or ""),
            addresses.get(r.dest_compute or ""),
        )
        for r in rows
    ]


async def list_migrations(
    svc: ComputeService, ctx: RequestContext, q: MigrationQuery
) -> list[MigrationRecord]:
    """GET /os-migrations (admin): by id before 2.59, newest first with marker paging from it."""
    access.require_admin(ctx, _POLICY)
    if q.changes_since and q.changes_before and q.changes_before < q.changes_since:
        raise errors.BadRequest(
            "The value of changes-since must be less than or equal to changes-before."
        )
    query = select(m.Migration).where(*_conditions(q))
    async with svc.db.session() as s:
        if not q.paged:
            rows = (await s.scalars(query.order_by(m.Migration.id))).all()
            return await _records(s, list(rows))
        if q.marker is not None:
            marker = await s.scalar(select(m.Migration).where(m.Migration.uuid == q.marker))
            if marker is None:
                raise errors.BadRequest(f"Marker {q.marker} could not be found.")
            query = query.where(
                or_(
                    m.Migration.created_at < marker.created_at,
                    and_(m.Migration.created_at == marker.created_at, m.Migration.id < marker.id),
                )
            )
        size = svc.conf.api_max_limit if not q.limit else min(q.limit, svc.conf.api_max_limit)
        query = query.order_by(m.Migration.created_at.desc(), m.Migration.id.desc()).limit(size)
        return await _records(s, list((await s.scalars(query)).all()))


async def live_migrations(
    svc: ComputeService, ctx: RequestContext, server_id: str, migration_id: str | None = None
) -> list[m.Migration]:
    """GET /servers/{id}/migrations[/{mid}] (admin, 2.23): the server's live migrations in flight.

    This cloud does not live-migrate, so the list is empty in practice; it is
    read from the table all the same, so it stays right if that changes.
    """
    access.require_admin(ctx, "os_compute_api:servers:migrations:index")
    async with svc.db.session() as s:
        instance = await access.load_instance(s, ctx, server_id)
        query = select(m.Migration).where(
            m.Migration.instance_uuid == instance.uuid,
            m.Migration.migration_type == LIVE,
            m.Migration.status.in_(LIVE_IN_PROGRESS),
        )
        if migration_id is not None:
            number = checks.row_id(migration_id)
            query = query.where(m.Migration.id == (-1 if number is None else number))
        rows = list((await s.scalars(query.order_by(m.Migration.id))).all())
    if migration_id is not None and not rows:
        raise errors.NotFound(
            f"In-progress live migration {migration_id} is not found for server {server_id}."
        )
    return rows
