"""The object backup target: backups as objects of the object service (Cinder's swift driver).

Object `obj` of backup `backup_id` is the object `<backup_id>/<obj>` of the
Swift container named like the backup's container, in the internal account
"stackling-backup" (see stackling/object/internal.py: no project's token
reaches it). An object PUT is all-or-nothing, so every write is atomic by
construction and a crash leaves nothing partial here: the object service's own
start-up settles interrupted writes. Containers stay when their last backup
goes, as Cinder's swift driver leaves them. The object service is reached
lazily, through the runtime, since it starts after the target is built.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from stackling.object.internal import (
    InternalObjects,
    ObjectMissing,
    ObjectStorageError,
    ObjectUnavailable,
)
from stackling.volume.backup.base import BackupTargetError
from stackling.volume.backup.filesystem import safe_name

ACCOUNT = "stackling-backup"
# Swift's limit on a container name.
_MAX_CONTAINER = 256


class ObjectTarget:
    """Backups as objects under <container>/<backup id>/ of one internal account."""

    name = "object"

    def __init__(self, objects: Callable[[], InternalObjects], account: str = ACCOUNT) -> None:
        self._objects = objects
        self.account = account

    def _service(self) -> InternalObjects:
        try:
            return self._objects()
        except ObjectUnavailable as exc:
            raise BackupTargetError(str(exc)) from exc

    @staticmethod
    def _check(container: str, backup_id: str, obj: str | None = None) -> None:
        if not safe_name(container) or len(container) > _MAX_CONTAINER or not safe_name(backup_id):
            raise BackupTargetError(f"invalid container or backup id: {container}/{backup_id}")
        if obj is not None and not safe_name(obj):
            raise BackupTargetError(f"invalid object name {obj!r}")

    async def write(self, container: str, backup_id: str, obj: str, data: bytes) -> None:
        """PUT the object: it replaces any older one all at once."""
        self._check(container, backup_id, obj)

        async def body() -> AsyncIterator[bytes]:
            yield data

        try:
            await self._service().put(self.account, container, f"{backup_id}/{obj}", body())
        except ObjectStorageError as exc:
            raise BackupTargetError(f"cannot write {container}/{backup_id}/{obj}: {exc}") from exc

    async def read(self, container: str, backup_id: str, obj: str) -> bytes:
        """The object's bytes."""
        self._check(container, backup_id, obj)
        stream = self._service().read(self.account, container, f"{backup_id}/{obj}")
        try:
            return b"".join([chunk async for chunk in stream])
        except ObjectMissing as exc:
            raise BackupTargetError(f"cannot read {container}/{backup_id}/{obj}: missing") from exc
        except ObjectStorageError as exc:
            raise BackupTargetError(f"cannot read {container}/{backup_id}/{obj}: {exc}") from exc

    async def exists(self, container: str, backup_id: str, obj: str) -> bool:
        """Whether the object is stored."""
        self._check(container, backup_id, obj)
        return await self._service().exists(self.account, container, f"{backup_id}/{obj}")

    async def delete(self, container: str, backup_id: str) -> None:
        """Delete every object under <backup id>/ of the container."""
        self._check(container, backup_id)
        await self._service().delete_prefix(self.account, container, f"{backup_id}/")

    async def list(self) -> set[tuple[str, str]]:
        """(container, backup id) of every backup prefix holding objects."""
        objects = self._service()
        found: set[tuple[str, str]] = set()
        for container in await objects.list_containers(self.account):
            for folded in await objects.list_names(self.account, container, delimiter="/"):
                backup_id = folded.removesuffix("/")
                if folded.endswith("/") and safe_name(container) and safe_name(backup_id):
                    found.add((container, backup_id))
        return found

    async def remove_partials(self) -> int:
        """Nothing: an object PUT never leaves part of an object behind."""
        return 0
