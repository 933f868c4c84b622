"""The VolumeBackend contract, run against every implementation."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from stackling.volume.drivers.base import BackendError, VolumeBackend
from stackling.volume.drivers.registry import make_backend


@pytest.fixture(params=["file", "fake"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> VolumeBackend:
    """Each backend, on a fresh directory."""
    return make_backend(request.param, tmp_path / "volumes")


async def test_create_extend_delete(backend: VolumeBackend) -> None:
    vid = str(uuid.uuid4())
    assert await backend.size_of(vid) is None
    await backend.create(vid, 1)
    await backend.create(vid, 1)  # idempotent
    assert await backend.size_of(vid) == 1
    assert await backend.list_volumes() == {vid}
    await backend.extend(vid, 3)
    await backend.extend(vid, 2)  # never shrinks
    assert await backend.size_of(vid) == 3
    await backend.delete(vid)
    await backend.delete(vid)  # idempotent
    assert await backend.size_of(vid) is None
    assert await backend.list_volumes() == set()


async def test_extending_a_missing_volume_fails(backend: VolumeBackend) -> None:
    with pytest.raises(BackendError):
        await backend.extend(str(uuid.uuid4()), 2)


async def test_nothing_partial_after_a_clean_run(backend: VolumeBackend) -> None:
    await backend.create(str(uuid.uuid4()), 1)
    assert await backend.remove_partials() == 0


def test_file_backend_removes_partials_and_ignores_strangers(tmp_path: Path) -> None:
    import asyncio

    root = tmp_path / "volumes"
    root.mkdir()
    vid = str(uuid.uuid4())
    (root / f".volume-{vid}.qcow2.partial").write_bytes(b"x")
    (root / "notes.txt").write_text("not a volume")
    backend = make_backend("file", root)
    assert asyncio.run(backend.remove_partials()) == 1
    assert asyncio.run(backend.list_volumes()) == set()
    assert (root / "notes.txt").exists()
