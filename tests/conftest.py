"""Shared fixtures: a real app in-process on a fresh data dir, and clients for it.

Every test that uses `settings` (and so `client` and `admin`) runs twice: on
SQLite in its data dir and on a fresh database in a throwaway PostgreSQL
cluster that the session starts on first use and removes at the end.

Under pytest-xdist (`make test`) each worker is a session of its own, with its
own cluster; the e2e tests all run on one worker (see HOST_GROUP).
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
from tests.support.pg import DatabasePool, PostgresCluster, PostgresUnavailable

ADMIN_PASSWORD = "admin-secret-for-tests"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# The xdist group of the tests that use what is shared machine-wide: libvirtd's
# domains and real guests, `stackling up` processes (whose network agent works in
# the real host's namespace), namespaces, bridges and nftables tables, with checks
# that the real host is left as found. `make test` runs with `--dist loadgroup`:
# the group runs on one worker, one test at a time as without xdist, while the
# in-process tests spread over the workers.
HOST_GROUP = "host"
_E2E_DIR = Path(__file__).parent / "e2e"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put every e2e test (tests/e2e, or marked `e2e` anywhere) in the host group.

    In an xdist worker, also tell the controller which test is in which group.
    """
    for item in items:
        if item.get_closest_marker("e2e") is not None or item.path.is_relative_to(_E2E_DIR):
            item.add_marker(pytest.mark.xdist_group(HOST_GROUP))
    if hasattr(config, "workerinput"):
        from tests.support.groups import record_groups

        record_groups(config, items)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: where this worker writes down its tests' groups."""
    from tests.support.groups import GROUPS_DIR_KEY, groups_dir

    node.workerinput[GROUPS_DIR_KEY] = str(groups_dir(node.config))


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist controller: `--dist loadgroup` that honours the groups under pytest 9.2 too.

    Plain `-n N` (`--dist load`) gets it too, so that no e2e tests run side by side.
    """
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from tests.support.groups import GroupScheduling, groups_dir

    return GroupScheduling(config, log, groups_dir(config))


def pytest_unconfigure(config: pytest.Config) -> None:
    """xdist controller: remove the directory of the workers' group files."""
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        from tests.support.groups import remove_groups_dir

        remove_groups_dir(config)


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
    """One throwaway PostgreSQL cluster for the whole run (started on first use).

    Under pytest-xdist each worker process has a session, so a cluster, of its own.
    """
    try:
        cluster = PostgresCluster()
        cluster.start()
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL is unavailable: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_pool(pg_cluster: PostgresCluster) -> Iterator[DatabasePool]:
    """Fresh databases of the session's cluster, created and dropped a few per psql."""
    pool = DatabasePool(pg_cluster)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def pg_database(pg_cluster: PostgresCluster, pg_pool: DatabasePool) -> Iterator[str]:
    """A fresh, empty database for one test; its SQLAlchemy URL."""
    name = pg_pool.take()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_pool.give_back(name)


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
