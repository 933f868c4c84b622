"""The schema built from the models, the migrations and HEAD all agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from stackling.db import migrate, schema
from stackling.db.engine import Database


def _diff(sync_conn: Any) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, schema.metadata()))


def test_head_constant_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert script.get_current_head() == schema.HEAD


async def test_migrations_build_exactly_the_models_schema(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    await migrate.upgrade_with_alembic(db)
    async with db.write_engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    await db.dispose()


async def test_fresh_database_is_stamped_and_later_starts_change_nothing(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    await migrate.upgrade(db)
    async with db.write_engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == schema.HEAD
    # Alembic agrees the fresh database is current: upgrading again is a no-op.
    await migrate.upgrade_with_alembic(db)
    await migrate.upgrade(db)
    await db.dispose()
