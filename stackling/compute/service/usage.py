"""os-simple-tenant-usage: hours of vCPU, RAM and disk each server held over a period.

Deleted servers count too: their rows stay with deleted=True and terminated_at set.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute import models as m
from stackling.compute.service import access
from stackling.compute.service.core import ComputeService

_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


@dataclass(slots=True)
class ServerUsage:
    """One server's share of a period."""

    instance: m.Instance
    hours: float
    vcpus: int
    memory_mb: int
    local_gb: int
    flavor_name: str
    state: str
    uptime: int


@dataclass(slots=True)
class TenantUsage:
    """A project's totals over a period, with the servers that make them up."""

    tenant_id: str
    start: dt.datetime
    stop: dt.datetime
    servers: list[ServerUsage] = field(default_factory=list)

    @property
    def total_hours(self) -> float:
        """Server-hours."""
        return sum(u.hours for u in self.servers)

    def total(self, attr: str) -> float:
        """Sum of `attr` x hours over the servers (vcpus, memory_mb, local_gb)."""
        return sum(getattr(u, attr) * u.hours for u in self.servers)


@dataclass(slots=True)
class Period:
    """The window a usage request asks about, and its paging."""

    start: dt.datetime
    stop: dt.datetime
    limit: int | None = None
    marker: str | None = None


def parse_time(value: str | None, now: dt.datetime, what: str) -> dt.datetime:
    """A usage period bound in one of Nova's formats (UTC); now when absent."""
    if value is None:
        return now
    for fmt in _FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    raise errors.BadRequest(f"Invalid {what} time: {value!r} is not a valid datetime string.")


def period(start: str | None, end: str | None) -> Period:
    """The period of a request; 400 when it ends before it starts."""
    now = m.now()
    begin = parse_time(start, now, "start")
    stop = parse_time(end, now, "end")
    if begin > stop:
        raise errors.BadRequest(
            "Invalid start time. The start time cannot occur after the end time."
        )
    return Period(begin, stop)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def server_usage(inst: m.Instance, start: dt.datetime, stop: dt.datetime) -> ServerUsage:
    """How much of [start, stop] a server held its flavor's resources."""
    launched = _aware(inst.launched_at)
    terminated = _aware(inst.terminated_at)
    hours = 0.0
    if launched is not None and launched <= stop and not (terminated and terminated < start):
        begin = max(launched, start)
        end = min(terminated, stop) if terminated else stop
        hours = max((end - begin).total_seconds(), 0.0) / 3600.0
    flavor: dict[str, Any] = inst.flavor or {}
    state = "terminated" if inst.deleted else inst.vm_state
    until = terminated if (inst.deleted and terminated) else m.now()
    uptime = int((until - launched).total_seconds()) if launched else 0
    return ServerUsage(
        instance=inst,
        hours=hours,
        vcpus=int(flavor.get("vcpus") or 0),
        memory_mb=int(flavor.get("ram") or 0),
        local_gb=int(flavor.get("disk") or 0) + int(flavor.get("ephemeral") or 0),
        flavor_name=str(flavor.get("name") or ""),
        state=state,
        uptime=uptime,
    )


async def _instances(
    s: AsyncSession, svc: ComputeService, p: Period, project_id: str | None
) -> list[m.Instance]:
    """Servers alive at some point of the period, by (project, uuid), one page."""
    query = select(m.Instance).where(
        or_(m.Instance.terminated_at.is_(None), m.Instance.terminated_at > p.start),
        m.Instance.launched_at < p.stop,
    )
    if project_id is not None:
        query = query.where(m.Instance.project_id == project_id)
    if p.marker is not None:
        marker = await s.scalar(select(m.Instance).where(m.Instance.uuid == p.marker))
        if marker is None:
            raise errors.BadRequest(f"Marker {p.marker} could not be found.")
        query = query.where(
            tuple_(m.Instance.project_id, m.Instance.uuid) > (marker.project_id, marker.uuid)
        )
    size = svc.conf.api_max_limit if not p.limit else min(p.limit, svc.conf.api_max_limit)
    query = query.order_by(m.Instance.project_id, m.Instance.uuid).limit(size)
    return list((await s.scalars(query)).all())


def _group(instances: list[m.Instance], p: Period) -> list[TenantUsage]:
    out: dict[str, TenantUsage] = {}
    for inst in instances:
        usage = out.setdefault(inst.project_id, TenantUsage(inst.project_id, p.start, p.stop))
        usage.servers.append(server_usage(inst, p.start, p.stop))
    return list(out.values())


async def list_usage(
    svc: ComputeService, ctx: RequestContext, p: Period
) -> tuple[list[TenantUsage], int]:
    """GET /os-simple-tenant-usage (admin): every project's usage; also the page's server count."""
    access.require_admin(ctx, "os_compute_api:os-simple-tenant-usage:list")
    async with svc.db.session() as s:
        instances = await _instances(s, svc, p, None)
    return _group(instances, p), len(instances)


async def show_usage(
    svc: ComputeService, ctx: RequestContext, project_id: str, p: Period
) -> tuple[TenantUsage | None, int]:
    """GET /os-simple-tenant-usage/{project}: members see their own project's only."""
    access.require_reader(ctx)
    if not ctx.is_admin and project_id != ctx.project_id:
        raise errors.Forbidden(
            "Policy doesn't allow os_compute_api:os-simple-tenant-usage:show to be performed."
        )
    async with svc.db.session() as s:
        instances = await _instances(s, svc, p, project_id)
    found = _group(instances, p)
    return (found[0] if found else None), len(instances)
