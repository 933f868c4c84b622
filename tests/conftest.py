"""Shared fixtures: a real app in-process on a fresh data dir, and clients for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackling.app import build_app
from stackling.settings import Settings, load

ADMIN_PASSWORD = "admin-secret-for-tests"


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for an in-process cloud: cheap bcrypt so the suite stays fast."""
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "admin_password": ADMIN_PASSWORD,
        "identity": {"password_hash_rounds": 4},
        "log": {"access_log": False},
    }
    base.update(overrides)
    return load(None, **base)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a fresh data dir with SQLite."""
    return make_settings(tmp_path / "data")


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the started app in-process."""
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
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
