"""An in-memory object store for functional tests and scale simulation; nothing on disk."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence

from stackling.object.drivers.base import NotInStore, TooLarge, Written
from stackling.object.drivers.filesystem import check_file_id, new_file_id

_READ_BYTES = 1 << 20


class FakeObjectStore:
    """Keeps bytes in two dicts, unpublished and published, with the file store's semantics."""

    name = "fake"

    def __init__(self) -> None:
        self._unpublished: dict[str, bytes] = {}
        self._published: dict[str, bytes] = {}

    def _data(self, file_id: str) -> bytes:
        check_file_id(file_id)
        data = self._published.get(file_id, self._unpublished.get(file_id))
        if data is None:
            raise NotInStore(f"no data for file id {file_id}")
        return data

    def _add(self, data: bytes) -> Written:
        file_id = new_file_id()
        self._unpublished[file_id] = data
        return Written(file_id, len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())

    async def write(self, chunks: AsyncIterable[bytes], *, max_size: int | None = None) -> Written:
        """Collect the stream; it is kept only once it has all arrived within max_size."""
        parts: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if max_size is not None and size > max_size:
                raise TooLarge(f"object data is larger than {max_size} bytes")
            parts.append(chunk)
        return self._add(b"".join(parts))

    async def concat(self, file_ids: Sequence[str]) -> Written:
        """A new unpublished file holding the sources' bytes in order."""
        return self._add(b"".join([self._data(f) for f in file_ids]))

    async def link(self, file_id: str) -> str:
        """A new unpublished file id for the same bytes."""
        data = self._data(file_id)
        new_id = new_file_id()
        self._unpublished[new_id] = data
        return new_id

    async def publish(self, file_ids: Iterable[str]) -> None:
        """Move each id from unpublished to published; missing ids are ignored."""
        for file_id in [check_file_id(f) for f in file_ids]:
            data = self._unpublished.pop(file_id, None)
            if data is not None:
                self._published[file_id] = data

    async def discard(self, file_ids: Iterable[str]) -> None:
        """Forget each file, published or not."""
        for file_id in [check_file_id(f) for f in file_ids]:
            self._published.pop(file_id, None)
            self._unpublished.pop(file_id, None)

    async def size(self, file_id: str) -> int:
        """The length of a file's bytes."""
        return len(self._data(file_id))

    async def read(
        self, file_id: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Yield the range in 1 MiB pieces, like the file store."""
        data = self._data(file_id)
        if offset < 0 or (length is not None and length < 0):
            raise ValueError("offset and length must not be negative")
        end = len(data) if length is None else min(len(data), offset + length)
        for pos in range(offset, end, _READ_BYTES):
            yield data[pos : min(pos + _READ_BYTES, end)]

    async def unpublished(self) -> list[str]:
        """Ids written but not published."""
        return list(self._unpublished)

    async def published(self) -> AsyncIterator[str]:
        """Every published id (a snapshot taken when iteration starts)."""
        for file_id in list(self._published):
            yield file_id
