"""The object tests' cloud: identity and object only, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from stackling.settings import Settings
from tests.conftest import issue_token, make_settings


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A cloud serving identity and object, with the filesystem store."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "object"],
        object={"reaper_interval_s": 0.2},
    )


@pytest.fixture
async def swift(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The client as the admin, with base URL at the admin's Swift account."""
    token = await issue_token(client)
    r = await client.get(
        "/identity/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}
    )
    project = r.json()["token"]["project"]["id"]
    client.headers["X-Auth-Token"] = token
    client.base_url = httpx.URL(f"http://testserver/object/v1/AUTH_{project}/")
    yield client
