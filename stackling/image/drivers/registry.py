"""Image stores by driver name, as settings choose them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stackling.image.drivers.base import ImageStore
from stackling.image.drivers.fake import FakeStore
from stackling.image.drivers.filesystem import FilesystemStore
from stackling.image.drivers.object_store import ObjectImageStore
from stackling.object.internal import InternalObjects, ObjectUnavailable

DRIVERS = ("file", "fake", "object")


def _no_objects() -> InternalObjects:
    raise ObjectUnavailable("this image store was built without the object service")


def make_store(
    driver: str, root: Path, objects: Callable[[], InternalObjects] | None = None
) -> ImageStore:
    """A store of `driver`; the file driver keeps its data under `root`.

    The object driver reaches the object service through `objects`, called
    when data moves (the service may start after the store is built).
    """
    if driver == "file":
        return FilesystemStore(root)
    if driver == "fake":
        return FakeStore()
    if driver == "object":
        return ObjectImageStore(root, objects or _no_objects)
    raise ValueError(f"unknown image store driver {driver!r} (known: {', '.join(DRIVERS)})")
