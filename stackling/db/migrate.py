"""Brings the schema to the newest Alembic revision at start-up."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from stackling.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at Stackling's migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def upgrade(db: Database) -> None:
    """Apply every pending migration, in one transaction where the database allows it."""
    cfg = alembic_config(db.url)
    # Alembic narrates every plugin it loads at INFO; only its warnings matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)

    def _run(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, "head")

    async with db.write_engine.begin() as conn:
        await conn.run_sync(_run)
