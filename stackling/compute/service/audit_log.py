"""os-instance_usage_audit_log: the last completed monthly audit period, host by host.

Nova's compute hosts run a periodic task that counts the instances each one
ran during the period and write the count down. Here every instance keeps its
host, launch and termination times, so the same count is computed from those
rows when asked: each host is done, with no errors, and none is left unrun.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute import models as m
from stackling.compute.service import access, aggregates
from stackling.compute.service.core import ComputeService

_POLICY = "os_compute_api:os-instance-usage-audit-log:{}"


@dataclass(slots=True)
class AuditReport:
    """Instances each compute host ran during [begin, end)."""

    begin: dt.datetime
    end: dt.datetime
    instances: dict[str, int] = field(default_factory=dict)

    @property
    def total_instances(self) -> int:
        """Instances over every host."""
        return sum(self.instances.values())


def parse_before(value: str) -> dt.datetime:
    """`YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC), as Nova reads the path; 400 otherwise."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in value else "%Y-%m-%d %H:%M:%S"
    try:
        return dt.datetime.strptime(value, fmt).replace(tzinfo=dt.UTC)
    except ValueError:
        raise errors.BadRequest(f"Invalid timestamp for date {value}") from None


def _month_before(day: dt.datetime) -> dt.datetime:
    if day.month == 1:
        return day.replace(year=day.year - 1, month=12)
    return day.replace(month=day.month - 1)


def audit_period(before: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The last whole calendar month that ended before `before` (its end strictly before)."""
    end = before.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if end >= before:
        end = _month_before(end)
    return _month_before(end), end


async def report(
    svc: ComputeService, ctx: RequestContext, before: str | None = None
) -> AuditReport:
    """GET /os-instance_usage_audit_log[/{before}] (admin): the period ending before then."""
    access.require_admin(ctx, _POLICY.format("list" if before is None else "show"))
    begin, end = audit_period(m.now() if before is None else parse_before(before))
    found = AuditReport(begin, end)
    async with svc.db.session() as s:
        # Disabled hosts count too: they may still have had instances.
        for host in await aggregates.compute_hosts(s):
            found.instances[host] = 0
        rows = await s.execute(
            select(m.Instance.host, func.count(m.Instance.id))
            .where(
                m.Instance.host.in_(list(found.instances)),
                m.Instance.launched_at < end,
                or_(m.Instance.terminated_at.is_(None), m.Instance.terminated_at > begin),
            )
            .group_by(m.Instance.host)
        )
        for host, count in rows:
            found.instances[host] = int(count)
    return found
