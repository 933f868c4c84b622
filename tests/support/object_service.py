"""A started object service on its own SQLite database, for contract tests of its consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from stackling.db import migrate
from stackling.db.engine import Database
from stackling.object.internal import InternalObjects
from stackling.object.service.core import ObjectService
from stackling.object.service.reaper import recover
from tests.conftest import make_settings


@asynccontextmanager
async def internal_objects(tmp_path: Path) -> AsyncIterator[InternalObjects]:
    """The in-process API of an object service (filesystem store) under tmp_path/objects."""
    data = tmp_path / "object-service"
    data.mkdir(parents=True, exist_ok=True)
    settings = make_settings(data, services=["identity", "object"])
    db = Database(f"sqlite+aiosqlite:///{data / 'stackling.db'}")
    try:
        await migrate.upgrade(db)
        svc = ObjectService(settings, db)
        await recover(svc)
        yield InternalObjects(svc)
    finally:
        await db.dispose()
