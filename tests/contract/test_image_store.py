"""The ImageStore contract, run against every implementation."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stackling.image.drivers.base import (
    ImageStore,
    NotInStore,
    SizeExceeded,
    SizeMismatch,
    StoreError,
)
from stackling.image.drivers.object_store import ACCOUNT, CONTAINER
from stackling.image.drivers.registry import DRIVERS, make_store
from stackling.object.internal import InternalObjects
from tests.support.object_service import internal_objects


@pytest.fixture(params=DRIVERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ImageStore]:
    """Each store implementation, on a fresh directory (the object one on its own service)."""
    if request.param != "object":
        yield make_store(request.param, tmp_path / "images")
        return
    async with internal_objects(tmp_path) as objects:
        yield make_store("object", tmp_path / "images", lambda: objects)


@pytest.fixture
async def objects(tmp_path: Path) -> AsyncIterator[InternalObjects]:
    """An object service's in-process API, for checks of what the object store keeps."""
    async with internal_objects(tmp_path) as objects:
        yield objects


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


async def test_object_store_keeps_each_image_as_one_internal_object(
    objects: InternalObjects, tmp_path: Path
) -> None:
    store = make_store("object", tmp_path / "images", lambda: objects)
    data = os.urandom(2 * 1024 * 1024 + 5)
    stored = await store.put("img-o", _chunks(data), expected_size=len(data))
    assert stored.location == f"object://{ACCOUNT}/{CONTAINER}/img-o"
    assert await objects.list_names(ACCOUNT, CONTAINER) == ["img-o"]
    assert b"".join([c async for c in objects.read(ACCOUNT, CONTAINER, "img-o")]) == data
    # Another image's data cannot be named through a location outside the container.
    for foreign in ("object://stackling-image/other/img-o", "object://x/glance/img-o", "file:///x"):
        with pytest.raises(NotInStore):
            await _read(store, foreign)
    await store.delete(stored.location)
    assert not await objects.exists(ACCOUNT, CONTAINER, "img-o")


async def test_object_store_refusals_leave_no_data_in_the_object_service(
    objects: InternalObjects, tmp_path: Path
) -> None:
    store = make_store("object", tmp_path / "images", lambda: objects)

    async def refuse(path: Path) -> None:
        raise ValueError("not a disk image")

    with pytest.raises(SizeExceeded):
        await store.put("img-a", _chunks(b"y" * 3_000_000), max_size=2_000_000)
    with pytest.raises(ValueError):
        await store.put("img-b", _chunks(b"abcdef"), verify=refuse)
    assert await objects.list_names(ACCOUNT, CONTAINER) == []
    # Neither unpublished bytes in the object store nor spooled copies are left over.
    assert await objects.svc.store.unpublished() == []
    assert list((tmp_path / "images" / ".spool").iterdir()) == []


async def test_object_store_sweeps_spooled_copies_and_needs_the_service(tmp_path: Path) -> None:
    store = make_store("object", tmp_path / "images")
    spool = tmp_path / "images" / ".spool"
    spool.mkdir(parents=True)
    (spool / "img-x.abc").write_bytes(b"half")
    assert await store.remove_partials() == 1
    with pytest.raises(StoreError, match="without the object service"):
        await store.put("img-n", _chunks(b"data"))
