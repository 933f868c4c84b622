"""Object stores by driver name, as settings choose them."""

from __future__ import annotations

from pathlib import Path

from stackling.object.drivers.base import ObjectStore
from stackling.object.drivers.fake import FakeObjectStore
from stackling.object.drivers.filesystem import FilesystemStore

DRIVERS = ("file", "fake")


def make_store(driver: str, root: Path) -> ObjectStore:
    """A store of `driver`; the file driver keeps its data under `root`."""
    if driver == "file":
        return FilesystemStore(root)
    if driver == "fake":
        return FakeObjectStore()
    raise ValueError(f"unknown object store driver {driver!r} (known: {', '.join(DRIVERS)})")
