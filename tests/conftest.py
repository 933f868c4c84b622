"""Shared fixtures: a real app in-process on a fresh data dir, and clients for it.

Every test that uses `settings` (and so `client` and `admin`) runs twice: on
SQLite in its data dir and on a fresh database in a throwaway PostgreSQL
cluster that the session starts on first use and removes at the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackling.app import build_app
from stackling.settings import Settings, load
from tests.support.pg import PostgresCluster, PostgresUnavailable

ADMIN_PASSWORD = "admin-secret-for-tests"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for an in-process cloud: cheap bcrypt so the suite stays fast.

    Nested overrides merge (identity={"token_expiration_s": 2} keeps the cheap bcrypt).
    """
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "admin_password": ADMIN_PASSWORD,
        "identity": {"password_hash_rounds": 4},
        "log": {"access_log": False},
        # Building the guest image is the e2e suite's business, not every cloud's.
        "image": {"register_test_image": False},
        # In-process clouds simulate their hosts; real guests are the e2e suite's.
        "compute": {"driver": "fake"},
        # ...and no network agent: real bridges and namespaces are the e2e suite's.
        "network": {"agent_enabled": False, "public_network_cidr": ""},
    }
    return load(None, **_merge(base, overrides))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster for the whole run (started on first use)."""
    try:
        cluster = PostgresCluster()
        cluster.start()
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL is unavailable: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_database(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty database for one test; its SQLAlchemy URL."""
    name = pg_cluster.create_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database of the test's cloud: SQLite in its data dir, or a fresh PostgreSQL db."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'stackling.db'}"
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings on a fresh data dir, with the backend chosen by `db_url`."""
    return make_settings(tmp_path / "data", database={"url": db_url})


@asynccontextmanager
async def running_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app for `settings` in-process and yield an HTTP client for it."""
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the started app in-process."""
    async with running_client(settings) as c:
        yield c


async def issue_token(
    client: httpx.AsyncClient,
    username: str = "admin",
    password: str = ADMIN_PASSWORD,
    project: str | None = "admin",
    domain: str = "Default",
) -> str:
    """Password-authenticate and return the token id."""
    auth: dict[str, Any] = {
        "identity": {
            "methods": ["password"],
            "password": {
                "user": {"name": username, "domain": {"name": domain}, "password": password}
            },
        }
    }
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": {"name": domain}}}
    r = await client.post("/identity/v3/auth/tokens", json={"auth": auth})
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The client, authenticated as the bootstrap admin."""
    client.headers["X-Auth-Token"] = await issue_token(client)
    return client
