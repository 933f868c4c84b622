"""The volume backend interface: create, extend, delete, and list what it holds."""

from __future__ import annotations

from typing import Protocol

GIB = 1 << 30


class BackendError(Exception):
    """The backend failed (disk full, a tool failed...); the message says why."""


class VolumeBackend(Protocol):
    """Where volume data lives. Every call is idempotent, so the agent may repeat it."""

    name: str

    async def create(self, volume_id: str, size_gb: int) -> None:
        """An empty volume of `size_gb` GiB; visible only once complete (no-op if it exists)."""
        ...

    async def extend(self, volume_id: str, size_gb: int) -> None:
        """Grow the volume to `size_gb` GiB (no-op if it is that big already)."""
        ...

    async def delete(self, volume_id: str) -> None:
        """Remove the volume; deleting one that is not there is not an error."""
        ...

    async def size_of(self, volume_id: str) -> int | None:
        """The volume's size in GiB, or None when the backend does not hold it."""
        ...

    async def list_volumes(self) -> set[str]:
        """Ids of every complete volume held, so start-up can match them to rows."""
        ...

    async def remove_partials(self) -> int:
        """Remove what interrupted creates left behind (at start-up); how many were removed."""
        ...
