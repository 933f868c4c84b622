"""Alembic environment: runs on the connection `stackling.db.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from stackling.db.schema import metadata as full_metadata

metadata = full_metadata()

config = context.config
connection = config.attributes.get("connection")


def _configure_and_run(conn: object) -> None:
    context.configure(
        connection=conn,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _configure_and_run(connection)
else:
    # Offline use (`alembic revision --autogenerate`) with a synchronous URL.
    url = (
        config.get_main_option("sqlalchemy.url", "")
        .replace("+aiosqlite", "")
        .replace("+asyncpg", "+psycopg")
    )
    with create_engine(url).connect() as conn:
        _configure_and_run(conn)
        conn.commit()
