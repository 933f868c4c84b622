"""Neutron's quotas: per-project limits, usage counted from rows, checked atomically.

A create checks its quota inside the transaction that inserts the row, under
a per-project lock (SQLite's single writer; a transaction-scoped advisory lock
on PostgreSQL), so concurrent creates cannot together pass a limit.
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.network import faults
from stackling.network import models as m
from stackling.settings import NetworkSettings

# Quota resource -> the table whose rows count against it.
RESOURCES: dict[str, type[Any]] = {
    "network": m.Network,
    "subnet": m.Subnet,
    "subnetpool": m.SubnetPool,
    "port": m.Port,
    "router": m.Router,
    "floatingip": m.FloatingIP,
    "security_group": m.SecurityGroup,
    "security_group_rule": m.SecurityGroupRule,
}
UNLIMITED = -1
_LOCK_NS = 0x6E6574  # "net"


def defaults(conf: NetworkSettings) -> dict[str, int]:
    """The configured default limits."""
    return {name: int(getattr(conf, f"quota_{name}")) for name in RESOURCES}


async def limits(s: AsyncSession, conf: NetworkSettings, project_id: str) -> dict[str, int]:
    """A project's limits: its own where set, the defaults elsewhere."""
    found = defaults(conf)
    rows = await s.scalars(select(m.Quota).where(m.Quota.project_id == project_id))
    for row in rows:
        if row.resource in found:
            found[row.resource] = row.hard_limit
    return found


async def used(s: AsyncSession, project_id: str, resource: str) -> int:
    """How many `resource` rows the project holds."""
    model = RESOURCES[resource]
    count = await s.scalar(select(func.count()).where(model.project_id == project_id))
    return int(count or 0)


async def usage(s: AsyncSession, project_id: str) -> dict[str, int]:
    """Every resource's usage by a project."""
    return {name: await used(s, project_id, name) for name in RESOURCES}


async def lock_project(s: AsyncSession, project_id: str) -> None:
    """Serialise the quota decisions of one project until this write transaction ends."""
    if s.bind is None or s.bind.dialect.name != "postgresql":
        return  # SQLite: the transaction already holds the database's only write lock
    key = zlib.crc32(f"network-quota:{project_id}".encode()) & 0x7FFFFFFF
    await s.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": _LOCK_NS, "key": key})


async def reserve(
    s: AsyncSession, conf: NetworkSettings, project_id: str, wanted: dict[str, int]
) -> None:
    """OverQuota (409) unless the project has room for `wanted` more of each resource."""
    await lock_project(s, project_id)
    found = await limits(s, conf, project_id)
    overs = []
    for resource, count in wanted.items():
        limit = found[resource]
        if limit != UNLIMITED and await used(s, project_id, resource) + count > limit:
            overs.append(resource)
    if overs:
        raise faults.OverQuota(overs)


async def set_limits(s: AsyncSession, project_id: str, new: dict[str, int]) -> None:
    """Store a project's own limits."""
    for resource, limit in new.items():
        row = await s.get(m.Quota, (project_id, resource))
        if row is None:
            s.add(m.Quota(project_id=project_id, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit


async def reset(s: AsyncSession, project_id: str) -> None:
    """Forget a project's own limits: the defaults apply again."""
    await s.execute(delete(m.Quota).where(m.Quota.project_id == project_id))


async def projects_with_limits(s: AsyncSession) -> list[str]:
    """Projects that have limits of their own."""
    rows = await s.scalars(select(m.Quota.project_id).distinct().order_by(m.Quota.project_id))
    return list(rows)
