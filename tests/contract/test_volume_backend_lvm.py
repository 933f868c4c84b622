"""The VolumeBackend contract and real-data checks, run against the lvm backend.

Twice: on a real volume group on a loop device (skipped where the kernel has no
device-mapper, as in containers), and on stand-in lvm2 tools that keep LVs as sparse
files, so the backend's own logic (partial names, swaps, idempotence) is checked
everywhere. The stand-ins refuse what lvm2 refuses: reserved and duplicate names,
missing LVs, and an lvextend to the size an LV already has.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackling.volume.drivers.base import GIB, BackendError
from stackling.volume.drivers.lvm import LvmBackend
from stackling.volume.drivers.registry import make_backend
from tests.contract import test_volume_backend as contract
from tests.contract import test_volume_backend_images as image_contract

MIB = 1 << 20
POOL = "pool"
# Without udev lvm2 waits forever for device nodes unless told to make them itself.
NO_UDEV = {"DM_DISABLE_UDEV": "1", "LVM_SUPPRESS_FD_WARNINGS": "1"}

# The behaviours every backend shares, collected here against the lvm fixture below.
test_create_extend_delete = contract.test_create_extend_delete
test_extending_a_missing_volume_fails = contract.test_extending_a_missing_volume_fails
test_nothing_partial_after_a_clean_run = contract.test_nothing_partial_after_a_clean_run
test_revert_keeps_a_grown_volume_size = contract.test_revert_keeps_a_grown_volume_size
test_copies_of_missing_sources_fail = contract.test_copies_of_missing_sources_fail
test_import_then_export_gives_the_same_bytes = (
    image_contract.test_import_then_export_gives_the_same_bytes
)
test_import_without_replace_keeps_existing_data = (
    image_contract.test_import_without_replace_keeps_existing_data
)
test_import_with_replace_replaces_the_data = (
    image_contract.test_import_with_replace_replaces_the_data
)
test_exporting_a_missing_volume_fails = image_contract.test_exporting_a_missing_volume_fails

FAKE_LVM = r'''
"""Stand-in lvm2 tools: LVs are sparse files, state is a JSON file."""
import json, os, shutil, subprocess, sys
from pathlib import Path

STATE = Path(os.environ["FAKE_LVM_STATE"])
DEV = Path(os.environ["FAKE_LVM_DEV"])
GIB = 1 << 30


def fail(message, code=5):
    print("  " + message, file=sys.stderr)
    sys.exit(code)


def args():
    out, argv = [], sys.argv[1:]
    while argv:
        arg = argv.pop(0)
        if arg == "--config":
            argv.pop(0)
        else:
            out.append(arg)
    return out


def opt(argv, flag):
    i = argv.index(flag)
    value = argv[i + 1]
    del argv[i : i + 2]
    return value


def gib(size):
    assert size.endswith("G"), size
    return int(size[:-1]) * GIB


def load():
    return json.loads(STATE.read_text())


def save(state):
    STATE.write_text(json.dumps(state))


def lvs_of(state, vg):
    if vg not in state:
        fail(f'Volume group "{vg}" not found')
    return state[vg]


def split(path):
    vg, _, name = path.partition("/")
    return vg, name


def data(vg, name):
    return STATE.parent / "data" / vg / name


def link(vg, name, lv):
    dev = DEV / vg / name
    if dev.is_symlink():
        dev.unlink()
    if lv["active"]:
        dev.parent.mkdir(parents=True, exist_ok=True)
        dev.symlink_to(data(vg, name))


def check_new(lvs, name):
    if name.startswith(("-", "snapshot", "pvmove")) or not name:
        fail(f'Names starting "{name[:8]}" are reserved.', 3)
    if name in lvs:
        fail(f'Logical Volume "{name}" already exists in volume group')


def found(lvs, vg, name):
    if name not in lvs:
        fail(f'Failed to find logical volume "{vg}/{name}"')
    return lvs[name]


def main():
    tool, argv, state = Path(sys.argv[0]).name, args(), load()
    if tool == "lvs":
        assert argv[:7] == ["--reportformat", "json", "--units", "b", "--nosuffix", "-o",
                            "lv_name,lv_size,pool_lv"], argv
        lvs = lvs_of(state, argv[7])
        rows = [{"lv_name": n, "lv_size": str(lv["size"]), "pool_lv": lv["pool"]}
                for n, lv in lvs.items()]
        print(json.dumps({"report": [{"lv": rows}]}))
        return
    if tool == "lvcreate":
        name = opt(argv, "-n")
        if "-T" in argv:
            vg, pool = split(opt(argv, "-T"))
            size = gib(opt(argv, "-V"))
            lvs = lvs_of(state, vg)
            found(lvs, vg, pool)
            check_new(lvs, name)
            lv = lvs[name] = {"size": size, "pool": pool, "active": True}
            path = data(vg, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as f:
                f.truncate(size)
        else:
            vg, origin = split(opt(argv, "-s"))
            skip = opt(argv, "-k") if "-k" in argv else "y"
            lvs = lvs_of(state, vg)
            source = found(lvs, vg, origin)
            check_new(lvs, name)
            lv = lvs[name] = {"size": source["size"], "pool": source["pool"],
                              "active": skip == "n"}
            subprocess.run(["cp", "--sparse=always", str(data(vg, origin)), str(data(vg, name))],
                           check=True)
        assert not argv, argv
        link(vg, name, lv)
    elif tool == "lvchange":
        assert argv[:2] == ["-ay", "-K"], argv
        vg, name = split(argv[2])
        lv = found(lvs_of(state, vg), vg, name)
        lv["active"] = True
        link(vg, name, lv)
    elif tool == "lvextend":
        size = gib(opt(argv, "-L"))
        vg, name = split(argv[0])
        lv = found(lvs_of(state, vg), vg, name)
        if size <= lv["size"]:
            fail("New size matches existing size or is smaller.")
        lv["size"] = size
        with data(vg, name).open("r+b") as f:
            f.truncate(size)
    elif tool == "lvremove":
        assert argv[0] == "-f", argv
        vg, name = split(argv[1])
        lvs = lvs_of(state, vg)
        found(lvs, vg, name)
        lv = lvs.pop(name)
        lv["active"] = False
        link(vg, name, lv)
        data(vg, name).unlink()
    elif tool == "lvrename":
        vg, old, new = argv
        lvs = lvs_of(state, vg)
        found(lvs, vg, old)
        check_new(lvs, new)
        lv = lvs[new] = lvs.pop(old)
        data(vg, old).rename(data(vg, new))
        was = lv["active"]
        lv["active"] = False
        link(vg, old, lv)
        lv["active"] = was
        link(vg, new, lv)
    else:
        fail(f"unknown tool {tool}")
    save(state)


main()
'''
FAKE_TOOLS = ("lvs", "lvcreate", "lvchange", "lvextend", "lvremove", "lvrename")


def _sh(*argv: str) -> str:
    """Run a host command (lvm2's through the udev-less environment); its stdout."""
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, env={**os.environ, **NO_UDEV}
    )
    assert done.returncode == 0, f"{argv}: {done.stderr}"
    return done.stdout


