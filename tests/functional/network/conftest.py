"""The network tests' cloud: identity and network only, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackling.settings import Settings
from tests.conftest import make_settings


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A cloud serving identity and network (network is not yet a default service)."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "network"],
        network={"vni_min": 100, "vni_max": 199},
    )
