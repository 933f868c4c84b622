"""The BackupTarget contract, run against every target, plus where the object one keeps data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stackling.object.internal import InternalObjects
from stackling.volume.backup.base import BackupTarget, BackupTargetError
from stackling.volume.backup.object_target import ACCOUNT
from stackling.volume.backup.registry import DRIVERS, make_target
from tests.support.object_service import internal_objects


@pytest.fixture
async def objects(tmp_path: Path) -> AsyncIterator[InternalObjects]:
    """An object service's in-process API."""
    async with internal_objects(tmp_path) as objects:
        yield objects


@pytest.fixture(params=DRIVERS)
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BackupTarget]:
    """Each target, on a fresh directory (the object one on its own object service)."""
    if request.param == "filesystem":
        yield make_target(tmp_path / "backups")
        return
    async with internal_objects(tmp_path) as objects:
        yield make_target(tmp_path / "backups", "object", lambda: objects)


async def test_write_read_exists_and_replace(target: BackupTarget) -> None:
    assert not await target.exists("volumebackups", "b1", "chunk-0")
    await target.write("volumebackups", "b1", "chunk-0", b"first")
    assert await target.exists("volumebackups", "b1", "chunk-0")
    assert await target.read("volumebackups", "b1", "chunk-0") == b"first"
    await target.write("volumebackups", "b1", "chunk-0", b"second, longer")
    assert await target.read("volumebackups", "b1", "chunk-0") == b"second, longer"
    # Objects of another backup, or another container, are other objects.
    assert not await target.exists("volumebackups", "b2", "chunk-0")
    assert not await target.exists("other", "b1", "chunk-0")


async def test_reading_what_is_not_there_is_a_target_error(target: BackupTarget) -> None:
    with pytest.raises(BackupTargetError):
        await target.read("volumebackups", "nope", "manifest.json")
    await target.write("volumebackups", "b1", "chunk-0", b"x")
    with pytest.raises(BackupTargetError):
        await target.read("volumebackups", "b1", "chunk-1")


async def test_list_and_delete(target: BackupTarget) -> None:
    assert await target.list() == set()
    await target.write("volumebackups", "b1", "chunk-0", b"a")
    await target.write("volumebackups", "b1", "manifest.json", b"{}")
    await target.write("volumebackups", "b2", "manifest.json", b"{}")
    await target.write("mine", "b3", "chunk-7", b"c")
    assert await target.list() == {
        ("volumebackups", "b1"),
        ("volumebackups", "b2"),
        ("mine", "b3"),
    }
    await target.delete("volumebackups", "b1")
    assert not await target.exists("volumebackups", "b1", "chunk-0")
    assert not await target.exists("volumebackups", "b1", "manifest.json")
    assert await target.read("volumebackups", "b2", "manifest.json") == b"{}"
    assert await target.list() == {("volumebackups", "b2"), ("mine", "b3")}
    # Deleting what is not there is no error.
    await target.delete("volumebackups", "b1")
    await target.delete("never", "b9")


async def test_names_that_could_escape_are_refused(target: BackupTarget) -> None:
    for container, backup_id, obj in (
        ("../x", "b1", "chunk-0"),
        ("volumebackups", "a/b", "chunk-0"),
        ("volumebackups", ".hidden", "chunk-0"),
        ("volumebackups", "b1", "../chunk-0"),
        ("", "b1", "chunk-0"),
    ):
        with pytest.raises(BackupTargetError):
            await target.write(container, backup_id, obj, b"x")
    assert await target.list() == set()


async def test_nothing_partial_is_left_to_remove(target: BackupTarget) -> None:
    await target.write("c", "b1", "chunk-0", b"z" * 300_000)
    assert await target.remove_partials() == 0
    assert await target.read("c", "b1", "chunk-0") == b"z" * 300_000


async def test_object_target_concurrent_writes_leave_one_whole_version(
    objects: InternalObjects, tmp_path: Path
) -> None:
    # The agent writes a backup's objects one at a time; an object PUT is atomic anyway.
    target = make_target(tmp_path / "backups", "object", lambda: objects)
    versions = [bytes([n]) * 300_000 for n in range(6)]
    await asyncio.gather(*(target.write("c", "b1", "chunk-0", v) for v in versions))
    assert await target.read("c", "b1", "chunk-0") in versions
    assert await objects.list_names(ACCOUNT, "c") == ["b1/chunk-0"]


async def test_object_target_keeps_objects_under_the_backup_id(
    objects: InternalObjects, tmp_path: Path
) -> None:
    target = make_target(tmp_path / "backups", "object", lambda: objects)
    assert target.name == "object"
    await target.write("volumebackups", "b1", "chunk-0", b"data")
    await target.write("volumebackups", "b1", "manifest.json", b"{}")
    names = await objects.list_names(ACCOUNT, "volumebackups")
    assert names == ["b1/chunk-0", "b1/manifest.json"]
    # Nothing lands on the local disk.
    assert not (tmp_path / "backups").exists()
    await target.delete("volumebackups", "b1")
    assert await objects.list_names(ACCOUNT, "volumebackups") == []


async def test_object_target_without_the_service_fails_clearly(tmp_path: Path) -> None:
    target = make_target(tmp_path / "backups", "object")
    with pytest.raises(BackupTargetError, match="without the object service"):
        await target.write("volumebackups", "b1", "chunk-0", b"x")
    with pytest.raises(ValueError, match="unknown backup driver"):
        make_target(tmp_path / "backups", "tape")
