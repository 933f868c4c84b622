"""Volume backends by name, as settings choose them."""

from __future__ import annotations

from pathlib import Path

from stackling.volume.drivers.base import VolumeBackend
from stackling.volume.drivers.fake import FakeBackend
from stackling.volume.drivers.file import FileBackend
from stackling.volume.drivers.lvm import DEFAULT_THIN_POOL, DEFAULT_VOLUME_GROUP, LvmBackend

BACKENDS = ("file", "lvm", "fake")


def make_backend(
    name: str,
    root: Path,
    *,
    volume_group: str = DEFAULT_VOLUME_GROUP,
    thin_pool: str = DEFAULT_THIN_POOL,
) -> VolumeBackend:
    """A backend of kind `name`; file keeps volumes under `root`, lvm in the VG's thin pool."""
    if name == "file":
        return FileBackend(root)
    if name == "lvm":
        return LvmBackend(volume_group, thin_pool)
    if name == "fake":
        return FakeBackend()
    raise ValueError(f"unknown volume backend {name!r} (known: {', '.join(BACKENDS)})")
