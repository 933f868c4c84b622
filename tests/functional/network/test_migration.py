"""Migration 0005 builds exactly the network models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text

from stackling.db import migrate, schema
from stackling.db.engine import Database


def _diff(sync_conn: Any) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, schema.metadata()))


def _unique_keys(sync_conn: Any, table: str) -> list[list[str]]:
    found = inspect(sync_conn).get_unique_constraints(table)
    return [list(c["column_names"]) for c in found]


async def test_alembic_upgrade_matches_the_models(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)  # where the SQLite flavour keeps its file
    db = Database(db_url)
    try:
        await migrate.upgrade_with_alembic(db)
        async with db.write_engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            assert version == schema.HEAD
            # The constraints that keep concurrent allocations honest are really there.
            keys = await conn.run_sync(_unique_keys, "network_ip_allocations")
            assert ["network_id", "ip_address"] in keys
            keys = await conn.run_sync(_unique_keys, "network_ports")
            assert ["network_id", "mac_address"] in keys
            keys = await conn.run_sync(_unique_keys, "network_floating_ips")
            assert ["floating_network_id", "floating_ip_address"] in keys
    finally:
        await db.dispose()


async def test_downgrade_removes_every_network_table(db_url: str, tmp_path: Path) -> None:
    from alembic import command

    (tmp_path / "data").mkdir(exist_ok=True)
    db = Database(db_url)
    try:
        await migrate.upgrade_with_alembic(db)

        def down(sync_conn: Any) -> list[str]:
            cfg = migrate.alembic_config(db_url)
            cfg.attributes["connection"] = sync_conn
            command.downgrade(cfg, "0004")
            return [t for t in inspect(sync_conn).get_table_names() if t.startswith("network_")]

        async with db.write_engine.begin() as conn:
            assert await conn.run_sync(down) == []
    finally:
        await db.dispose()
