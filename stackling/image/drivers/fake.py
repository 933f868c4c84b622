"""An in-memory image store for tests: same contract as the real ones, nothing on disk."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from stackling.image.drivers.base import (
    NotInStore,
    SizeExceeded,
    SizeMismatch,
    StoredData,
    Verifier,
)
from stackling.image.drivers.hashing import HASH_ALGO, DataHasher

SCHEME = "fake://"


class FakeStore:
    """Holds image bytes in a dict; a write becomes visible only when complete."""

    name = "fake"

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    async def put(
        self,
        image_id: str,
        chunks: AsyncIterable[bytes],
        *,
        expected_size: int | None = None,
        max_size: int | None = None,
        verify: Verifier | None = None,
    ) -> StoredData:
        """Collect the stream, check sizes, let `verify` see a spooled copy, then publish it."""
        hasher = DataHasher()
        parts: list[bytes] = []
        async for chunk in chunks:
            hasher.update(chunk)
            parts.append(chunk)
            if max_size is not None and hasher.size > max_size:
                raise SizeExceeded(f"image data is larger than {max_size} bytes")
            if expected_size is not None and hasher.size > expected_size:
                raise SizeMismatch(f"image data is larger than {expected_size} bytes")
        if expected_size is not None and hasher.size != expected_size:
            raise SizeMismatch(f"got {hasher.size} bytes, {expected_size} were announced")
        data = b"".join(parts)
        if verify is not None:
            with tempfile.TemporaryDirectory() as tmp:
                spooled = Path(tmp) / image_id
                spooled.write_bytes(data)
                await verify(spooled)
        location = f"{SCHEME}{image_id}"
        self._data[location] = data
        return StoredData(location, hasher.size, hasher.checksum, HASH_ALGO, hasher.hash_value)

    async def get(
        self, location: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Yield the requested slice in one piece."""
        try:
            data = self._data[location]
        except KeyError:
            raise NotInStore(location) from None
        end = len(data) if length is None else offset + length
        yield data[offset:end]

    async def delete(self, location: str) -> None:
        """Forget the data."""
        self._data.pop(location, None)

    async def remove_partials(self) -> int:
        """Nothing partial is ever kept."""
        return 0

    async def locations(self) -> set[str]:
        """Every stored location."""
        return set(self._data)
