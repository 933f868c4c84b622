"""The token key repository: Fernet keys on disk, rotated like keystone-manage fernet_rotate.

Files are named by integer: 0 is the staged key (next primary, already
accepted so other hosts can be given it before it signs), the highest number
is the primary that signs new tokens, the rest are secondary keys still
accepted until they fall off the end.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet


class KeyRepository:
    """Fernet keys in a directory, readable only by the owner."""

    def __init__(self, path: Path, max_active_keys: int = 3) -> None:
        self.path = path
        self.max_active_keys = max_active_keys

    def _write(self, index: int, key: bytes) -> None:
        tmp = self.path / f".{index}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path / str(index))

    def _indexes(self) -> list[int]:
        return sorted(int(p.name) for p in self.path.iterdir() if p.name.isdigit())

    def ensure(self) -> None:
        """Create the repository with a staged and a primary key if it is empty."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self._indexes():
            self._write(0, Fernet.generate_key())
            self._write(1, Fernet.generate_key())

    def rotate(self) -> None:
        """Promote the staged key to primary, stage a new one, drop the oldest beyond the limit."""
        indexes = self._indexes()
        new_primary = max(indexes) + 1
        os.replace(self.path / "0", self.path / str(new_primary))
        self._write(0, Fernet.generate_key())
        secondaries = [i for i in self._indexes() if i not in (0, new_primary)]
        excess = len(secondaries) + 2 - self.max_active_keys
        for index in secondaries[: max(excess, 0)]:
            (self.path / str(index)).unlink()

    def version(self) -> tuple[tuple[str, int], ...]:
        """Changes whenever a key file is added, replaced or removed (for live reloads)."""
        return tuple(
            sorted((p.name, p.stat().st_mtime_ns) for p in self.path.iterdir() if p.name.isdigit())
        )

    def load(self) -> MultiFernet:
        """The keys as a MultiFernet: primary first (it signs), then the others."""
        indexes = self._indexes()
        order = [max(indexes)] + [i for i in sorted(indexes, reverse=True) if i != max(indexes)]
        return MultiFernet([Fernet((self.path / str(i)).read_bytes().strip()) for i in order])
