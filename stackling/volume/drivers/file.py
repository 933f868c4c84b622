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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from stackling.common import commands
from stackling.volume.drivers import live_copy
from stackling.volume.drivers.base import GIB, BackendError, qemu_format

TIMEOUT_S = 60.0
_NAME = re.compile(r"^volume-([0-9a-fA-F-]{36})\.qcow2$")
_SNAPSHOT = re.compile(r"^snapshot-([0-9a-fA-F-]{36})\.qcow2$")
# Copies read and write whole volumes: far longer than a create may take.
COPY_TIMEOUT_S = 3600.0


async def run(argv: list[str], *, timeout_s: float = TIMEOUT_S) -> str:
    """Run a command to completion; its stdout, or BackendError with its stderr."""
    return await commands.run(argv, timeout_s=timeout_s, error=BackendError)


async def _convert(source: Path, dest: Path) -> None:
    """qemu-img convert `source` into a sparse qcow2 at `dest`."""
    await run(
        ["qemu-img", "convert", "-q", "-O", "qcow2", str(source), str(dest)],
        timeout_s=COPY_TIMEOUT_S,
    )


async def _grow(path: Path, size_gb: int) -> None:
    """qemu-img resize the image up to `size_gb` GiB (never down)."""
    out = await run(["qemu-img", "info", "--output=json", str(path)])
    if int(json.loads(out)["virtual-size"]) < size_gb * GIB:
        await run(["qemu-img", "resize", "-q", str(path), str(size_gb * GIB)])


async def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        await asyncio.to_thread(path.unlink)


@contextlib.asynccontextmanager
async def _built(partial: Path, final: Path) -> AsyncIterator[Path]:
    """Build a file at `partial`; renamed to `final` once the block succeeds, else removed."""
    try:
        yield partial
        # os.replace is atomic: a reader sees the old data or the new, never a mix.
        await asyncio.to_thread(os.replace, partial, final)
    finally:
        await _unlink(partial)


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
        async with _built(self._partial(volume_id), final) as partial:
            await run(["qemu-img", "create", "-q", "-f", "qcow2", str(partial), str(size_gb * GIB)])

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
            await _unlink(path)

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
            if name.startswith((".volume-", ".snapshot-")) and name.endswith(".partial"):
                with contextlib.suppress(FileNotFoundError):
                    await asyncio.to_thread((self.root / name).unlink)
                    removed += 1
        return removed

    # --- snapshots and clones ---

    async def create_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """Copy the volume into `.snapshot-<id>.qcow2.partial`, then rename it into place."""
        final = self.snapshot_path(snapshot_id)
        if final.exists():
            return
        async with _built(self._snapshot_partial(snapshot_id), final) as partial:
            await self._copy_volume(volume_id, partial)

    async def delete_snapshot(self, snapshot_id: str) -> None:
        """Unlink the snapshot's file (and any partial one)."""
        await _unlink(self.snapshot_path(snapshot_id))
        await _unlink(self._snapshot_partial(snapshot_id))

    async def list_snapshots(self) -> set[str]:
        """Ids named by the complete snapshot files in the directory."""
        if not self.root.is_dir():
            return set()
        names = await asyncio.to_thread(os.listdir, self.root)
        return {match.group(1) for name in names if (match := _SNAPSHOT.match(name))}

    async def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        """Convert the snapshot into a partial volume, grow it to `size_gb`, rename it."""
        final = self.path_of(volume_id)
        if final.exists():
            return
        source = self.snapshot_path(snapshot_id)
        if not source.exists():
            raise BackendError(f"snapshot {snapshot_id} has no file in {self.root}")
        async with _built(self._partial(volume_id), final) as partial:
            await _convert(source, partial)
            await _grow(partial, size_gb)

    async def clone(self, volume_id: str, source_volume_id: str, size_gb: int) -> None:
        """Copy the source into a partial volume, grow it to `size_gb`, rename it."""
        final = self.path_of(volume_id)
        if final.exists():
            return
        async with _built(self._partial(volume_id), final) as partial:
            await self._copy_volume(source_volume_id, partial)
            await _grow(partial, size_gb)

    async def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """Convert the snapshot beside the volume, then rename it over the volume (atomic)."""
        size_gb = await self.size_of(volume_id)
        if size_gb is None:
            raise BackendError(f"volume {volume_id} has no file in {self.root}")
        source = self.snapshot_path(snapshot_id)
        if not source.exists():
            raise BackendError(f"snapshot {snapshot_id} has no file in {self.root}")
        async with _built(self._partial(volume_id), self.path_of(volume_id)) as partial:
            await _convert(source, partial)
            await _grow(partial, size_gb)

    def snapshot_path(self, snapshot_id: str) -> Path:
        """Where the snapshot's file is."""
        return self.root / f"snapshot-{snapshot_id}.qcow2"

    def _snapshot_partial(self, snapshot_id: str) -> Path:
        return self.root / f".snapshot-{snapshot_id}.qcow2.partial"

    async def _copy_volume(self, volume_id: str, dest: Path) -> None:
        """A point-in-time qcow2 copy of the volume at `dest`, even while a guest runs on it."""
        source = self.path_of(volume_id)
        if not source.exists():
            raise BackendError(f"volume {volume_id} has no file in {self.root}")
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        try:
            await _convert(source, dest)
        except BackendError as exc:
            # QEMU's image lock refuses qemu-img while a guest has the file open:
            # then only the guest's own QEMU can make a consistent copy.
            if "lock" not in str(exc):
                raise
            await _unlink(dest)
            if not await live_copy.copy(source, dest):
                raise

    # --- images ---

    async def import_image(
        self, volume_id: str, source: Path, source_format: str, size_gb: int, *, replace: bool
    ) -> None:
        """qemu-img convert into the partial file, grow it to `size_gb`, rename it into place."""
        final = self.path_of(volume_id)
        if final.exists() and not replace:
            return
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        fmt = qemu_format(source_format, self.name)
        async with _built(self._partial(volume_id), final) as partial:
            await run(
                ["qemu-img", "convert", "-q", "-f", fmt, "-O", "qcow2", str(source), str(partial)],
                timeout_s=COPY_TIMEOUT_S,
            )
            await _grow(partial, size_gb)

    async def export_image(self, volume_id: str, dest: Path, dest_format: str) -> None:
        """qemu-img convert the volume to `dest`; -U because a guest may hold it open."""
        path = self.path_of(volume_id)
        if not path.exists():
            raise BackendError(f"volume {volume_id} has no file in {self.root}")
        fmt = qemu_format(dest_format, self.name)
        await run(
            ["qemu-img", "convert", "-q", "-U", "-f", "qcow2", "-O", fmt, str(path), str(dest)],
            timeout_s=COPY_TIMEOUT_S,
        )

    # --- attachments ---

    def connection(self, volume_id: str) -> dict[str, Any]:
        """Cinder's connection_info for the volume."""
        return {
            "driver_volume_type": "file",
            "data": {
                "device_path": str(self.path_of(volume_id)),
                "format": "qcow2",
                "volume_id": volume_id,
            },
        }