def _device_mapper_works() -> bool:
    """Whether this kernel can activate LVs (containers often lack device-mapper)."""
    if os.geteuid() != 0 or shutil.which("lvcreate") is None:
        return False
    try:
        return "device-mapper" in Path("/proc/misc").read_text()
    except OSError:
        return False


@pytest.fixture
def loop_vg(tmp_path: Path) -> Iterator[str]:
    """A volume group with a 3 GiB thin pool on a sparse 4 GiB loop device; removed after."""
    if not _device_mapper_works():
        pytest.skip("needs root, lvm2 and a kernel with device-mapper (dm-thin)")
    image = tmp_path / "pv.img"
    with image.open("wb") as f:
        f.truncate(4 * GIB)
    vg = f"stackling-test-{uuid.uuid4().hex[:8]}"
    loop = _sh("losetup", "--find", "--show", str(image)).strip()
    try:
        _sh("pvcreate", "-q", loop)
        _sh("vgcreate", "-q", vg, loop)
        _sh("lvcreate", "-q", "-T", f"{vg}/{POOL}", "-L", "3G")
        yield vg
    finally:
        # Each step on its own: whatever the set-up or the test got to, undo it.
        for argv in (("vgremove", "-f", vg), ("pvremove", "-f", loop), ("losetup", "-d", loop)):
            subprocess.run(argv, capture_output=True, timeout=120, env={**os.environ, **NO_UDEV})


