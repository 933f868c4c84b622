"""The hashes Glance reports for image data, computed while the data streams."""

from __future__ import annotations

import hashlib

HASH_ALGO = "sha512"


class DataHasher:
    """md5 (Glance's `checksum`) and sha512 (`os_hash_value`) over the same bytes."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha = hashlib.new(HASH_ALGO)
        self.size = 0

    def update(self, chunk: bytes) -> None:
        """Feed the next chunk (hashlib releases the GIL for large buffers)."""
        self._md5.update(chunk)
        self._sha.update(chunk)
        self.size += len(chunk)

    @property
    def checksum(self) -> str:
        """md5 hex digest."""
        return self._md5.hexdigest()

    @property
    def hash_value(self) -> str:
        """sha512 hex digest."""
        return self._sha.hexdigest()
