"""Nova's quotas: limits by project (and user), usage counted from rows, checked atomically.

Checks run inside the write transaction that creates the rows (serialised on
SQLite, under a per-project advisory lock on PostgreSQL), so concurrent boots
cannot together pass a limit that each alone respects.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.compute import models as m
from stackling.settings import ComputeSettings

RESOURCES = (
    "instances",
    "cores",
    "ram",
    "key_pairs",
    "metadata_items",
    "server_groups",
    "server_group_members",
    "injected_files",
    "injected_file_content_bytes",
    "injected_file_path_bytes",
)
# Resources that no longer exist after some microversion (2.57 drops injected files).
INJECTED = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
# Counted per user rather than per project.
PER_USER = ("key_pairs",)

_LOCK_NS = 0x6E6F76  # "nov"


class QuotaExceeded(errors.QuotaExceeded):
    """Nova answers quota overruns with 403 and this message."""

    def __init__(self, resource: str, requested: int, used: int, allowed: int) -> None:
        super().__init__(
            f"Quota exceeded for {resource}: Requested {requested}, but already used "
            f"{used} of {allowed} {resource}"
        )


def defaults(conf: ComputeSettings) -> dict[str, int]:
    """The configured default limits."""
    return {name: int(getattr(conf, f"quota_{name}")) for name in RESOURCES}


async def class_limits(s: AsyncSession, conf: ComputeSettings) -> dict[str, int]:
    """The `default` quota class: configured defaults overridden by os-quota-class-sets."""
    limits = defaults(conf)
    rows = await s.scalars(select(m.QuotaClass).where(m.QuotaClass.class_name == "default"))
    for row in rows:
        if row.resource in limits:
            limits[row.resource] = row.hard_limit
    return limits


def _overlay(
    base: dict[str, int], rows: Sequence[m.Quota], scopes: Sequence[str]
) -> dict[str, int]:
    """`base` with the rows of each scope in turn written over it (later scopes win)."""
    limits = dict(base)
    for scope in scopes:
        for row in rows:
            if row.user_id == scope and row.resource in limits:
                limits[row.resource] = row.hard_limit
    return limits


async def limits_for(
    s: AsyncSession, conf: ComputeSettings, project_id: str, user_id: str | None = None
) -> dict[str, int]:
    """The limits of a project (and of a user in it when `user_id` is given)."""
    limits = await class_limits(s, conf)
    scopes = [""] if user_id is None else ["", user_id]
    rows = (
        await s.scalars(
            select(m.Quota).where(m.Quota.project_id == project_id, m.Quota.user_id.in_(scopes))
        )
    ).all()
    # The user's own limits override the project's.
    return _overlay(limits, rows, scopes)


async def instance_usage(
    s: AsyncSession, project_id: str, user_id: str | None = None
) -> dict[str, int]:
    """Instances, cores and RAM held by live servers of a project (or of a user in it)."""
    vcpus = func.coalesce(func.sum(m.Instance.flavor["vcpus"].as_integer()), 0)
    ram = func.coalesce(func.sum(m.Instance.flavor["ram"].as_integer()), 0)
    query = select(func.count(m.Instance.id), vcpus, ram).where(
        m.Instance.project_id == project_id, m.Instance.deleted.is_(False)
    )
    if user_id is not None:
        query = query.where(m.Instance.user_id == user_id)
    count, cores, mem = (await s.execute(query)).one()
    return {"instances": int(count), "cores": int(cores), "ram": int(mem)}


async def usage(s: AsyncSession, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """Everything counted against a project's quotas."""
    used = await instance_usage(s, project_id, user_id)
    groups = select(func.count(m.ServerGroup.id)).where(m.ServerGroup.project_id == project_id)
    if user_id is not None:
        groups = groups.where(m.ServerGroup.user_id == user_id)
    used["server_groups"] = int(await s.scalar(groups) or 0)
    if user_id is not None:
        used["key_pairs"] = int(
            await s.scalar(select(func.count(m.KeyPair.id)).where(m.KeyPair.user_id == user_id))
            or 0
        )
    return used


async def lock_project(s: AsyncSession, project_id: str) -> None:
    """Serialise the quota decisions of one project until this write transaction ends."""
    if s.bind is None or s.bind.dialect.name != "postgresql":
        return
    key = zlib.crc32(f"compute-quota:{project_id}".encode()) & 0x7FFFFFFF
    await s.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": _LOCK_NS, "key": key})


def check(limit: int, used: int, requested: int, resource: str) -> None:
    """QuotaExceeded when `requested` more would pass `limit` (-1: unlimited)."""
    if limit >= 0 and used + requested > limit:
        raise QuotaExceeded(resource, requested, used, limit)


@dataclass(frozen=True, slots=True)
class QuotaScope:
    """The limits of one scope (the project, or a user in it) and what it holds now."""

    limits: dict[str, int]
    used: dict[str, int]


async def boot_scopes(
    s: AsyncSession, conf: ComputeSettings, project_id: str, user_id: str
) -> list[QuotaScope]:
    """The project's scope, then the user's if it has limits of its own; read once, locked.

    A boot decides on these in the transaction that records its servers; reading
    them in as few statements as possible keeps that serialised transaction short.
    """
    await lock_project(s, project_id)
    base = await class_limits(s, conf)
    rows = (
        await s.scalars(
            select(m.Quota).where(
                m.Quota.project_id == project_id, m.Quota.user_id.in_(["", user_id])
            )
        )
    ).all()
    scopes = [QuotaScope(_overlay(base, rows, [""]), await instance_usage(s, project_id))]
    if any(row.user_id == user_id for row in rows):
        user_limits = _overlay(base, rows, ["", user_id])
        scopes.append(QuotaScope(user_limits, await instance_usage(s, project_id, user_id)))
    return scopes


def _boot_costs(vcpus: int, ram: int) -> tuple[tuple[str, int], ...]:
    return (("instances", 1), ("cores", vcpus), ("ram", ram))


def instances_room(scopes: Sequence[QuotaScope], *, vcpus: int, ram: int) -> int | None:
    """How many more servers of one flavor the limits leave room for (None: no limit)."""
    room: int | None = None
    for scope in scopes:
        for resource, each in _boot_costs(vcpus, ram):
            if scope.limits[resource] >= 0 and each > 0:
                fits = max(0, (scope.limits[resource] - scope.used[resource]) // each)
                room = fits if room is None else min(room, fits)
    return room


def check_instances(scopes: Sequence[QuotaScope], *, count: int, vcpus: int, ram: int) -> None:
    """QuotaExceeded, naming the first resource short, unless `count` servers fit every scope."""
    for scope in scopes:
        for resource, each in _boot_costs(vcpus, ram):
            check(scope.limits[resource], scope.used[resource], count * each, resource)
