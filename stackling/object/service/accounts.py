"""Accounts: one per project, made on first write; metadata and totals."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.object import models as m
from stackling.object.service import clock
from stackling.object.service.core import ObjectService
from stackling.object.service.listing import Query, scan


@dataclass(slots=True)
class Account:
    """An account as HEAD reports it; an account never written to has zero of everything."""

    project_id: str
    meta: dict[str, Any] = field(default_factory=dict)
    timestamp: str | None = None
    container_count: int = 0
    object_count: int = 0
    bytes_used: int = 0


def merge_meta(meta: dict[str, Any], changes: dict[str, str]) -> dict[str, Any]:
    """Metadata after a POST: a key set to "" is removed, others are set."""
    merged = dict(meta)
    for key, value in changes.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def totals(session: AsyncSession, project_id: str) -> tuple[int, int, int]:
    """(containers, objects, bytes) of an account."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(m.ObjectContainer.object_count), 0),
                func.coalesce(func.sum(m.ObjectContainer.bytes_used), 0),
            ).where(m.ObjectContainer.project_id == project_id)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def get_account(svc: ObjectService, project_id: str) -> Account:
    """The account's metadata and totals."""
    async with svc.db.session() as s:
        row = await s.get(m.ObjectAccount, project_id)
        containers, objects, size = await totals(s, project_id)
    acct = Account(project_id, container_count=containers, object_count=objects, bytes_used=size)
    if row is not None:
        acct.meta, acct.timestamp = dict(row.meta), row.timestamp
    return acct


async def ensure_row(s: AsyncSession, project_id: str) -> m.ObjectAccount:
    """The account's row, made when it is the account's first write."""
    row = await s.get(m.ObjectAccount, project_id)
    if row is None:
        row = m.ObjectAccount(project_id=project_id, meta={}, timestamp=clock.now())
        s.add(row)
        await s.flush()
    return row


async def update_meta(svc: ObjectService, project_id: str, changes: dict[str, str]) -> None:
    """Apply a POST's metadata changes to the account."""

    async def _do(s: AsyncSession) -> None:
        row = await ensure_row(s, project_id)
        row.meta = merge_meta(row.meta, changes)

    await svc.db.write(_do)
    svc.account_meta.pop(project_id, None)


async def cached_meta(svc: ObjectService, project_id: str) -> dict[str, Any]:
    """The account's metadata, read at most once per `account_cache_s` (for quota checks).

    Like Swift's proxy, which caches account info: a change made through another
    process is seen within that time; one made through this process at once.
    """
    now = time.monotonic()
    hit = svc.account_meta.get(project_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    async with svc.db.session() as s:
        row = await s.get(m.ObjectAccount, project_id)
    meta = dict(row.meta) if row is not None else {}
    if len(svc.account_meta) > 10000:
        svc.account_meta.clear()
    svc.account_meta[project_id] = (now + svc.conf.account_cache_s, meta)
    return meta


async def list_containers(svc: ObjectService, project_id: str, q: Query) -> list[Any]:
    """The account's containers (rows with name, counts, timestamp) and Subdirs."""
    c = m.ObjectContainer
    async with svc.db.session() as s:
        return await scan(
            s,
            [c.name, c.object_count, c.bytes_used, c.timestamp],
            c.name,
            c.project_id == project_id,
            q,
        )


async def delete_account_data(svc: ObjectService, project_id: str) -> None:
    """Forget an account's metadata (its containers must be gone already)."""

    async def _do(s: AsyncSession) -> None:
        row = await s.get(m.ObjectAccount, project_id)
        if row is not None:
            await s.delete(row)

    await svc.db.write(_do)
