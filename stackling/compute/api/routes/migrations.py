"""/os-migrations and /servers/{id}/migrations: resizes and moves (admin)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response

from stackling.common import errors
from stackling.common.timeutil import parse_iso
from stackling.compute.api import views_admin as views
from stackling.compute.api.deps import V21, ComputeDep, Context, LinksDep, Microversion
from stackling.compute.api.microversion import Version
from stackling.compute.api.query_misc import Query, full_page, not_in_version
from stackling.compute.api.reply import reply
from stackling.compute.service import migrations

router = APIRouter(tags=["compute-migrations"])

_FILTERS = ("hidden", "host", "instance_uuid", "source_compute", "status", "migration_type")


def _time(query: Query, name: str) -> dt.datetime | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise errors.BadRequest(
            f"Invalid input for query parameters {name}. Value: {value}. "
            f"'{value}' is not a 'date-time'"
        ) from None


def _query(query: Query, mv: Version) -> migrations.MigrationQuery:
    """The filters each microversion knows; older ones ignore what they do not."""
    q = migrations.MigrationQuery(
        host=query.get("host"),
        source_compute=query.get("source_compute"),
        status=query.get("status"),
        instance_uuid=query.get("instance_uuid"),
        migration_type=query.get("migration_type"),
    )
    if mv.at_least("2.59"):
        allowed = [*_FILTERS, "limit", "marker", "changes-since"]
        allowed += ["changes-before"] if mv.at_least("2.66") else []
        allowed += ["user_id", "project_id"] if mv.at_least("2.80") else []
        query.only(mv, allowed, since="2.59")
        q.paged = True
        q.limit = query.integer("limit")
        q.marker = query.get("marker")
        q.changes_since = _time(query, "changes-since")
    if mv.at_least("2.66"):
        q.changes_before = _time(query, "changes-before")
    if mv.at_least("2.80"):
        q.user_id = query.get("user_id")
        q.project_id = query.get("project_id")
    return q


@router.get(V21 + "/os-migrations")
async def list_migrations(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Migrations, by host, status, server or type; paged newest first from 2.59."""
    query = Query(request)
    q = _query(query, mv)
    found = await migrations.list_migrations(svc, ctx, q)
    body: dict[str, Any] = {"migrations": [views.migration(r, mv, links) for r in found]}
    if q.paged and full_page(len(found), q.limit, svc.conf.api_max_limit):
        body["migrations_links"] = query.next_links("os-migrations", found[-1].migration.uuid)
    return reply(mv, body)


@router.get(V21 + "/servers/{server_id}/migrations")
async def list_live_migrations(
    server_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """A server's live migrations in progress (2.23)."""
    if not mv.at_least("2.23"):
        raise not_in_version()
    found = await migrations.live_migrations(svc, ctx, server_id)
    return reply(mv, {"migrations": [views.live_migration(row, mv) for row in found]})


@router.get(V21 + "/servers/{server_id}/migrations/{migration_id}")
async def show_live_migration(
    server_id: str, migration_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One live migration in progress (2.23)."""
    if not mv.at_least("2.23"):
        raise not_in_version()
    [row] = await migrations.live_migrations(svc, ctx, server_id, migration_id)
    return reply(mv, {"migration": views.live_migration(row, mv)})
