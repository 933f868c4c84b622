"""The backup target interface: named objects (chunks, a manifest) under container/backup id."""

from __future__ import annotations

from typing import Protocol


class BackupTargetError(Exception):
    """The target cannot store or return an object; the message says why."""


class BackupTarget(Protocol):
    """Stores a backup's objects; every write is atomic (a reader sees all of it or nothing)."""

    name: str

    async def write(self, container: str, backup_id: str, obj: str, data: bytes) -> None:
        """Store `data` as object `obj` of the backup, durably, replacing any older one."""
        ...

    async def read(self, container: str, backup_id: str, obj: str) -> bytes:
        """The bytes of object `obj`; BackupTargetError when it is not there."""
        ...

    async def exists(self, container: str, backup_id: str, obj: str) -> bool:
        """Whether object `obj` of the backup is stored."""
        ...

    async def delete(self, container: str, backup_id: str) -> None:
        """Remove every object of the backup (nothing to do when there is none)."""
        ...

    async def list(self) -> set[tuple[str, str]]:
        """(container, backup id) of every backup holding objects."""
        ...

    async def remove_partials(self) -> int:
        """Remove writes a crash interrupted; how many were removed."""
        ...
