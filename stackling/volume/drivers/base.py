"""The volume backend interface: create, extend, delete, and list what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

GIB = 1 << 30


class BackendError(Exception):
    """The backend failed (disk full, a tool failed...); the message says why."""


# Glance's disk_format names as qemu-img calls them; others are refused.
_QEMU_FORMATS = {
    "raw": "raw",
    "iso": "raw",
    "qcow2": "qcow2",
    "vmdk": "vmdk",
    "vdi": "vdi",
    "vhd": "vpc",
    "vhdx": "vhdx",
}


def qemu_format(disk_format: str, backend: str) -> str:
    """qemu-img's name for a Glance disk_format; BackendError for one it cannot convert."""
    fmt = _QEMU_FORMATS.get(disk_format)
    if fmt is None:
        raise BackendError(f"the {backend} backend cannot convert disk format {disk_format!r}")
    return fmt


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

    # --- snapshots and clones (snapshots.py's owner) ---

    async def create_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """A point-in-time copy of the volume, consistent even while a guest writes to it."""
        ...

    async def delete_snapshot(self, snapshot_id: str) -> None:
        """Remove a snapshot; removing one that is not there is not an error."""
        ...

    async def list_snapshots(self) -> set[str]:
        """Ids of every complete snapshot held, so start-up can match them to rows."""
        ...

    async def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        """A new volume of `size_gb` GiB holding the snapshot's data (no-op if it exists)."""
        ...

    async def clone(self, volume_id: str, source_volume_id: str, size_gb: int) -> None:
        """A new volume of `size_gb` GiB holding a copy of another volume (no-op if it exists)."""
        ...

    async def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """Put the snapshot's data back into the volume (which is not attached)."""
        ...

    # --- images (volumes from images, upload to image, backups' raw copies) ---

    async def import_image(
        self, volume_id: str, source: Path, source_format: str, size_gb: int, *, replace: bool
    ) -> None:
        """Fill a volume of `size_gb` GiB from an image file in `source_format` (raw, qcow2...).

        Without `replace` it makes a new volume (no-op if it exists); with it, the
        volume's data is replaced atomically (a restore).
        """
        ...

    async def export_image(self, volume_id: str, dest: Path, dest_format: str) -> None:
        """Write the volume's data to `dest` in `dest_format` (raw or qcow2)."""
        ...

    # --- attachments ---

    def connection(self, volume_id: str) -> dict[str, Any]:
        """What a compute host needs to open the volume: Cinder's connection_info.

        {"driver_volume_type": ..., "data": {...}}; for the file backend
        {"driver_volume_type": "file", "data": {"device_path": <path>, "format": "qcow2"}}.
        """
        ...
