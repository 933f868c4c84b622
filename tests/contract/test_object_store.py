"""The ObjectStore contract, run against every implementation, plus the file layout."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from stackling.object.drivers.base import NotInStore, ObjectStore, TooLarge, Written
from stackling.object.drivers.filesystem import FilesystemStore
from stackling.object.drivers.registry import DRIVERS, make_store

MIB = 1 << 20


@pytest.fixture(params=DRIVERS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """Each store implementation, on a fresh directory."""
    return make_store(request.param, tmp_path / "objects")


@pytest.fixture
def file_store(tmp_path: Path) -> FilesystemStore:
    """The filesystem store, for checks of what it leaves on disk."""
    return FilesystemStore(tmp_path / "objects")


async def _chunks(data: bytes, size: int = 65521) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _read(store: ObjectStore, file_id: str, **kw: int) -> bytes:
    return b"".join([c async for c in store.read(file_id, **kw)])


async def _published(store: ObjectStore) -> list[str]:
    return [f async for f in store.published()]


async def _put(store: ObjectStore, data: bytes) -> Written:
    return await store.write(_chunks(data))


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.mark.parametrize("size", [0, 1, 65521, MIB - 1, MIB, MIB + 1, 3 * MIB + 17])
async def test_write_then_read_returns_the_same_bytes_and_md5(
    store: ObjectStore, size: int
) -> None:
    data = os.urandom(size)
    written = await _put(store, data)
    assert written.size == size
    assert written.md5 == _md5(data)
    assert len(written.file_id) == 32
    assert await _read(store, written.file_id) == data
    assert await store.size(written.file_id) == size


async def test_uneven_and_empty_chunks(store: ObjectStore) -> None:
    rng = random.Random(7)
    parts = [os.urandom(rng.choice([0, 1, 17, 4096, 300_000, 2 * MIB])) for _ in range(30)]

    async def stream() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    data = b"".join(parts)
    written = await store.write(stream())
    assert (written.size, written.md5) == (len(data), _md5(data))
    assert await _read(store, written.file_id) == data


async def test_an_empty_stream_is_an_empty_file(store: ObjectStore) -> None:
    written = await _put(store, b"")
    assert (written.size, written.md5) == (0, _md5(b""))
    assert await _read(store, written.file_id) == b""
    assert [c async for c in store.read(written.file_id)] == []


@pytest.mark.parametrize(
    ("offset", "length"),
    [
        (1000, None),
        (1000, 5000),
        (0, MIB),
        (MIB - 10, 20),
        (10, 2 * MIB + 3),
        (3 * MIB, 10 * MIB),
        (3 * MIB + 99, None),
        (3 * MIB + 500, 10),
        (5, 0),
    ],
)
async def test_ranged_reads(store: ObjectStore, offset: int, length: int | None) -> None:
    data = os.urandom(3 * MIB + 100)
    written = await _put(store, data)
    kw = {"offset": offset} if length is None else {"offset": offset, "length": length}
    end = None if length is None else offset + length
    got = [c async for c in store.read(written.file_id, **kw)]
    assert b"".join(got) == data[offset:end]
    assert all(0 < len(c) <= MIB for c in got)


async def test_too_much_data_keeps_nothing(store: ObjectStore) -> None:
    with pytest.raises(TooLarge):
        await store.write(_chunks(b"x" * (3 * MIB)), max_size=2 * MIB + 5)
    with pytest.raises(TooLarge):
        await store.write(_chunks(b"x" * 11), max_size=10)
    assert await store.unpublished() == []
    assert await _published(store) == []


async def test_exactly_max_size_is_accepted(store: ObjectStore) -> None:
    written = await store.write(_chunks(b"y" * 10), max_size=10)
    assert written.size == 10


async def test_too_much_data_leaves_no_file(file_store: FilesystemStore) -> None:
    with pytest.raises(TooLarge):
        await file_store.write(_chunks(b"x" * (3 * MIB)), max_size=2 * MIB + 5)
    assert _files(file_store.root) == []


@pytest.mark.parametrize("before", [0, 10, 2 * MIB + 1])
async def test_a_failing_stream_leaves_nothing(
    store: ObjectStore, tmp_path: Path, before: int
) -> None:
    async def broken() -> AsyncIterator[bytes]:
        if before:
            yield b"a" * before
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        await store.write(broken())
    assert await store.unpublished() == []
    assert await _published(store) == []
    assert _files(tmp_path) == []


async def test_a_cancelled_write_leaves_nothing(store: ObjectStore, tmp_path: Path) -> None:
    sent = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        yield b"b" * (3 * MIB)
        sent.set()
        await asyncio.Event().wait()
        yield b"never"

    task = asyncio.create_task(store.write(stalls()))
    await sent.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.unpublished() == []
    assert _files(tmp_path) == []


async def test_unpublished_until_published_and_readable_throughout(store: ObjectStore) -> None:
    written = await _put(store, b"hello")
    assert await store.unpublished() == [written.file_id]
    assert await _published(store) == []
    assert await _read(store, written.file_id) == b"hello"

    await store.publish([written.file_id])
    assert await store.unpublished() == []
    assert await _published(store) == [written.file_id]
    assert await _read(store, written.file_id) == b"hello"
    assert await store.size(written.file_id) == 5


async def test_publish_is_idempotent_and_ignores_missing_ids(store: ObjectStore) -> None:
    written = await _put(store, b"twice")
    await store.publish([written.file_id])
    await store.publish([written.file_id, "0" * 32])
    assert await _published(store) == [written.file_id]
    assert await _read(store, written.file_id) == b"twice"


async def test_discard_published_unpublished_and_missing(store: ObjectStore) -> None:
    kept = await _put(store, b"kept")
    published = await _put(store, b"published")
    unpublished = await _put(store, b"unpublished")
    await store.publish([kept.file_id, published.file_id])

    await store.discard([published.file_id, unpublished.file_id, "f" * 32])
    await store.discard([published.file_id])
    for gone in (published.file_id, unpublished.file_id):
        with pytest.raises(NotInStore):
            await _read(store, gone)
        with pytest.raises(NotInStore):
            await store.size(gone)
    assert await store.unpublished() == []
    assert await _published(store) == [kept.file_id]
    assert await _read(store, kept.file_id) == b"kept"


async def test_missing_file_is_not_in_store(store: ObjectStore) -> None:
    with pytest.raises(NotInStore):
        await _read(store, "a" * 32)
    with pytest.raises(NotInStore):
        await store.size("a" * 32)
    with pytest.raises(NotInStore):
        await store.link("a" * 32)


@pytest.mark.parametrize("publish_source", [True, False])
async def test_link_has_the_same_bytes_and_outlives_its_source(
    store: ObjectStore, publish_source: bool
) -> None:
    data = os.urandom(MIB + 5)
    source = await _put(store, data)
    if publish_source:
        await store.publish([source.file_id])
    copy = await store.link(source.file_id)
    assert copy != source.file_id
    assert copy in await store.unpublished()
    assert await _read(store, copy) == data

    await store.discard([source.file_id])
    assert await _read(store, copy) == data
    await store.publish([copy])
    assert await _published(store) == [copy]
    assert await _read(store, copy) == data


async def test_link_shares_the_inode(file_store: FilesystemStore) -> None:
    source = await _put(file_store, b"shared")
    await file_store.publish([source.file_id])
    copy = await file_store.link(source.file_id)
    published = file_store.root / "data" / source.file_id[:2] / source.file_id
    linked = file_store.root / ".partial" / copy
    assert published.stat().st_ino == linked.stat().st_ino


async def test_concat_of_three_files(store: ObjectStore) -> None:
    parts = [os.urandom(2 * MIB + 3), b"", os.urandom(12345), os.urandom(MIB)]
    written = [await _put(store, p) for p in parts]
    await store.publish([written[0].file_id])
    whole = await store.concat([w.file_id for w in written])
    data = b"".join(parts)
    assert (whole.size, whole.md5) == (len(data), _md5(data))
    assert await _read(store, whole.file_id) == data
    assert whole.file_id in await store.unpublished()
    # The sources are untouched.
    for w, p in zip(written, parts, strict=True):
        assert await _read(store, w.file_id) == p


async def test_concat_repeats_a_source_given_twice(store: ObjectStore) -> None:
    a = await _put(store, b"ab")
    whole = await store.concat([a.file_id, a.file_id])
    assert await _read(store, whole.file_id) == b"abab"


async def test_concat_with_a_missing_source_keeps_nothing(
    store: ObjectStore, tmp_path: Path
) -> None:
    a = await _put(store, b"a" * 1000)
    with pytest.raises(NotInStore):
        await store.concat([a.file_id, "b" * 32])
    assert await store.unpublished() == [a.file_id]
    assert len(_files(tmp_path)) == (1 if isinstance(store, FilesystemStore) else 0)


async def test_concat_without_copy_file_range(
    file_store: FilesystemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(*args: object) -> int:
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(os, "copy_file_range", unsupported)
    parts = [os.urandom(9 * MIB + 1), os.urandom(7)]
    written = [await _put(file_store, p) for p in parts]
    whole = await file_store.concat([w.file_id for w in written])
    assert whole.md5 == _md5(b"".join(parts))
    assert await _read(file_store, whole.file_id) == b"".join(parts)


BAD_IDS = [
    "../x",
    "",
    "ABC",
    "A" * 32,
    "g" * 32,
    "a" * 31,
    "a" * 33,
    "a" * 32 + "\n",
    "../" + "a" * 29,
]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_invalid_ids_are_not_in_store(store: ObjectStore, bad: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: _read(store, bad),
        lambda: store.size(bad),
        lambda: store.link(bad),
        lambda: store.concat([bad]),
        lambda: store.publish([bad]),
        lambda: store.discard([bad]),
    ]
    for call in calls:
        with pytest.raises(NotInStore):
            await call()  # type: ignore[misc]


async def test_published_lists_published_ids_only(store: ObjectStore) -> None:
    written = [await _put(store, bytes([i]) * i) for i in range(6)]
    await store.publish([w.file_id for w in written[:4]])
    assert sorted(await _published(store)) == sorted(w.file_id for w in written[:4])
    assert sorted(await store.unpublished()) == sorted(w.file_id for w in written[4:])


async def test_concurrent_writes_are_distinct_and_correct(store: ObjectStore) -> None:
    blobs = [os.urandom(i * 40_000 + i) for i in range(50)]
    written = await asyncio.gather(*(_put(store, b) for b in blobs))
    assert len({w.file_id for w in written}) == 50
    for w, blob in zip(written, blobs, strict=True):
        assert (w.size, w.md5) == (len(blob), _md5(blob))
        assert await _read(store, w.file_id) == blob


# The file driver's layout and crash behaviour.


def test_layout_is_made_at_construction(file_store: FilesystemStore) -> None:
    root = file_store.root
    assert (root / ".partial").is_dir()
    subdirs = sorted(p.name for p in (root / "data").iterdir())
    assert subdirs == [f"{i:02x}" for i in range(256)]
    assert (root.stat().st_mode & 0o077) == 0
    assert ((root / "data" / "ab").stat().st_mode & 0o077) == 0


async def test_a_write_in_progress_is_only_under_partial(file_store: FilesystemStore) -> None:
    root = file_store.root
    sent = asyncio.Event()
    go_on = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        # The store hands the first slice to a worker thread once it has a MiB,
        # and goes on receiving while that slice is written.
        yield b"c" * MIB
        yield b"c" * MIB
        sent.set()
        await go_on.wait()
        yield b"d" * 10

    task = asyncio.create_task(file_store.write(slow()))
    await sent.wait()
    for _ in range(500):  # the worker thread creates the file; a bounded wait for it
        found = list((root / ".partial").iterdir())
        if found:
            break
        await asyncio.sleep(0.01)
    [partial] = found
    assert not [p for p in (root / "data").rglob("*") if p.is_file()]

    go_on.set()
    written = await task
    assert partial.name == written.file_id
    assert partial.stat().st_size == written.size == 2 * MIB + 10
    published = root / "data" / written.file_id[:2] / written.file_id
    assert not published.exists()

    await file_store.publish([written.file_id])
    assert published.stat().st_size == written.size
    assert not partial.exists()


async def test_a_partial_left_by_a_crash_is_reported_after_restart(tmp_path: Path) -> None:
    FilesystemStore(tmp_path / "objects")
    file_id = "0123456789abcdef" * 2
    (tmp_path / "objects" / ".partial" / file_id).write_bytes(b"survivor")

    restarted = FilesystemStore(tmp_path / "objects")
    assert await restarted.unpublished() == [file_id]
    assert await _read(restarted, file_id) == b"survivor"
    await restarted.publish([file_id])
    assert await _published(restarted) == [file_id]


async def test_junk_in_partial_is_removed(file_store: FilesystemStore) -> None:
    partial = file_store.root / ".partial"
    written = await _put(file_store, b"real")
    (partial / "junk.tmp").write_bytes(b"x")
    (partial / ("A" * 32)).write_bytes(b"x")
    (partial / "leftover-dir").mkdir()
    (partial / "leftover-dir" / "f").write_bytes(b"x")

    assert await file_store.unpublished() == [written.file_id]
    assert sorted(p.name for p in partial.iterdir()) == [written.file_id]


async def test_a_read_finds_a_file_published_meanwhile(file_store: FilesystemStore) -> None:
    data = os.urandom(3 * MIB)
    written = await _put(file_store, data)
    reader = file_store.read(written.file_id)
    first = await anext(reader)
    await file_store.publish([written.file_id])
    rest = [c async for c in reader]
    assert first + b"".join(rest) == data
