"""POST /os-aggregates/{id}/action: add_host, remove_host and set_metadata."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute import models as m
from stackling.compute.service import access, checks
from stackling.compute.service.aggregates import (
    AZ_KEY,
    COMPUTE,
    AggregateRecord,
    check_zone_change,
    host_zone,
    load_aggregate,
    record_of,
    servers_on,
    write_metadata,
    zone_name,
)
from stackling.compute.service.core import ComputeService

_META_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")


async def aggregate_action(
    svc: ComputeService, ctx: RequestContext, aggregate_id: str, body: dict[str, Any]
) -> AggregateRecord:
    """Run the one action the body names (admin)."""
    for action, run in (
        ("add_host", _add_host),
        ("remove_host", _remove_host),
        ("set_metadata", _set_metadata),
    ):
        if action in body:
            access.require_admin(ctx, f"os_compute_api:os-aggregates:{action}")
            checks.only(body, (action,), "body")
            data = checks.obj(body[action], action)

            async def _run(s: AsyncSession, run: Any = run, data: dict[str, Any] = data) -> Any:
                record = await record_of(s, await load_aggregate(s, aggregate_id))
                await run(s, svc, record, data)
                record.aggregate.updated_at = m.now()
                await s.flush()
                return await record_of(s, record.aggregate)

            return await svc.tx(_run)
    access.require_admin(ctx, "os_compute_api:os-aggregates:action")
    raise errors.BadRequest(f"There is no such action: {', '.join(map(str, body)) or 'None'}")


def _host(data: dict[str, Any], action: str) -> str:
    checks.only(data, ("host",), action)
    checks.required(data, ("host",), action)
    return checks.string(data["host"], "host", min_length=1)


async def _require_compute_host(s: AsyncSession, host: str) -> None:
    found = await s.scalar(
        select(m.ComputeService.id).where(
            m.ComputeService.host == host, m.ComputeService.binary == COMPUTE
        )
    )
    if found is None:
        raise errors.NotFound(f"Compute host {host} could not be found.")


async def _add_host(
    s: AsyncSession, svc: ComputeService, record: AggregateRecord, data: dict[str, Any]
) -> None:
    host = _host(data, "add_host")
    agg = record.aggregate
    await _require_compute_host(s, host)
    if host in record.hosts:
        raise errors.Conflict(f"Aggregate {agg.id} already has host {host}.")
    if record.zone is not None:
        current = await host_zone(s, svc, host)
        in_zone_aggregate = await _in_zone_aggregate(s, host)
        # Nova answers these with 409, unlike the same checks on update (400).
        if in_zone_aggregate and current != record.zone:
            raise errors.Conflict(
                f"Cannot add host to aggregate {agg.id}. Reason: One or more hosts already "
                f"in availability zone(s) ['{current}']."
            )
        if current != record.zone and await servers_on(s, [host]):
            raise errors.Conflict(
                f"Cannot add host to aggregate {agg.id}. Reason: The aggregate's availability "
                f"zone ('{record.zone}') would change the host's availability zone "
                f"('{current}') but the host already has servers."
            )
    s.add(m.AggregateHost(aggregate_id=agg.id, host=host))


async def _in_zone_aggregate(s: AsyncSession, host: str) -> bool:
    found = await s.scalar(
        select(m.AggregateHost.aggregate_id)
        .join(m.AggregateMetadata, m.AggregateMetadata.aggregate_id == m.AggregateHost.aggregate_id)
        .where(m.AggregateHost.host == host, m.AggregateMetadata.key == AZ_KEY)
        .limit(1)
    )
    return found is not None


async def _remove_host(
    s: AsyncSession, svc: ComputeService, record: AggregateRecord, data: dict[str, Any]
) -> None:
    host = _host(data, "remove_host")
    agg = record.aggregate
    await _require_compute_host(s, host)
    row = await s.get(m.AggregateHost, (agg.id, host))
    if row is None:
        raise errors.NotFound(f"Aggregate {agg.id} has no host {host}.")
    if record.zone is not None and await servers_on(s, [host]):
        before = await host_zone(s, svc, host)
        await s.delete(row)
        await s.flush()
        after = await host_zone(s, svc, host)
        if before != after:
            raise errors.Conflict(
                f"Cannot remove host from aggregate {agg.id}. Reason: removing the host would "
                f"move its servers from availability zone '{before}' to '{after}'."
            )
        return
    await s.delete(row)


async def _set_metadata(
    s: AsyncSession, svc: ComputeService, record: AggregateRecord, data: dict[str, Any]
) -> None:
    checks.only(data, ("metadata",), "set_metadata")
    checks.required(data, ("metadata",), "set_metadata")
    metadata = checks.obj(data["metadata"], "metadata")
    changes: dict[str, str | None] = {}
    for key, value in metadata.items():
        if not _META_KEY.match(str(key)):
            raise checks.invalid("metadata", metadata, f"Invalid metadata key {key!r}.")
        if value is not None:
            value = checks.string(value, f"metadata/{key}", max_length=255)
        changes[key] = value
    if AZ_KEY in changes:
        value = changes[AZ_KEY]
        changes[AZ_KEY] = zone_name(value) if value is not None else None
        await check_zone_change(s, record, changes[AZ_KEY], "update metadata of")
    await write_metadata(s, record.aggregate, changes)
