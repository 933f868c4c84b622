"""The ImageStore contract, run against every implementation."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stackling.image.drivers.base import ImageStore, NotInStore, SizeExceeded, SizeMismatch
from stackling.image.drivers.registry import make_store


@pytest.fixture(params=["file", "fake"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ImageStore:
    """Each store implementation, on a fresh directory."""
    return make_store(request.param, tmp_path / "images")


async def _chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _read(store: ImageStore, location: str, **kw: int) -> bytes:
    return b"".join([c async for c in store.get(location, **kw)])


async def test_put_then_get_returns_the_same_bytes_and_hashes(store: ImageStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    stored = await store.put("img-1", _chunks(data), expected_size=len(data))
    assert stored.size == len(data)
    assert stored.checksum == hashlib.md5(data).hexdigest()
    assert stored.hash_algo == "sha512"
    assert stored.hash_value == hashlib.sha512(data).hexdigest()
    assert await _read(store, stored.location) == data
    assert stored.location in await store.locations()


async def test_ranges(store: ImageStore) -> None:
    data = bytes(range(256)) * 8192
    stored = await store.put("img-r", _chunks(data))
    assert await _read(store, stored.location, offset=1000, length=5000) == data[1000:6000]
    assert await _read(store, stored.location, offset=len(data) - 3) == data[-3:]


async def test_too_much_data_keeps_nothing(store: ImageStore) -> None:
    data = b"x" * 200_000
    with pytest.raises(SizeExceeded):
        await store.put("img-big", _chunks(data), max_size=100_000)
    with pytest.raises(SizeMismatch):
        await store.put("img-big", _chunks(data), expected_size=1000)
    assert await store.locations() == set()


async def test_short_data_is_a_size_mismatch(store: ImageStore) -> None:
    with pytest.raises(SizeMismatch):
        await store.put("img-short", _chunks(b"abc"), expected_size=10)
    assert await store.locations() == set()


async def test_a_failing_stream_leaves_nothing_visible(store: ImageStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"a" * 2_000_000
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        await store.put("img-broken", broken())
    assert await store.locations() == set()
    assert await store.remove_partials() == 0


async def test_delete_is_idempotent(store: ImageStore) -> None:
    stored = await store.put("img-d", _chunks(b"data"))
    await store.delete(stored.location)
    await store.delete(stored.location)
    with pytest.raises(NotInStore):
        await _read(store, stored.location)


async def test_filesystem_partials_are_swept_and_foreign_paths_refused(tmp_path: Path) -> None:
    store = make_store("file", tmp_path / "images")
    (tmp_path / "images" / ".partial" / "img-x.abc").write_bytes(b"half")
    assert await store.remove_partials() == 1
    with pytest.raises(NotInStore):
        await _read(store, "file:///etc/passwd")


async def test_verify_refusal_keeps_nothing(store: ImageStore) -> None:
    seen: list[bytes] = []

    async def refuse(path: Path) -> None:
        seen.append(await asyncio.to_thread(path.read_bytes))
        raise ValueError("not a disk image")

    with pytest.raises(ValueError):
        await store.put("img-v", _chunks(b"abcdef", 3), verify=refuse)
    assert seen == [b"abcdef"]
    assert await store.locations() == set()


async def test_verify_sees_complete_data_before_it_is_visible(store: ImageStore) -> None:
    async def accept(path: Path) -> None:
        assert await asyncio.to_thread(path.read_bytes) == b"abcdef"
        assert await store.locations() == set()

    stored = await store.put("img-w", _chunks(b"abcdef", 3), verify=accept)
    assert await store.locations() == {stored.location}
