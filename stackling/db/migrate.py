"""Brings the schema to the newest revision at start-up.

Most starts find the schema already at HEAD and need nothing; a new database
gets every table from the models in one step and is stamped at HEAD. Only a
database at an older revision runs Alembic, which is imported just for that
(it and its template engine cost start-up time and memory otherwise).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, inspect, select

from stackling.db import schema
from stackling.db.engine import Database

LOG = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"

_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), primary_key=True, nullable=False),
)


def alembic_config(url: str) -> Any:
    """An Alembic config pointing at Stackling's migration scripts."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _current(sync_conn: Any) -> tuple[str | None, bool]:
    """(revision stamped in the database, whether any table exists at all)."""
    tables = set(inspect(sync_conn).get_table_names())
    if "alembic_version" not in tables:
        return None, bool(tables)
    return sync_conn.execute(select(_VERSION_TABLE.c.version_num)).scalar(), True


def _create_fresh(sync_conn: Any) -> None:
    schema.metadata().create_all(sync_conn)
    _VERSION_TABLE.create(sync_conn)
    sync_conn.execute(_VERSION_TABLE.insert().values(version_num=schema.HEAD))


def _alembic_upgrade(sync_conn: Any, url: str) -> None:
    from alembic import command

    # Alembic narrates every plugin it loads at INFO; only its warnings matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    cfg = alembic_config(url)
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "head")


async def upgrade(db: Database) -> None:
    """Make the schema current, in one transaction where the database allows it."""
    async with db.write_engine.begin() as conn:
        revision, has_tables = await conn.run_sync(_current)
        if revision == schema.HEAD:
            return
        if revision is None and not has_tables:
            LOG.info("new database: creating the schema at revision %s", schema.HEAD)
            await conn.run_sync(_create_fresh)
            return
        LOG.info("migrating the schema from %s to %s", revision, schema.HEAD)
        await conn.run_sync(_alembic_upgrade, db.url)


async def upgrade_with_alembic(db: Database) -> None:
    """Run every migration script through Alembic (tests compare this with upgrade())."""
    async with db.write_engine.begin() as conn:
        await conn.run_sync(_alembic_upgrade, db.url)
