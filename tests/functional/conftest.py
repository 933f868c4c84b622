"""Fixtures of the functional fuzz modules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from schemathesis.python import asgi as st_asgi

from stackling.app import build_app
from stackling.settings import Settings


@pytest.fixture
def fuzz_app(settings: Settings) -> Iterator[Any]:
    """The app, started by schemathesis' ASGI client (its event loop), stopped afterwards."""
    app = build_app(settings)
    try:
        yield app
    finally:
        st_asgi.shutdown_lifespans()
