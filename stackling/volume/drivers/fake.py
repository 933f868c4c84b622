"""An in-memory volume backend for tests only: nothing touches the disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stackling.volume.drivers.base import BackendError


class FakeBackend:
    """Volumes as a dict of id -> size; `fail_next` makes the next call fail (for tests)."""

    name = "fake"

    def __init__(self) -> None:
        self.volumes: dict[str, int] = {}
        self.fail_next: str | None = None

    def _maybe_fail(self, op: str) -> None:
        if self.fail_next == op:
            self.fail_next = None
            raise BackendError(f"fake backend: {op} failed as asked")

    async def create(self, volume_id: str, size_gb: int) -> None:
        """Record the volume."""
        self._maybe_fail("create")
        self.volumes.setdefault(volume_id, size_gb)

    async def extend(self, volume_id: str, size_gb: int) -> None:
        """Record the new size."""
        self._maybe_fail("extend")
        if volume_id not in self.volumes:
            raise BackendError(f"volume {volume_id} is not in the fake backend")
        self.volumes[volume_id] = max(self.volumes[volume_id], size_gb)

    async def delete(self, volume_id: str) -> None:
        """Forget the volume."""
        self._maybe_fail("delete")
        self.volumes.pop(volume_id, None)

    async def size_of(self, volume_id: str) -> int | None:
        """The recorded size."""
        return self.volumes.get(volume_id)

    async def list_volumes(self) -> set[str]:
        """Every recorded volume."""
        return set(self.volumes)

    async def remove_partials(self) -> int:
        """Nothing is ever partial in memory."""
        return 0

    # --- snapshots and clones ---

    async def create_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """A point-in-time copy of the volume."""
        raise NotImplementedError("snapshots: create_snapshot")

    async def delete_snapshot(self, snapshot_id: str) -> None:
        """Remove a snapshot."""
        raise NotImplementedError("snapshots: delete_snapshot")

    async def list_snapshots(self) -> set[str]:
        """Every complete snapshot."""
        raise NotImplementedError("snapshots: list_snapshots")

    async def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        """A new volume from a snapshot."""
        raise NotImplementedError("snapshots: create_from_snapshot")

    async def clone(self, volume_id: str, source_volume_id: str, size_gb: int) -> None:
        """A new volume copied from another."""
        raise NotImplementedError("snapshots: clone")

    async def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """The snapshot's data back into the volume."""
        raise NotImplementedError("snapshots: revert_to_snapshot")

    # --- images ---

    async def import_image(
        self, volume_id: str, source: Path, source_format: str, size_gb: int, *, replace: bool
    ) -> None:
        """Fill a volume from an image file."""
        raise NotImplementedError("images: import_image")

    async def export_image(self, volume_id: str, dest: Path, dest_format: str) -> None:
        """Write the volume's data to an image file."""
        raise NotImplementedError("images: export_image")

    # --- attachments ---

    def connection(self, volume_id: str) -> dict[str, Any]:
        """Cinder's connection_info for the volume."""
        raise NotImplementedError("attachments: connection")
