"""Placement tests run a cloud of identity and placement only (both databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackling.app import build_app
from stackling.placement.service.core import PlacementService
from stackling.settings import Settings
from tests.conftest import issue_token, make_settings


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings for a cloud serving identity and placement, on the test's database."""
    return make_settings(
        tmp_path / "data", database={"url": db_url}, services=["identity", "placement"]
    )


@pytest.fixture
async def cloud(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, PlacementService]]:
    """An admin HTTP client and the placement service object of the same running app."""
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            c.headers["X-Auth-Token"] = await issue_token(c)
            runtime: Any = app.state.runtime
            yield c, runtime.service("placement").svc