@pytest.fixture
def fake_vg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A volume group with a thin pool, kept by the stand-in tools; its device root."""
    bin_dir, state_dir, dev = tmp_path / "bin", tmp_path / "lvm", tmp_path / "dev"
    for path in (bin_dir, state_dir, dev):
        path.mkdir()
    script = bin_dir / "fake_lvm.py"
    script.write_text(f"#!{sys.executable}\n{FAKE_LVM}")
    script.chmod(0o755)
    for tool in FAKE_TOOLS:
        (bin_dir / tool).symlink_to(script)
    vg = "stackling-test"
    pool = {"size": 3 * GIB, "pool": "", "active": True}
    (state_dir / "state.json").write_text(json.dumps({vg: {POOL: pool}}))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LVM_STATE", str(state_dir / "state.json"))
    monkeypatch.setenv("FAKE_LVM_DEV", str(dev))
    yield vg, dev


@pytest.fixture(params=["loop-device", "stand-in-tools"])
def backend(request: pytest.FixtureRequest) -> LvmBackend:
    """The lvm backend on a real loop-device VG, and on the stand-in tools."""
    if request.param == "loop-device":
        return LvmBackend(request.getfixturevalue("loop_vg"), POOL)
    vg, dev = request.getfixturevalue("fake_vg")
    return LvmBackend(vg, POOL, dev_root=dev)


def _pattern(seed: int, size: int = MIB) -> bytes:
    block = bytes((seed + i) % 251 for i in range(4096))
    return (block * (size // len(block) + 1))[:size]


def _write(backend: LvmBackend, volume_id: str, seed: int) -> None:
    """Write a recognisable MiB at the start of the volume's device."""
    with backend.path_of(volume_id).open("r+b") as f:
        f.write(_pattern(seed))
        f.flush()
        os.fsync(f.fileno())


def _head(backend: LvmBackend, volume_id: str) -> bytes:
    with backend.path_of(volume_id).open("rb") as f:
        return f.read(MIB)


async def test_snapshot_clone_and_revert_carry_the_data(backend: LvmBackend) -> None:
    vid, sid = str(uuid.uuid4()), str(uuid.uuid4())
    await backend.create(vid, 1)
    _write(backend, vid, 1)
    await backend.create_snapshot(vid, sid)
    await backend.create_snapshot(vid, sid)  # idempotent
    assert await backend.list_snapshots() == {sid}
    _write(backend, vid, 2)
    assert _head(backend, vid) == _pattern(2)

    from_snap, clone = str(uuid.uuid4()), str(uuid.uuid4())
    await backend.create_from_snapshot(from_snap, sid, 2)
    await backend.create_from_snapshot(from_snap, sid, 2)  # idempotent
    assert await backend.size_of(from_snap) == 2
    assert _head(backend, from_snap) == _pattern(1)
    await backend.clone(clone, vid, 3)
    await backend.clone(clone, vid, 3)  # idempotent
    assert await backend.size_of(clone) == 3
    assert _head(backend, clone) == _pattern(2)

    await backend.revert_to_snapshot(vid, sid)
    await backend.revert_to_snapshot(vid, sid)  # idempotent
    assert _head(backend, vid) == _pattern(1)
    assert await backend.size_of(vid) == 1
    assert await backend.list_volumes() == {vid, from_snap, clone}

    # Thin LVs depend on nothing: the snapshot and its origin go in any order.
    await backend.delete(vid)
    assert _head(backend, from_snap) == _pattern(1)
    await backend.delete_snapshot(sid)
    await backend.delete_snapshot(sid)  # idempotent
    assert await backend.list_snapshots() == set()
    assert await backend.list_volumes() == {from_snap, clone}
    assert await backend.remove_partials() == 0


async def test_clone_is_independent_of_its_source(backend: LvmBackend) -> None:
    source, clone = str(uuid.uuid4()), str(uuid.uuid4())
    await backend.create(source, 1)
    _write(backend, source, 5)
    await backend.clone(clone, source, 1)
    _write(backend, source, 6)
    assert _head(backend, clone) == _pattern(5)
    await backend.delete(source)
    assert _head(backend, clone) == _pattern(5)


async def test_start_up_removes_partial_lvs_and_finishes_swaps(backend: LvmBackend) -> None:
    vg = backend.vg
    partial, swapped, kept = (str(uuid.uuid4()) for _ in range(3))
    sid = str(uuid.uuid4())
    _sh("lvcreate", "-T", f"{vg}/{POOL}", "-V", "1G", "-n", f"partial-volume-{partial}")
    # A revert that crashed after removing the old LV: the complete new one becomes it.
    await backend.create(swapped, 1)
    _write(backend, swapped, 3)
    await backend.create_snapshot(swapped, sid)
    _write(backend, swapped, 4)
    _sh("lvcreate", "-s", f"{vg}/snap-{sid}", "-k", "n", "-n", f"replacing-volume-{swapped}")
    _sh("lvremove", "-f", f"{vg}/volume-{swapped}")
    # One that crashed before: the old LV stays, the agent repeats the revert.
    await backend.create(kept, 1)
    _write(backend, kept, 7)
    _sh("lvcreate", "-T", f"{vg}/{POOL}", "-V", "1G", "-n", f"replacing-volume-{kept}")

    assert await backend.remove_partials() == 3
    assert await backend.remove_partials() == 0
    assert await backend.list_volumes() == {swapped, kept}
    assert await backend.list_snapshots() == {sid}
    assert _head(backend, kept) == _pattern(7)
    await backend.revert_to_snapshot(swapped, sid)  # the agent repeats it: still the snapshot
    assert await backend.size_of(swapped) == 1
    assert _head(backend, swapped) == _pattern(3)


