"""Cinder's quotas: per-project limits, usage counted from rows, checked atomically.

A create or extend checks its quota in the transaction that writes the row,
under a per-project lock (SQLite's single writer; a transaction-scoped advisory
lock on PostgreSQL), so concurrent requests cannot together pass a limit.
"""

from __future__ import annotations

import zlib

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.settings import VolumeSettings
from stackling.volume import faults
from stackling.volume import models as m

UNLIMITED = -1
# The resources Cinder's quota sets show, in its order (those past groups have no
# resource here yet, so their usage is always 0).
RESOURCES = (
    "volumes",
    "snapshots",
    "gigabytes",
    "backups",
    "backup_gigabytes",
    "groups",
    "per_volume_gigabytes",
)
_LOCK_NS = 0x766F6C  # "vol"


def defaults(conf: VolumeSettings) -> dict[str, int]:
    """The configured default limits."""
    return {
        "volumes": conf.quota_volumes,
        "snapshots": conf.quota_snapshots,
        "gigabytes": conf.quota_gigabytes,
        "backups": conf.quota_backups,
        "backup_gigabytes": conf.quota_backup_gigabytes,
        "groups": conf.quota_groups,
        "per_volume_gigabytes": conf.per_volume_size_limit,
    }


DEFAULT_CLASS = "default"


async def class_defaults(s: AsyncSession, conf: VolumeSettings) -> dict[str, int]:
    """The defaults: the `default` quota class's limits where set, the settings elsewhere."""
    found = defaults(conf)
    rows = await s.scalars(
        select(m.VolumeQuotaClass).where(m.VolumeQuotaClass.class_name == DEFAULT_CLASS)
    )
    for row in rows:
        if row.resource in found:
            found[row.resource] = row.hard_limit
    return found


# Per-type resources (volumes_<type>...): a quota class sets them, nothing enforces them.
PER_TYPE = ("volumes", "gigabytes", "snapshots")


async def type_keys(s: AsyncSession) -> list[str]:
    """The per-type resource names of every volume type, by type name."""
    names = await s.scalars(select(m.VolumeType.name).order_by(m.VolumeType.name))
    return [f"{resource}_{name}" for name in names for resource in PER_TYPE]


async def class_type_limits(s: AsyncSession, class_name: str = DEFAULT_CLASS) -> dict[str, int]:
    """A class's per-type limits for every type: its own where set, unlimited elsewhere."""
    found = dict.fromkeys(await type_keys(s), UNLIMITED)
    rows = await s.scalars(
        select(m.VolumeQuotaClass).where(
            m.VolumeQuotaClass.class_name == class_name,
            m.VolumeQuotaClass.resource.in_(list(found)),
        )
    )
    for row in rows:
        found[row.resource] = row.hard_limit
    return found


async def limits(s: AsyncSession, conf: VolumeSettings, project_id: str) -> dict[str, int]:
    """A project's limits: its own where set, the defaults elsewhere."""
    found = await class_defaults(s, conf)
    rows = await s.scalars(select(m.VolumeQuota).where(m.VolumeQuota.project_id == project_id))
    for row in rows:
        if row.resource in found:
            found[row.resource] = row.hard_limit
    return found


async def usage(s: AsyncSession, project_id: str) -> dict[str, int]:
    """What the project uses of each resource (volumes and snapshots in any state count)."""
    count, total = (
        await s.execute(
            select(
                func.count(),
                func.coalesce(func.sum(func.coalesce(m.Volume.extend_to, m.Volume.size)), 0),
            ).where(m.Volume.project_id == project_id)
        )
    ).one()
    snaps, snap_total = (
        await s.execute(
            select(func.count(), func.coalesce(func.sum(m.Snapshot.size), 0)).where(
                m.Snapshot.project_id == project_id
            )
        )
    ).one()
    used = dict.fromkeys(RESOURCES, 0)
    used["volumes"] = int(count)
    used["snapshots"] = int(snaps)
    # As Cinder's, `gigabytes` holds volumes and snapshots alike.
    used["gigabytes"] = int(total) + int(snap_total)
    backups, backup_total = (
        await s.execute(
            select(func.count(), func.coalesce(func.sum(m.Backup.size), 0)).where(
                m.Backup.project_id == project_id
            )
        )
    ).one()
    used["backups"] = int(backups)
    used["backup_gigabytes"] = int(backup_total)
    return used


async def lock_project(s: AsyncSession, project_id: str) -> None:
    """Serialise the quota decisions of one project until this write transaction ends."""
    if s.bind is None or s.bind.dialect.name != "postgresql":
        return  # SQLite: the transaction already holds the database's only write lock
    key = zlib.crc32(f"volume-quota:{project_id}".encode()) & 0x7FFFFFFF
    await s.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": _LOCK_NS, "key": key})


async def reserve(
    s: AsyncSession,
    conf: VolumeSettings,
    project_id: str,
    *,
    volumes: int,
    gigabytes: int,
    snapshots: int = 0,
) -> None:
    """QuotaError (413) unless the project has room for that many more volumes, snapshots, GiB."""
    await lock_project(s, project_id)
    found = await limits(s, conf, project_id)
    used = await usage(s, project_id)
    allowed = found["snapshots"]
    if snapshots and allowed != UNLIMITED and used["snapshots"] + snapshots > allowed:
        raise faults.QuotaError(
            f"Maximum number of snapshots allowed ({allowed}) exceeded for quota 'snapshots'."
        )
    allowed = found["volumes"]
    if volumes and allowed != UNLIMITED and used["volumes"] + volumes > allowed:
        raise faults.QuotaError(
            f"Maximum number of volumes allowed ({allowed}) exceeded for quota 'volumes'."
        )
    allowed = found["gigabytes"]
    if gigabytes and allowed != UNLIMITED and used["gigabytes"] + gigabytes > allowed:
        raise faults.QuotaError(
            "Requested volume or snapshot exceeds allowed gigabytes quota. "
            f"Requested {gigabytes}G, quota is {allowed}G and "
            f"{used['gigabytes']}G has been consumed."
        )


def check_size(limits_: dict[str, int], size: int) -> None:
    """QuotaError when one volume would be larger than per_volume_gigabytes allows."""
    limit = limits_["per_volume_gigabytes"]
    if limit != UNLIMITED and size > limit:
        raise faults.QuotaError(
            f"Requested volume size {size}G is larger than maximum allowed limit {limit}G."
        )


async def set_limits(s: AsyncSession, project_id: str, new: dict[str, int]) -> None:
    """Store a project's own limits."""
    for resource, limit in new.items():
        row = await s.get(m.VolumeQuota, (project_id, resource))
        if row is None:
            s.add(m.VolumeQuota(project_id=project_id, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit


async def reset(s: AsyncSession, project_id: str) -> None:
    """Forget a project's own limits: the defaults apply again."""
    await s.execute(delete(m.VolumeQuota).where(m.VolumeQuota.project_id == project_id))
