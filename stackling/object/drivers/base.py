"""The object data interface: durable writes that become visible only when published.

A write lands fsynced under a name of its own (its file id) but unpublished; the
service commits the row that references it, then publishes it. A crash before
the commit leaves an unpublished file nobody references (start-up deletes it);
a crash after it leaves an unpublished file a row references (start-up
publishes it). Readers open a file id whether or not it has been published yet,
so the moment between commit and publish is invisible to them. Published data
never changes: an overwrite is a new file id, and a copy is a new name for the
same bytes (a hard link where the backend has them).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


class StoreError(Exception):
    """The store failed (disk full, I/O error...)."""


class TooLarge(StoreError):
    """The data went past the allowed size; nothing was kept."""


class NotInStore(StoreError):
    """No data under that file id."""


@dataclass(frozen=True, slots=True)
class Written:
    """What a completed, durable (but unpublished) write holds."""

    file_id: str
    size: int
    md5: str  # hex digest of the bytes: Swift's ETag and S3's single-part ETag


class ObjectStore(Protocol):
    """Where object bytes live."""

    name: str

    async def write(self, chunks: AsyncIterable[bytes], *, max_size: int | None = None) -> Written:
        """Store the stream as a new unpublished file, md5 computed while writing.

        The data and its directory entry are on disk when this returns. More than
        `max_size` bytes raises TooLarge; any failure (including the stream's own)
        leaves nothing behind.
        """
        ...

    async def concat(self, file_ids: Sequence[str]) -> Written:
        """A new unpublished file holding the given files' bytes one after another."""
        ...

    async def link(self, file_id: str) -> str:
        """A new unpublished file id with the same bytes (a copy that costs no data)."""
        ...

    async def publish(self, file_ids: Iterable[str]) -> None:
        """Make committed writes permanent; publishing twice or a missing id is no error."""
        ...

    async def discard(self, file_ids: Iterable[str]) -> None:
        """Remove files (published or not); already gone is no error."""
        ...

    async def size(self, file_id: str) -> int:
        """The size of a file's data; NotInStore when it has none."""
        ...

    def read(
        self, file_id: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Stream a file's bytes from offset for length bytes (or to the end).

        NotInStore is raised on the first iteration when the file is missing.
        """
        ...

    async def unpublished(self) -> list[str]:
        """File ids written but not published (for start-up: publish or discard each)."""
        ...

    def published(self) -> AsyncIterator[str]:
        """Every published file id (for an offline consistency check)."""
        ...
