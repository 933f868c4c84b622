"""kill -9 in the middle of a burst of writes loses nothing that was acknowledged."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.process import StacklingProcess, child_env, free_port

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "durability-admin-pw"
USERS = 200
KILL_AFTER = 40  # answered requests before the SIGKILL
V3 = "/identity/v3"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StacklingProcess]:
    """A foreground `stackling up` child on SQLite; killed and reaped whatever happens."""
    proc = StacklingProcess(
        tmp_path / "data", free_port(), child_env(STACKLING_ADMIN_PASSWORD=ADMIN_PASSWORD)
    )
    try:
        yield proc
    finally:
        proc.kill()


async def _admin_token(client: httpx.AsyncClient) -> str:
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
    r = await client.post(f"{V3}/auth/tokens", json=body)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


async def _burst(server: StacklingProcess, prefix: str) -> tuple[dict[str, str], int]:
    """Create USERS users at once and SIGKILL the server mid-way; (acknowledged, failures)."""
    acknowledged: dict[str, str] = {}
    answered = 0
    failed = 0
    enough = asyncio.Event()
    limits = httpx.Limits(max_connections=USERS, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, timeout=30.0, limits=limits) as client:
        token = await _admin_token(client)

        async def create(i: int) -> None:
            nonlocal answered, failed
            name = f"{prefix}-{i:03d}"
            try:
                r = await client.post(
                    f"{V3}/users",
                    json={"user": {"name": name, "password": f"pw-{i}", "description": name}},
                    headers={"X-Auth-Token": token},
                )
            except httpx.HTTPError:
                failed += 1
                return
            answered += 1
            if r.status_code == 201:
                body = r.json()["user"]
                assert body["name"] == name
                acknowledged[name] = body["id"]
            else:
                failed += 1
            if answered >= KILL_AFTER:
                enough.set()

        async def killer() -> None:
            try:
                await asyncio.wait_for(enough.wait(), timeout=60)
            finally:
                server.kill()

        await asyncio.gather(killer(), *(create(i) for i in range(USERS)))
    return acknowledged, failed


async def test_acknowledged_users_survive_sigkill(server: StacklingProcess) -> None:
    server.start()
    prefix = f"dur-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    acknowledged, failed = await _burst(server, prefix)
    assert len(acknowledged) >= KILL_AFTER // 2, (len(acknowledged), failed)
    # The kill really happened mid-way: some requests never got their answer.
    assert failed > 0, "every request was answered before the kill; nothing was tested"
    assert time.monotonic() - started < 120

    server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as client:
        token = await _admin_token(client)
        missing = []
        for name, user_id in sorted(acknowledged.items()):
            r = await client.get(f"{V3}/users/{user_id}", headers={"X-Auth-Token": token})
            if r.status_code != 200 or r.json()["user"]["name"] != name:
                missing.append(f"{name} {user_id}: {r.status_code}")
        assert not missing, f"{len(missing)} acknowledged users lost:\n" + "\n".join(missing)
        r = await client.get(f"{V3}/users", headers={"X-Auth-Token": token})
        listed = {u["name"]: u for u in r.json()["users"] if u["name"].startswith(prefix)}
        # Committed but unanswered creations may exist too; nothing else may.
        assert set(acknowledged) <= set(listed) and len(listed) <= USERS
        # An acknowledged user can log in with the password it was created with.
        name = sorted(acknowledged)[0]
        r = await client.post(
            f"{V3}/auth/tokens",
            json={
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {
                                "id": acknowledged[name],
                                "password": f"pw-{int(name.rsplit('-', 1)[1])}",
                            }
                        },
                    }
                }
            },
        )
        assert r.status_code == 201, r.text
    # uvicorn re-raises SIGTERM once it has shut down gracefully.
    assert server.stop() in (0, -15)
    # A graceful stop leaves no pid (or endpoint) file behind for the next start to trip on.
    assert not (server.data_dir / "stackling.pid").exists()
    assert not (server.data_dir / "stackling.endpoint").exists()

    db = sqlite3.connect(server.data_dir / "stackling.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = db.execute(
            "SELECT id, name, domain_id, enabled, password_hash, created_at, extra "
            "FROM identity_users WHERE name LIKE ?",
            (f"{prefix}-%",),
        ).fetchall()
    finally:
        db.close()
    assert {r[1] for r in rows} == set(listed)
    for user_id, name, domain_id, enabled, password_hash, created_at, extra in rows:
        # Whole rows only: every column the creation writes is there.
        assert len(user_id) == 32 and domain_id == "default" and enabled == 1, (name, user_id)
        assert password_hash and password_hash.startswith("$2"), name
        assert created_at is not None, name
        assert json.loads(extra) == {"description": name}, (name, extra)
        if name in acknowledged:
            assert acknowledged[name] == user_id
