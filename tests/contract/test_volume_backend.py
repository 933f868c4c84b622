"""The VolumeBackend contract, run against every implementation."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import pytest

from stackling.volume.drivers.base import BackendError, VolumeBackend
from stackling.volume.drivers.file import run
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
    root = tmp_path / "volumes"
    root.mkdir()
    vid = str(uuid.uuid4())
    (root / f".volume-{vid}.qcow2.partial").write_bytes(b"x")
    (root / "notes.txt").write_text("not a volume")
    backend = make_backend("file", root)
    assert asyncio.run(backend.remove_partials()) == 1
    assert asyncio.run(backend.list_volumes()) == set()
    assert (root / "notes.txt").exists()


async def _write(backend: VolumeBackend, volume_id: str, pattern: int) -> None:
    """Give the volume recognisable data: a byte pattern in its first MiB."""
    if backend.name == "fake":
        backend.data[volume_id] = bytes([pattern])  # type: ignore[attr-defined]
        return
    path = backend.path_of(volume_id)  # type: ignore[attr-defined]
    await run(["qemu-io", "-f", "qcow2", "-c", f"write -P {pattern:#x} 0 1M", str(path)])


async def _holds(backend: VolumeBackend, volume_id: str, pattern: int) -> bool:
    """Whether the volume's first MiB is the byte pattern."""
    if backend.name == "fake":
        return backend.data.get(volume_id) == bytes([pattern])  # type: ignore[attr-defined]
    path = backend.path_of(volume_id)  # type: ignore[attr-defined]
    argv = ["qemu-io", "-f", "qcow2", "-c", f"read -P {pattern:#x} 0 1M", str(path)]
    done = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=60)
    if "Pattern verification failed" in done.stdout:
        return False
    assert done.returncode == 0, done.stdout + done.stderr
    return True


async def test_snapshot_clone_and_revert_carry_the_data(backend: VolumeBackend) -> None:
    vid, sid = str(uuid.uuid4()), str(uuid.uuid4())
    await backend.create(vid, 1)
    await _write(backend, vid, 0x5A)
    await backend.create_snapshot(vid, sid)
    await backend.create_snapshot(vid, sid)  # idempotent
    assert await backend.list_snapshots() == {sid}
    await _write(backend, vid, 0x33)
    assert await _holds(backend, vid, 0x33)
    assert not await _holds(backend, vid, 0x5A)

    from_snap, clone = str(uuid.uuid4()), str(uuid.uuid4())
    await backend.create_from_snapshot(from_snap, sid, 2)
    await backend.create_from_snapshot(from_snap, sid, 2)  # idempotent
    assert await backend.size_of(from_snap) == 2
    assert await _holds(backend, from_snap, 0x5A)
    await backend.clone(clone, vid, 3)
    assert await backend.size_of(clone) == 3
    assert await _holds(backend, clone, 0x33)

    await backend.revert_to_snapshot(vid, sid)
    await backend.revert_to_snapshot(vid, sid)  # idempotent
    assert await _holds(backend, vid, 0x5A)
    assert await backend.size_of(vid) == 1
    assert await backend.list_volumes() == {vid, from_snap, clone}

    await backend.delete_snapshot(sid)
    await backend.delete_snapshot(sid)  # idempotent
    assert await backend.list_snapshots() == set()
    assert await backend.remove_partials() == 0


async def test_revert_keeps_a_grown_volume_size(backend: VolumeBackend) -> None:
    vid, sid = str(uuid.uuid4()), str(uuid.uuid4())
    await backend.create(vid, 1)
    await backend.create_snapshot(vid, sid)
    await backend.extend(vid, 2)
    await backend.revert_to_snapshot(vid, sid)
    assert await backend.size_of(vid) == 2


async def test_copies_of_missing_sources_fail(backend: VolumeBackend) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(BackendError):
        await backend.create_snapshot(missing, str(uuid.uuid4()))
    with pytest.raises(BackendError):
        await backend.create_from_snapshot(str(uuid.uuid4()), missing, 1)
    with pytest.raises(BackendError):
        await backend.clone(str(uuid.uuid4()), missing, 1)
    assert await backend.list_volumes() == set()
    assert await backend.list_snapshots() == set()
    assert await backend.remove_partials() == 0


def test_file_backend_removes_snapshot_partials(tmp_path: Path) -> None:
    root = tmp_path / "volumes"
    root.mkdir()
    sid = str(uuid.uuid4())
    (root / f".snapshot-{sid}.qcow2.partial").write_bytes(b"x")
    backend = make_backend("file", root)
    assert asyncio.run(backend.remove_partials()) == 1
    assert asyncio.run(backend.list_snapshots()) == set()
    assert not any(root.iterdir())


def test_live_copy_finds_the_guest_disk_by_its_file() -> None:
    from stackling.volume.drivers.live_copy import _disk_target

    domain = """<domain><devices>
      <disk type='file' device='disk'><source file='/v/root.qcow2'/><target dev='vda'/></disk>
      <disk type='file' device='disk'><source file='/v/volume-a.qcow2'/><target dev='vdb'/>
        <mirror type='file' file='/v/.snapshot-b.qcow2.partial' job='copy' ready='yes'/>
      </disk>
    </devices></domain>"""
    assert _disk_target(domain, Path("/v/root.qcow2")) == ("vda", False)
    assert _disk_target(domain, Path("/v/volume-a.qcow2")) == ("vdb", True)
    assert _disk_target(domain, Path("/v/other.qcow2")) is None
