"""A filesystem image store: temp file, hash while writing, fsync, atomic rename.

Complete images live at <root>/<image_id>; writes in progress live under
<root>/.partial/ and only become visible by rename once their size and hashes
are known and their bytes are on disk. A crash leaves at most a file under
.partial/, which remove_partials() deletes at start-up.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterable, AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import BinaryIO

from stackling.image.drivers.base import (
    NotInStore,
    SizeExceeded,
    SizeMismatch,
    StoredData,
    StoreError,
    Verifier,
)
from stackling.image.drivers.hashing import HASH_ALGO, DataHasher

# Data is handed to the worker thread in slices of this size: large enough that
# the thread hop is noise, small enough that memory stays flat whatever the image.
_FLUSH_BYTES = 1 << 20
_WRITERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="image-write")
_READ_BYTES = 4 << 20
SCHEME = "file://"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemStore:
    """Image data as files under one directory."""

    name = "file"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.partial = root / ".partial"
        self.partial.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, location: str) -> Path:
        if not location.startswith(SCHEME):
            raise NotInStore(f"not a location of this store: {location}")
        path = Path(location[len(SCHEME) :])
        if path.parent != self.root or path.name.startswith("."):
            raise NotInStore(f"not a location of this store: {location}")
        return path

    @staticmethod
    def _write(fh: BinaryIO, hasher: DataHasher, data: bytes) -> None:
        hasher.update_parallel(data, fh.write)

    async def put(
        self,
        image_id: str,
        chunks: AsyncIterable[bytes],
        *,
        expected_size: int | None = None,
        max_size: int | None = None,
        verify: Verifier | None = None,
    ) -> StoredData:
        """Write to a temp file, verify it, then fsync and rename it into place."""
        if "/" in image_id or image_id.startswith(".") or not image_id:
            raise StoreError(f"invalid image id {image_id!r}")
        limit = min(x for x in (expected_size, max_size, 1 << 62) if x is not None)
        tmp = self.partial / f"{image_id}.{secrets.token_hex(6)}"
        hasher = DataHasher()
        fh = await asyncio.to_thread(open, tmp, "xb")
        # One slice is written and hashed on a worker thread while the next one
        # is received: the two overlap instead of taking turns.
        job: Future[None] | None = None
        try:
            pending: list[bytes] = []
            pending_size = 0
            received = 0
            async for chunk in chunks:
                if not chunk:
                    continue
                pending.append(chunk)
                pending_size += len(chunk)
                received += len(chunk)
                if received > limit:
                    raise (SizeMismatch if limit == expected_size else SizeExceeded)(
                        f"image data is larger than {limit} bytes"
                    )
                if pending_size >= _FLUSH_BYTES:
                    if job is not None:
                        await asyncio.wrap_future(job)
                    job = _WRITERS.submit(self._write, fh, hasher, b"".join(pending))
                    pending, pending_size = [], 0
            if job is not None:
                await asyncio.wrap_future(job)
            if pending:
                await asyncio.to_thread(self._write, fh, hasher, b"".join(pending))
            if expected_size is not None and hasher.size != expected_size:
                raise SizeMismatch(f"got {hasher.size} bytes, {expected_size} were announced")
            if verify is not None:
                await asyncio.to_thread(fh.flush)
                await verify(tmp)
            await asyncio.to_thread(self._seal, fh, tmp, self.root / image_id)
        except BaseException:
            if job is not None:
                # The file may only be closed once the write in flight is over.
                await asyncio.to_thread(wait, [job])
            await asyncio.to_thread(self._discard, fh, tmp)
            raise
        return StoredData(
            location=self.location_of(image_id),
            size=hasher.size,
            checksum=hasher.checksum,
            hash_algo=HASH_ALGO,
            hash_value=hasher.hash_value,
        )

    def _seal(self, fh: BinaryIO, tmp: Path, final: Path) -> None:
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(tmp, final)
        _fsync_dir(self.root)

    @staticmethod
    def _discard(fh: BinaryIO, tmp: Path) -> None:
        fh.close()
        tmp.unlink(missing_ok=True)

    async def get(
        self, location: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Read in 1 MiB pieces from offset, for length bytes (or to the end)."""
        path = self._path(location)
        try:
            fh = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise NotInStore(location) from None
        try:
            await asyncio.to_thread(fh.seek, offset)
            remaining = length
            while remaining is None or remaining > 0:
                want = _READ_BYTES if remaining is None else min(_READ_BYTES, remaining)
                data = await asyncio.to_thread(fh.read, want)
                if not data:
                    break
                if remaining is not None:
                    remaining -= len(data)
                yield data
        finally:
            await asyncio.to_thread(fh.close)

    def local_path(self, location: str) -> Path:
        """The file holding a location's data (for tools that need a path, like qemu-img)."""
        return self._path(location)

    def location_of(self, image_id: str) -> str:
        """The location complete data for `image_id` has (or would have)."""
        return f"{SCHEME}{self.root / image_id}"

    async def delete(self, location: str) -> None:
        """Unlink the file; already gone is fine."""
        path = self._path(location)
        await asyncio.to_thread(path.unlink, True)

    async def remove_partials(self) -> int:
        """Delete every interrupted write."""

        def _sweep() -> int:
            removed = 0
            for leftover in self.partial.iterdir():
                leftover.unlink(missing_ok=True)
                removed += 1
            return removed

        return await asyncio.to_thread(_sweep)

    async def locations(self) -> set[str]:
        """Locations of every complete image file."""

        def _list() -> set[str]:
            return {
                f"{SCHEME}{p}"
                for p in self.root.iterdir()
                if p.is_file() and not p.name.startswith(".")
            }

        return await asyncio.to_thread(_list)
