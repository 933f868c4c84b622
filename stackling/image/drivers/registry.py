"""Image stores by name, as settings choose them."""

from __future__ import annotations

from pathlib import Path

from stackling.image.drivers.base import ImageStore
from stackling.image.drivers.fake import FakeStore
from stackling.image.drivers.filesystem import FilesystemStore


def make_store(name: str, data_dir: Path) -> ImageStore:
    """The store called `name`; `file` keeps images under <data_dir>/images."""
    if name == "file":
        return FilesystemStore(data_dir / "images")
    if name == "fake":
        return FakeStore()
    raise ValueError(f"unknown image store {name!r} (known: file, fake)")
