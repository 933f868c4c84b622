"""An image store in the object service (Glance's swift store, without the HTTP).

Each image is one object, named by its id, in container `glance` of the
internal account "stackling-image" (see stackling/object/internal.py: no
project's token reaches it). An object PUT is all-or-nothing, so a crash never
leaves part of an image visible, and the object service's own start-up settles
interrupted writes: nothing partial is left here to remove, except spooled
copies (below).

When the image service wants to inspect the data (`verify`), the stream is also
spooled to a file under <root>/.spool while it goes to the object service, and
the check runs once both hold the complete data, before the object is
committed. The object service is reached lazily, through the runtime, since it
starts after the image store is built.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable
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
from stackling.object.internal import (
    InternalObjects,
    ObjectMissing,
    ObjectStorageError,
    ObjectUnavailable,
)

SCHEME = "object://"
ACCOUNT = "stackling-image"
CONTAINER = "glance"
# Slices hashed on a worker thread at once: the thread hop is noise at this size.
_SLICE_BYTES = 1 << 20


class ObjectImageStore:
    """Image data as objects of the object service."""

    name = "object"

    def __init__(
        self,
        root: Path,
        objects: Callable[[], InternalObjects],
        *,
        account: str = ACCOUNT,
        container: str = CONTAINER,
    ) -> None:
        self.root = root
        self.spool = root / ".spool"
        self._objects = objects
        self.account = account
        self.container = container

    def _service(self) -> InternalObjects:
        try:
            return self._objects()
        except ObjectUnavailable as exc:
            raise StoreError(str(exc)) from exc

    def location_of(self, image_id: str) -> str:
        """The location data for `image_id` has (or would have) in this store."""
        return f"{SCHEME}{self.account}/{self.container}/{image_id}"

    def _name(self, location: str) -> str:
        prefix = self.location_of("")
        name = location[len(prefix) :] if location.startswith(prefix) else ""
        if not name or "/" in name:
            raise NotInStore(f"not a location of this store: {location}")
        return name

    async def put(
        self,
        image_id: str,
        chunks: AsyncIterable[bytes],
        *,
        expected_size: int | None = None,
        max_size: int | None = None,
        verify: Verifier | None = None,
    ) -> StoredData:
        """Stream to the object service, hashing (and spooling for `verify`) on the way."""
        if not image_id or "/" in image_id or image_id.startswith("."):
            raise StoreError(f"invalid image id {image_id!r}")
        objects = self._service()
        limit = min(x for x in (expected_size, max_size, 1 << 62) if x is not None)
        hasher = DataHasher()
        spooled: Path | None = None
        fh: BinaryIO | None = None
        if verify is not None:
            await asyncio.to_thread(self.spool.mkdir, parents=True, exist_ok=True, mode=0o700)
            spooled = self.spool / f"{image_id}.{secrets.token_hex(6)}"
            fh = await asyncio.to_thread(open, spooled, "xb")

        async def metered() -> AsyncIterator[bytes]:
            pending: list[bytes] = []
            pending_size = 0
            async for chunk in chunks:
                if not chunk:
                    continue
                pending.append(chunk)
                pending_size += len(chunk)
                if hasher.size + pending_size > limit:
                    raise (SizeMismatch if limit == expected_size else SizeExceeded)(
                        f"image data is larger than {limit} bytes"
                    )
                if pending_size >= _SLICE_BYTES:
                    yield await self._take(hasher, fh, pending)
                    pending, pending_size = [], 0
            if pending:
                yield await self._take(hasher, fh, pending)
            if expected_size is not None and hasher.size != expected_size:
                raise SizeMismatch(f"got {hasher.size} bytes, {expected_size} were announced")

        async def check() -> None:
            if verify is not None and fh is not None and spooled is not None:
                await asyncio.to_thread(fh.flush)
                await verify(spooled)

        try:
            await objects.put(
                self.account,
                self.container,
                image_id,
                metered(),
                before_commit=check if verify is not None else None,
            )
        except ObjectStorageError as exc:
            raise StoreError(str(exc)) from exc
        finally:
            if fh is not None and spooled is not None:
                await asyncio.to_thread(_remove, fh, spooled)
        return StoredData(
            location=self.location_of(image_id),
            size=hasher.size,
            checksum=hasher.checksum,
            hash_algo=HASH_ALGO,
            hash_value=hasher.hash_value,
        )

    @staticmethod
    async def _take(hasher: DataHasher, fh: BinaryIO | None, pending: list[bytes]) -> bytes:
        """One slice, hashed (and spooled) on a worker thread, ready to go on."""
        data = b"".join(pending)
        if fh is None:
            await asyncio.to_thread(hasher.update, data)
        else:
            await asyncio.to_thread(hasher.update_parallel, data, fh.write)
        return data

    async def get(
        self, location: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """Stream the object's bytes, or a range of them."""
        name = self._name(location)
        objects = self._service()
        try:
            async for chunk in objects.read(
                self.account, self.container, name, offset=offset, length=length
            ):
                yield chunk
        except ObjectMissing as exc:
            raise NotInStore(location) from exc
        except ObjectStorageError as exc:
            raise StoreError(str(exc)) from exc

    async def delete(self, location: str) -> None:
        """Delete the object; already gone is fine."""
        await self._service().delete(self.account, self.container, self._name(location))

    async def remove_partials(self) -> int:
        """Remove spooled copies a crash left; interrupted writes are the object service's."""

        def _sweep() -> int:
            if not self.spool.is_dir():
                return 0
            removed = 0
            for leftover in self.spool.iterdir():
                leftover.unlink(missing_ok=True)
                removed += 1
            return removed

        return await asyncio.to_thread(_sweep)

    async def locations(self) -> set[str]:
        """The location of every image object in the container."""
        names = await self._service().list_names(self.account, self.container)
        return {self.location_of(name) for name in names}


def _remove(fh: BinaryIO, path: Path) -> None:
    fh.close()
    path.unlink(missing_ok=True)
