"""The VolumeBackend image calls (import_image, export_image), run against every backend."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from stackling.volume import agent_images
from stackling.volume.drivers.base import GIB, BackendError, VolumeBackend
from stackling.volume.drivers.registry import make_backend

MIB = 1 << 20


@pytest.fixture(params=["file", "fake"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> VolumeBackend:
    """Each backend, on a fresh directory."""
    return make_backend(request.param, tmp_path / "volumes")


def _pattern(seed: int, size: int = MIB) -> bytes:
    """A raw image whose bytes differ per seed and per offset."""
    block = bytes((seed + i) % 251 for i in range(4096))
    return (block * (size // len(block) + 1))[:size]


async def _export_raw(backend: VolumeBackend, volume_id: str, dest: Path) -> tuple[bytes, int]:
    """The first 2 MiB of the exported raw image, and its whole size (it may be GiBs)."""
    await backend.export_image(volume_id, dest, "raw")

    def _read() -> tuple[bytes, int]:
        with dest.open("rb") as f:
            return f.read(2 * MIB), dest.stat().st_size

    return await asyncio.to_thread(_read)


async def test_import_then_export_gives_the_same_bytes(
    backend: VolumeBackend, tmp_path: Path
) -> None:
    vid = str(uuid.uuid4())
    source = tmp_path / "image.raw"
    data = _pattern(7)
    source.write_bytes(data)
    await backend.import_image(vid, source, "raw", 1, replace=False)
    assert await backend.list_volumes() == {vid}
    assert await backend.size_of(vid) == 1
    head, size = await _export_raw(backend, vid, tmp_path / "out.raw")
    # The file backend grows the volume to 1 GiB: the image is its start, zeros follow.
    assert head[: len(data)] == data
    assert head[len(data) :].count(0) == len(head) - len(data)
    assert size in (len(data), GIB)
    assert await backend.remove_partials() == 0


async def test_import_without_replace_keeps_existing_data(
    backend: VolumeBackend, tmp_path: Path
) -> None:
    vid = str(uuid.uuid4())
    first, second = tmp_path / "a.raw", tmp_path / "b.raw"
    first.write_bytes(_pattern(1))
    second.write_bytes(_pattern(2))
    await backend.import_image(vid, first, "raw", 1, replace=False)
    await backend.import_image(vid, second, "raw", 1, replace=False)  # idempotent: a no-op
    head, _ = await _export_raw(backend, vid, tmp_path / "out.raw")
    assert head[:MIB] == _pattern(1)


async def test_import_with_replace_replaces_the_data(
    backend: VolumeBackend, tmp_path: Path
) -> None:
    vid = str(uuid.uuid4())
    first, second = tmp_path / "a.raw", tmp_path / "b.raw"
    first.write_bytes(_pattern(1))
    second.write_bytes(_pattern(2))
    await backend.import_image(vid, first, "raw", 1, replace=False)
    await backend.import_image(vid, second, "raw", 1, replace=True)
    head, _ = await _export_raw(backend, vid, tmp_path / "out.raw")
    assert head[:MIB] == _pattern(2)
    assert await backend.list_volumes() == {vid}


async def test_exporting_a_missing_volume_fails(backend: VolumeBackend, tmp_path: Path) -> None:
    with pytest.raises(BackendError):
        await backend.export_image(str(uuid.uuid4()), tmp_path / "out.raw", "raw")


async def test_file_backend_imports_qcow2_and_grows_to_the_volume_size(tmp_path: Path) -> None:
    backend = make_backend("file", tmp_path / "volumes")
    raw, qcow2 = tmp_path / "image.raw", tmp_path / "image.qcow2"
    raw.write_bytes(_pattern(3))
    vid = str(uuid.uuid4())
    # Made by the backend's own export, so the test needs no other tool.
    await backend.import_image(vid, raw, "raw", 1, replace=False)
    await backend.export_image(vid, qcow2, "qcow2")
    assert qcow2.read_bytes()[:4] == b"QFI\xfb"
    other = str(uuid.uuid4())
    await backend.import_image(other, qcow2, "qcow2", 2, replace=False)
    assert await backend.size_of(other) == 2
    head, size = await _export_raw(backend, other, tmp_path / "out.raw")
    assert head[:MIB] == _pattern(3) and size == 2 * GIB


async def test_file_backend_leaves_nothing_partial_when_conversion_fails(tmp_path: Path) -> None:
    root = tmp_path / "volumes"
    backend = make_backend("file", root)
    bogus = tmp_path / "bogus.qcow2"
    bogus.write_bytes(b"not a qcow2 image at all")
    vid = str(uuid.uuid4())
    with pytest.raises(BackendError):
        await backend.import_image(vid, bogus, "qcow2", 1, replace=False)
    assert await backend.list_volumes() == set()
    assert [p.name for p in root.iterdir()] == []


async def test_file_backend_sweeps_the_agents_image_scratch_files(tmp_path: Path) -> None:
    # The agent names its image transfer files so that this start-up sweep finds them.
    root = tmp_path / "volumes"
    root.mkdir()
    vid = str(uuid.uuid4())
    for what in ("image", "upload"):
        agent_images.scratch_path(root, vid, what).write_bytes(b"half")
    backend = make_backend("file", root)
    assert await backend.remove_partials() == 2
    assert list(root.iterdir()) == []
