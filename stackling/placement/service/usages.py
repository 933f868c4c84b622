"""Usage totals: per provider, and per project (and user), optionally by consumer type."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from stackling.common import errors
from stackling.db.engine import Database
from stackling.placement import models as m
from stackling.placement.service import inventories

UNKNOWN_TYPE = "unknown"


async def of_provider(db: Database, provider_uuid: str) -> tuple[dict[str, int], int]:
    """Resource class -> amount allocated, for every class the provider has; and its generation."""
    async with db.session() as s:
        generation = await s.scalar(
            select(m.ResourceProvider.generation).where(m.ResourceProvider.uuid == provider_uuid)
        )
        if generation is None:
            raise errors.NotFound(f"No resource provider with uuid {provider_uuid} found")
        invs = (await inventories.load(s, [provider_uuid]))[provider_uuid]
        used = await inventories.usages(s, [provider_uuid])
    out = dict.fromkeys(invs, 0)
    for (_rp, rc), amount in used.items():
        out[rc] = amount
    return out, generation


def _project_filter(project_id: str, user_id: str | None) -> list[object]:
    clauses: list[object] = [m.Consumer.project_id == project_id]
    if user_id is not None:
        clauses.append(m.Consumer.user_id == user_id)
    return clauses


async def of_project(db: Database, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """Resource class -> amount allocated to the project's (and user's) consumers."""
    stmt = (
        select(m.Allocation.resource_class, func.sum(m.Allocation.used))
        .join(m.Consumer, m.Consumer.uuid == m.Allocation.consumer_uuid)
        .where(*_project_filter(project_id, user_id))  # type: ignore[arg-type]
        .group_by(m.Allocation.resource_class)
    )
    async with db.session() as s:
        return {rc: int(total) for rc, total in (await s.execute(stmt)).all()}


async def of_project_by_type(
    db: Database, project_id: str, user_id: str | None = None, consumer_type: str | None = None
) -> dict[str, dict[str, int]]:
    """Usage grouped by consumer type, each group with its `consumer_count` (1.38).

    `consumer_type` "all" puts everything under "all"; "unknown" selects consumers
    recorded without a type; any other value selects that type.
    """
    kind = func.coalesce(m.Consumer.consumer_type, UNKNOWN_TYPE)
    clauses = _project_filter(project_id, user_id)
    if consumer_type == UNKNOWN_TYPE:
        clauses.append(m.Consumer.consumer_type.is_(None))
    elif consumer_type not in (None, "all"):
        clauses.append(m.Consumer.consumer_type == consumer_type)
    stmt = (
        select(
            kind,
            m.Allocation.resource_class,
            func.sum(m.Allocation.used),
            func.count(m.Allocation.consumer_uuid.distinct()),
        )
        .join(m.Consumer, m.Consumer.uuid == m.Allocation.consumer_uuid)
        .where(*clauses)  # type: ignore[arg-type]
        .group_by(kind, m.Allocation.resource_class)
    )
    count_stmt = (
        select(kind, func.count(m.Consumer.uuid.distinct()))
        .join(m.Allocation, m.Consumer.uuid == m.Allocation.consumer_uuid)
        .where(*clauses)  # type: ignore[arg-type]
        .group_by(kind)
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    async with db.session() as s:
        for group, rc, total, _n in (await s.execute(stmt)).all():
            key = "all" if consumer_type == "all" else group
            out[key][rc] = out[key].get(rc, 0) + int(total)
        counts = (await s.execute(count_stmt)).all()
    for group, count in counts:
        key = "all" if consumer_type == "all" else group
        out[key]["consumer_count"] = out[key].get("consumer_count", 0) + int(count)
    return dict(out)
