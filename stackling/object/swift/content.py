"""An object's bytes as a list of pieces of stored files, and Range requests over them.

A plain object is one piece; a large object (SLO or DLO) is its segments'
pieces in order. Ranges, multi-range responses and copies all work on that
list, so they need not know what kind of object they serve.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from stackling.object.drivers.base import ObjectStore

_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
MAX_RANGES = 50


@dataclass(frozen=True, slots=True)
class Piece:
    """`length` bytes of a stored file from `start`."""

    file_id: str
    start: int
    length: int


@dataclass(frozen=True, slots=True)
class Content:
    """An object's bytes: its pieces in order."""

    pieces: tuple[Piece, ...]

    @property
    def size(self) -> int:
        """Total length."""
        return sum(p.length for p in self.pieces)

    @classmethod
    def whole(cls, file_id: str, size: int) -> Content:
        """One file, all of it."""
        return cls((Piece(file_id, 0, size),))


def parse_ranges(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """(first, last) byte pairs of a Range header; None to ignore it, [] when unsatisfiable.

    As Swift: a header that does not parse is ignored (the whole object is
    served); parts that begin past the end are dropped; none left is a 416.
    """
    if not header or not header.strip().lower().startswith("bytes="):
        return None
    specs = header.strip()[6:].split(",")
    if len(specs) > MAX_RANGES:
        return None
    out: list[tuple[int, int]] = []
    for spec in specs:
        match = _RANGE.match(spec)
        if match is None:
            return None
        first_s, last_s = match.groups()
        if not first_s and not last_s:
            return None
        if not first_s:
            suffix = int(last_s)
            if suffix == 0:
                continue
            out.append((max(size - suffix, 0), size - 1))
            continue
        first = int(first_s)
        last = int(last_s) if last_s else size - 1
        if last < first:
            return None
        if first >= size:
            continue
        out.append((first, min(last, size - 1)))
    if size == 0:
        return None
    return out


async def stream(
    store: ObjectStore, content: Content, offset: int = 0, length: int | None = None
) -> AsyncIterator[bytes]:
    """The bytes of `content` from offset for length (or to the end)."""
    remaining = content.size - offset if length is None else length
    skip = offset
    for piece in content.pieces:
        if remaining <= 0:
            break
        if skip >= piece.length:
            skip -= piece.length
            continue
        take = min(piece.length - skip, remaining)
        async for chunk in store.read(piece.file_id, offset=piece.start + skip, length=take):
            yield chunk
        remaining -= take
        skip = 0


def boundary() -> str:
    """A multipart/byteranges boundary."""
    return os.urandom(16).hex()


async def multirange(
    store: ObjectStore,
    content: Content,
    ranges: list[tuple[int, int]],
    content_type: str,
    mark: str,
) -> AsyncIterator[bytes]:
    """A multipart/byteranges body of the given ranges."""
    total = content.size
    for first, last in ranges:
        head = (
            f"--{mark}\r\nContent-Type: {content_type}\r\n"
            f"Content-Range: bytes {first}-{last}/{total}\r\n\r\n"
        )
        yield head.encode()
        async for chunk in stream(store, content, first, last - first + 1):
            yield chunk
        yield b"\r\n"
    yield f"--{mark}--".encode()


def multirange_length(
    ranges: list[tuple[int, int]], content_type: str, mark: str, total: int
) -> int:
    """The exact length of the multirange body (so the response has a Content-Length)."""
    size = 0
    for first, last in ranges:
        head = (
            f"--{mark}\r\nContent-Type: {content_type}\r\n"
            f"Content-Range: bytes {first}-{last}/{total}\r\n\r\n"
        )
        size += len(head.encode()) + (last - first + 1) + 2
    return size + len(f"--{mark}--".encode())
