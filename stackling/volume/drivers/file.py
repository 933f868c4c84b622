"""The file backend: one qcow2 file per volume, made with qemu-img under a temporary name.

A volume lives at <root>/volume-<id>.qcow2. A create writes `.volume-<id>.qcow2.partial`
and renames it into place once qemu-img succeeded, so a crash leaves at most a partial
file, which remove_partials() deletes at start-up. qemu-img resize grows a qcow2 image
by rewriting its header in place: the file is a valid image before and after.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

from stackling.common import commands
from stackling.volume.drivers.base import GIB, BackendError

TIMEOUT_S = 60.0
_NAME = re.compile(r"^volume-([0-9a-fA-F-]{36})\.qcow2$")


async def run(argv: list[str], *, timeout_s: float = TIMEOUT_S) -> str:
    """Run a command to completion; its stdout, or BackendError with its stderr."""
    return await commands.run(argv, timeout_s=timeout_s, error=BackendError)


class FileBackend:
    """qcow2 files in one directory."""

    name = "file"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, volume_id: str) -> Path:
        """Where the volume's file is."""
        return self.root / f"volume-{volume_id}.qcow2"

    def _partial(self, volume_id: str) -> Path:
        return self.root / f".volume-{volume_id}.qcow2.partial"

    async def create(self, volume_id: str, size_gb: int) -> None:
        """qemu-img create into a partial file, then rename it into place."""
        final = self.path_of(volume_id)
        if final.exists():
            return
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        partial = self._partial(volume_id)
        try:
            await run(["qemu-img", "create", "-q", "-f", "qcow2", str(partial), str(size_gb * GIB)])
            await asyncio.to_thread(os.replace, partial, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(partial.unlink)

    async def extend(self, volume_id: str, size_gb: int) -> None:
        """qemu-img resize, unless the image is that big already."""
        current = await self.size_of(volume_id)
        if current is None:
            raise BackendError(f"volume {volume_id} has no file in {self.root}")
        if current >= size_gb:
            return
        await run(["qemu-img", "resize", "-q", str(self.path_of(volume_id)), str(size_gb * GIB)])

    async def delete(self, volume_id: str) -> None:
        """Unlink the file (and any partial one)."""
        for path in (self.path_of(volume_id), self._partial(volume_id)):
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(path.unlink)

    async def size_of(self, volume_id: str) -> int | None:
        """The image's virtual size in GiB, from qemu-img info."""
        path = self.path_of(volume_id)
        if not path.exists():
            return None
        out = await run(["qemu-img", "info", "--force-share", "--output=json", str(path)])
        return int(json.loads(out)["virtual-size"]) // GIB

    async def list_volumes(self) -> set[str]:
        """Ids named by the complete files in the directory."""
        if not self.root.is_dir():
            return set()
        names = await asyncio.to_thread(os.listdir, self.root)
        return {match.group(1) for name in names if (match := _NAME.match(name))}

    async def remove_partials(self) -> int:
        """Delete files that creates interrupted by a crash left behind."""
        if not self.root.is_dir():
            return 0
        names = await asyncio.to_thread(os.listdir, self.root)
        removed = 0
        for name in names:
            if name.startswith(".volume-") and name.endswith(".partial"):
                with contextlib.suppress(FileNotFoundError):
                    await asyncio.to_thread((self.root / name).unlink)
                    removed += 1
        return removed

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
