"""Backup targets by name, as settings choose them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stackling.object.internal import InternalObjects, ObjectUnavailable
from stackling.volume.backup.base import BackupTarget
from stackling.volume.backup.filesystem import FilesystemTarget
from stackling.volume.backup.object_target import ObjectTarget

DRIVERS = ("filesystem", "object")


def _no_objects() -> InternalObjects:
    raise ObjectUnavailable("this backup target was built without the object service")


def make_target(
    root: Path,
    driver: str = "filesystem",
    objects: Callable[[], InternalObjects] | None = None,
) -> BackupTarget:
    """The target of `driver`: files under `root`, or objects found through `objects`."""
    if driver == "filesystem":
        return FilesystemTarget(root)
    if driver == "object":
        return ObjectTarget(objects or _no_objects)
    raise ValueError(f"unknown backup driver {driver!r} (known: {', '.join(DRIVERS)})")
