"""Image stores by driver name, as settings choose them."""

from __future__ import annotations

from pathlib import Path

from stackling.image.drivers.base import ImageStore
from stackling.image.drivers.fake import FakeStore
from stackling.image.drivers.filesystem import FilesystemStore

DRIVERS = ("file", "fake")


def make_store(driver: str, root: Path) -> ImageStore:
    """A store of `driver`; the file driver keeps its data under `root`."""
    if driver == "file":
        return FilesystemStore(root)
    if driver == "fake":
        return FakeStore()
    raise ValueError(f"unknown image store driver {driver!r} (known: {', '.join(DRIVERS)})")
