"""The default backup target: one directory per backup, one file per object.

Layout: <root>/<container>/<backup id>/<object>. Each object is written under a
dot-prefixed temporary name, fsynced, then renamed into place, so a crash
leaves either the whole object or a temporary file that start-up removes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from pathlib import Path

from stackling.volume.backup.base import BackupTargetError

PARTIAL = ".partial-"


def safe_name(value: str) -> bool:
    """Whether `value` may be one path component under the root (no traversal, no dot files)."""
    return bool(value) and "/" not in value and "\\" not in value and not value.startswith(".")


class FilesystemTarget:
    """Backups as files under `root`."""

    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, container: str, backup_id: str) -> Path:
        if not safe_name(container) or not safe_name(backup_id):
            raise BackupTargetError(f"invalid container or backup id: {container}/{backup_id}")
        return self.root / container / backup_id

    async def write(self, container: str, backup_id: str, obj: str, data: bytes) -> None:
        """Write to a temporary file, fsync it, rename it into place, fsync the directory."""
        if not safe_name(obj):
            raise BackupTargetError(f"invalid object name {obj!r}")
        await asyncio.to_thread(self._write, self._dir(container, backup_id), obj, data)

    @staticmethod
    def _write(folder: Path, obj: str, data: bytes) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{PARTIAL}{obj}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, folder / obj)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise BackupTargetError(f"cannot write {folder / obj}: {exc}") from exc
        # The rename is durable only once the directory itself is on disk.
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    async def read(self, container: str, backup_id: str, obj: str) -> bytes:
        """The object's bytes."""
        path = self._dir(container, backup_id) / obj
        try:
            return await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise BackupTargetError(f"cannot read {path}: {exc.strerror}") from exc

    async def exists(self, container: str, backup_id: str, obj: str) -> bool:
        """Whether the object's file is there."""
        path = self._dir(container, backup_id) / obj
        return await asyncio.to_thread(path.is_file)

    async def delete(self, container: str, backup_id: str) -> None:
        """Remove the backup's directory, and its container when that is left empty."""
        folder = self._dir(container, backup_id)
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
        # Fails while other backups still live in the container, which is fine.
        with contextlib.suppress(OSError):
            await asyncio.to_thread(folder.parent.rmdir)

    async def list(self) -> set[tuple[str, str]]:
        """Every <container>/<backup id> directory."""
        return await asyncio.to_thread(self._list)

    def _list(self) -> set[tuple[str, str]]:
        if not self.root.is_dir():
            return set()
        found: set[tuple[str, str]] = set()
        for container in self.root.iterdir():
            if not container.is_dir() or not safe_name(container.name):
                continue
            for backup in container.iterdir():
                if backup.is_dir() and safe_name(backup.name):
                    found.add((container.name, backup.name))
        return found

    async def remove_partials(self) -> int:
        """Remove the temporary files of interrupted writes."""
        return await asyncio.to_thread(self._remove_partials)

    def _remove_partials(self) -> int:
        if not self.root.is_dir():
            return 0
        removed = 0
        for path in self.root.glob(f"*/*/{PARTIAL}*"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed
