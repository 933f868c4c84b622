"""Choose the bus implementation from its URL."""

from __future__ import annotations

from stackling.bus.base import Bus
from stackling.bus.local import LocalBus
from stackling.settings import BusSettings


def make_bus(settings: BusSettings) -> Bus:
    """The bus named by `settings.url` (`local://` is the only one so far)."""
    if settings.url.startswith("local:"):
        return LocalBus(call_timeout_s=settings.call_timeout_s)
    raise ValueError(f"unsupported bus url {settings.url!r} (only local:// exists yet)")
