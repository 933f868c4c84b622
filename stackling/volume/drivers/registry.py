"""Volume backends by name, as settings choose them."""

from __future__ import annotations

from pathlib import Path

from stackling.volume.drivers.base import VolumeBackend
from stackling.volume.drivers.fake import FakeBackend
from stackling.volume.drivers.file import FileBackend

BACKENDS = ("file", "fake")


def make_backend(name: str, root: Path) -> VolumeBackend:
    """A backend of kind `name`; the file backend keeps its volumes under `root`."""
    if name == "file":
        return FileBackend(root)
    if name == "fake":
        return FakeBackend()
    raise ValueError(f"unknown volume backend {name!r} (known: {', '.join(BACKENDS)})")
