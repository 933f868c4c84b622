"""Service functions the in-process API (object/internal.py) needs beyond Swift's own."""

from __future__ import annotations

from typing import Any

from stackling.object import models as m
from stackling.object.service import containers
from stackling.object.service.core import ObjectService
from stackling.object.service.listing import Query
from stackling.object.service.objects import find


async def ensure_container(svc: ObjectService, project_id: str, name: str) -> m.ObjectContainer:
    """The container, created (with no metadata) when missing."""
    row = await containers.lookup(svc, project_id, name)
    if row is not None:
        return row
    await containers.create_container(svc, project_id, name, {})
    return await containers.get_container(svc, project_id, name)


async def list_objects(svc: ObjectService, container_id: int, q: Query) -> list[Any]:
    """Rows (with their name) and Subdirs of one page of a container listing."""
    return await containers.list_objects(svc, container_id, q)


async def live_object(svc: ObjectService, container_id: int, name: str) -> m.StoredObject | None:
    """A live object's row, or None when missing or expired."""
    async with svc.db.session() as s:
        return await find(s, container_id, name)
