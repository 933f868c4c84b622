"""The rows large objects are made of: named segments (SLO) and objects under a prefix (DLO)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import select

from stackling.object import models as m
from stackling.object.service.core import ObjectService
from stackling.object.service.listing import successor

# Names per IN (...) query: well under SQLite's and PostgreSQL's parameter limits.
_BATCH = 500


async def objects_named(
    svc: ObjectService, container_id: int, names: Iterable[str]
) -> dict[str, m.StoredObject]:
    """The live objects of a container among `names`, by name (missing ones are absent)."""
    wanted = list(dict.fromkeys(names))
    now = time.time()
    found: dict[str, m.StoredObject] = {}
    o = m.StoredObject
    async with svc.db.session() as s:
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            stmt = select(o).where(o.container_id == container_id, o.name.in_(batch))
            for row in (await s.scalars(stmt)).all():
                if row.delete_at is None or row.delete_at > now:
                    found[row.name] = row
    return found


async def under_prefix(
    svc: ObjectService, container_id: int, prefix: str, limit: int
) -> list[m.StoredObject]:
    """The live objects of a container whose names start with `prefix`, in name order."""
    o = m.StoredObject
    stmt = select(o).where(o.container_id == container_id)
    if prefix:
        stmt = stmt.where(o.name >= prefix, o.name < successor(prefix))
    now = int(time.time())
    stmt = stmt.where((o.delete_at.is_(None)) | (o.delete_at > now))
    async with svc.db.session() as s:
        return list((await s.scalars(stmt.order_by(o.name).limit(limit))).all())
