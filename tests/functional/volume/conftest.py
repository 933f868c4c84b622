"""The volume tests' cloud: identity and volume only, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackling.settings import Settings
from tests.conftest import make_settings


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A cloud serving identity and volume, with the in-memory backend."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "volume"],
        volume={"backend": "fake"},
    )
