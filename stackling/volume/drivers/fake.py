"""An in-memory volume backend for tests only: nothing touches the disk."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from stackling.volume.drivers.base import BackendError


class FakeBackend:
    """Volumes as a dict of id -> size; `fail_next` makes the next call fail (for tests)."""

    name = "fake"

    def __init__(self) -> None:
        self.volumes: dict[str, int] = {}
        self.fail_next: str | None = None
        # images: the formats each volume was imported from and exported to (for tests).
        self.imported: dict[str, str] = {}
        self.exported: dict[str, str] = {}
        # snapshots: what each volume "holds" (tests write it; copies carry it over),
        # and each snapshot's (volume id, size, data).
        self.data: dict[str, bytes] = {}
        self.snapshots: dict[str, tuple[str, int, bytes]] = {}

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
        """Record the volume's size and data as they are now."""
        self._maybe_fail("create_snapshot")
        if snapshot_id in self.snapshots:
            return
        if volume_id not in self.volumes:
            raise BackendError(f"volume {volume_id} is not in the fake backend")
        self.snapshots[snapshot_id] = (
            volume_id,
            self.volumes[volume_id],
            self.data.get(volume_id, b""),
        )

    async def delete_snapshot(self, snapshot_id: str) -> None:
        """Forget the snapshot."""
        self._maybe_fail("delete_snapshot")
        self.snapshots.pop(snapshot_id, None)

    async def list_snapshots(self) -> set[str]:
        """Every recorded snapshot."""
        return set(self.snapshots)

    async def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        """A new volume holding the snapshot's data."""
        self._maybe_fail("create_from_snapshot")
        if volume_id in self.volumes:
            return
        if snapshot_id not in self.snapshots:
            raise BackendError(f"snapshot {snapshot_id} is not in the fake backend")
        _, size, data = self.snapshots[snapshot_id]
        self.volumes[volume_id] = max(size, size_gb)
        self.data[volume_id] = data

    async def clone(self, volume_id: str, source_volume_id: str, size_gb: int) -> None:
        """A new volume holding the source's data."""
        self._maybe_fail("clone")
        if volume_id in self.volumes:
            return
        if source_volume_id not in self.volumes:
            raise BackendError(f"volume {source_volume_id} is not in the fake backend")
        self.volumes[volume_id] = max(self.volumes[source_volume_id], size_gb)
        self.data[volume_id] = self.data.get(source_volume_id, b"")

    async def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """The snapshot's data back into the volume (its size stays)."""
        self._maybe_fail("revert_to_snapshot")
        if volume_id not in self.volumes:
            raise BackendError(f"volume {volume_id} is not in the fake backend")
        if snapshot_id not in self.snapshots:
            raise BackendError(f"snapshot {snapshot_id} is not in the fake backend")
        self.data[volume_id] = self.snapshots[snapshot_id][2]

    # --- images ---

    async def import_image(
        self, volume_id: str, source: Path, source_format: str, size_gb: int, *, replace: bool
    ) -> None:
        """Record the image file's bytes as the volume's data (and its format, for tests)."""
        self._maybe_fail("import_image")
        if volume_id in self.volumes and not replace:
            return
        data = await asyncio.to_thread(source.read_bytes)
        self.volumes[volume_id] = max(size_gb, self.volumes.get(volume_id, 0))
        self.data[volume_id] = data
        self.imported[volume_id] = source_format

    async def export_image(self, volume_id: str, dest: Path, dest_format: str) -> None:
        """Write the volume's bytes (see contents()) to `dest`, whatever the format."""
        self._maybe_fail("export_image")
        if volume_id not in self.volumes:
            raise BackendError(f"volume {volume_id} is not in the fake backend")
        await asyncio.to_thread(dest.write_bytes, self.contents(volume_id))
        self.exported[volume_id] = dest_format

    def contents(self, volume_id: str) -> bytes:
        """The volume's data: what was imported, else bytes naming the volume."""
        return self.data.get(volume_id, f"fake volume {volume_id}".encode())

    # --- attachments ---

    def connection(self, volume_id: str) -> dict[str, Any]:
        """Cinder's connection_info for the volume."""
        return {
            "driver_volume_type": "fake",
            "data": {
                "device_path": f"/dev/fake/{volume_id}",
                "format": "raw",
                "volume_id": volume_id,
            },
        }
