"""Several `stackling up` processes sharing one PostgreSQL database, as API hosts do."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.process import StacklingProcess, child_env, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ADMIN_PASSWORD = "hosts-admin-pw"
HOSTS = 3


@pytest.fixture
def hosts(tmp_path: Path, pg_database: str) -> Iterator[list[StacklingProcess]]:
    """HOSTS servers, each with its own data dir, all on one fresh PostgreSQL database."""
    env = child_env(STACKLING_ADMIN_PASSWORD=ADMIN_PASSWORD, STACKLING_DATABASE__URL=pg_database)
    procs = [StacklingProcess(tmp_path / f"host{i}", free_port(), env) for i in range(HOSTS)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()


def _token(url: str) -> str:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "admin",
                        "domain": {"id": "default"},
                        "password": ADMIN_PASSWORD,
                    }
                },
            },
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }
    r = httpx.post(f"{url}/identity/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


def test_hosts_starting_together_on_a_new_database(hosts: list[StacklingProcess]) -> None:
    # All start at the same moment on an empty database: the schema and the
    # bootstrap must come out once and whole, and every host must come up.
    with concurrent.futures.ThreadPoolExecutor(HOSTS) as pool:
        errors = [f.exception() for f in [pool.submit(h.start, 90.0) for h in hosts]]
    assert errors == [None] * HOSTS, errors
    for host in hosts:
        token = _token(host.url)
        headers = {"X-Auth-Token": token}
        r = httpx.get(f"{host.url}/identity/v3/users", params={"name": "admin"}, headers=headers)
        assert len(r.json()["users"]) == 1, r.text
        r = httpx.get(f"{host.url}/identity/v3/roles", headers=headers)
        names = [x["name"] for x in r.json()["roles"]]
        assert sorted(names) == sorted(set(names)), names
    # What one host writes, the others read.
    token = _token(hosts[0].url)
    r = httpx.post(
        f"{hosts[0].url}/identity/v3/projects",
        json={"project": {"name": "made-on-host-0"}},
        headers={"X-Auth-Token": token},
    )
    assert r.status_code == 201, r.text
    for host in hosts[1:]:
        r = httpx.get(
            f"{host.url}/identity/v3/projects",
            params={"name": "made-on-host-0"},
            headers={"X-Auth-Token": _token(host.url)},
        )
        assert len(r.json()["projects"]) == 1, r.text
