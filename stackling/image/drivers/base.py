"""The image store interface: durable put, ranged get, idempotent delete, crash clean-up."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# Called with a local file holding the complete data before it becomes visible;
# raising refuses the data (nothing is kept).
Verifier = Callable[[Path], Awaitable[None]]


class StoreError(Exception):
    """The store failed (disk full, I/O error...)."""


class SizeExceeded(StoreError):
    """The data went past the allowed size (quota or declared size); nothing was kept."""


class SizeMismatch(StoreError):
    """The data did not have the size the client announced; nothing was kept."""


class NotInStore(StoreError):
    """No data at that location."""


@dataclass(frozen=True, slots=True)
class StoredData:
    """What a completed write left in the store, with the hashes Glance reports."""

    location: str
    size: int
    checksum: str  # md5, Glance's legacy `checksum`
    hash_algo: str  # os_hash_algo
    hash_value: str  # os_hash_value


class ImageStore(Protocol):
    """Where image bytes live. A write is all-or-nothing: readers never see part of one."""

    name: str

    async def put(
        self,
        image_id: str,
        chunks: AsyncIterable[bytes],
        *,
        expected_size: int | None = None,
        max_size: int | None = None,
        verify: Verifier | None = None,
    ) -> StoredData:
        """Store the stream under image_id, hashing as it goes; visible only once complete.

        A store that does not write local files spools to one when given `verify`.
        """
        ...

    def get(
        self, location: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Stream stored bytes, optionally a range of them."""
        ...

    async def delete(self, location: str) -> None:
        """Remove stored data; deleting what is not there is not an error."""
        ...

    async def remove_partials(self) -> int:
        """Remove what interrupted writes left behind (at start-up); how many were removed."""
        ...

    async def locations(self) -> set[str]:
        """Every complete location held, so start-up can match them to image rows."""
        ...
