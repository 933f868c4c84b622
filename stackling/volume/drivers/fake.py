"""An in-memory volume backend for tests only: nothing touches the disk."""

from __future__ import annotations

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