async def test_import_replace_swaps_the_data_in(backend: LvmBackend, tmp_path: Path) -> None:
    vid = str(uuid.uuid4())
    first, second = tmp_path / "a.raw", tmp_path / "b.raw"
    first.write_bytes(_pattern(1, 2 * MIB))
    second.write_bytes(_pattern(2, 2 * MIB))
    await backend.import_image(vid, first, "raw", 1, replace=False)
    assert _head(backend, vid) == _pattern(1)
    await backend.import_image(vid, second, "raw", 1, replace=True)
    assert _head(backend, vid) == _pattern(2)
    assert await backend.list_volumes() == {vid}
    assert await backend.remove_partials() == 0


async def test_qcow2_import_and_export_round_trip(backend: LvmBackend, tmp_path: Path) -> None:
    raw, qcow2 = tmp_path / "image.raw", tmp_path / "image.qcow2"
    raw.write_bytes(_pattern(9, 3 * MIB))
    _sh("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2))
    vid = str(uuid.uuid4())
    await backend.import_image(vid, qcow2, "qcow2", 2, replace=False)
    assert await backend.size_of(vid) == 2
    out = tmp_path / "out.qcow2"
    await backend.export_image(vid, out, "qcow2")
    assert out.read_bytes()[:4] == b"QFI\xfb"
    back = tmp_path / "back.raw"
    _sh("qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", str(out), str(back))
    assert back.stat().st_size == 2 * GIB
    with back.open("rb") as f:
        assert f.read(4 * MIB) == _pattern(9, 3 * MIB) + bytes(MIB)


async def test_an_image_larger_than_the_volume_is_refused(
    backend: LvmBackend, tmp_path: Path
) -> None:
    big = tmp_path / "big.raw"
    with big.open("wb") as f:
        f.truncate(2 * GIB)
    vid = str(uuid.uuid4())
    with pytest.raises(BackendError, match="does not fit"):
        await backend.import_image(vid, big, "raw", 1, replace=False)
    with pytest.raises(BackendError, match="cannot convert"):
        await backend.import_image(vid, big, "ami", 1, replace=False)
    assert await backend.list_volumes() == set()
    assert await backend.remove_partials() == 0


async def test_a_failed_conversion_leaves_nothing(backend: LvmBackend, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.qcow2"
    bogus.write_bytes(b"not a qcow2 image at all")
    with pytest.raises(BackendError):
        await backend.import_image(str(uuid.uuid4()), bogus, "qcow2", 1, replace=False)
    assert await backend.list_volumes() == set()
    assert await backend.remove_partials() == 0


async def test_a_missing_volume_group_or_pool_is_named(backend: LvmBackend) -> None:
    no_vg = LvmBackend(f"stackling-absent-{uuid.uuid4().hex[:8]}", POOL, dev_root=backend.dev_root)
    with pytest.raises(BackendError, match=r"volume group .* not found"):
        await no_vg.create(str(uuid.uuid4()), 1)
    with pytest.raises(BackendError, match="volume group"):
        await no_vg.list_volumes()
    no_pool = LvmBackend(backend.vg, "absent-pool", dev_root=backend.dev_root)
    with pytest.raises(BackendError, match=r"thin pool .*absent-pool not found"):
        await no_pool.create(str(uuid.uuid4()), 1)
    with pytest.raises(BackendError, match="thin pool"):
        await no_pool.remove_partials()


def test_connection_names_the_block_device() -> None:
    backend = make_backend("lvm", Path("/unused"), volume_group="vg0", thin_pool="tp")
    vid = str(uuid.uuid4())
    assert isinstance(backend, LvmBackend)
    assert backend.connection(vid) == {
        "driver_volume_type": "block",
        "data": {"device_path": f"/dev/vg0/volume-{vid}", "format": "raw", "volume_id": vid},
    }
