"""Backups of real qcow2 volumes (file backend): chunks, incremental reuse, sha256, restart."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx

from stackling.settings import Settings
from stackling.volume import models as m
from tests.conftest import issue_token, make_settings, running_client
from tests.functional.volume.support import V3, auth, create_volume, settle
from tests.functional.volume.test_backups import BACKUPS, settle_backup

MIB = 1024 * 1024


def _settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(
        tmp_path / "data", database={"url": db_url}, services=["identity", "volume"]
    )


def _qcow2(tmp_path: Path, volume_id: str) -> Path:
    return tmp_path / "data" / "volume" / f"volume-{volume_id}.qcow2"


def _write(path: Path, pattern: int, offset_mib: int, length_mib: int) -> None:
    """Write a byte pattern into the qcow2 with qemu-io."""
    cmd = f"write -P {pattern:#x} {offset_mib}M {length_mib}M"
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", cmd, str(path)], check=True, timeout=120)


def _raw_sha(path: Path, scratch: Path) -> str:
    """sha256 of the volume's data, through qemu-img convert -O raw."""
    raw = scratch / f"{uuid.uuid4()}.raw"
    subprocess.run(
        ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(path), str(raw)],
        check=True,
        timeout=300,
    )
    digest = hashlib.sha256()
    with open(raw, "rb") as f:
        while block := f.read(8 * MIB):
            digest.update(block)
    raw.unlink()
    return digest.hexdigest()


def _manifest(tmp_path: Path, backup: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "data" / "backups" / backup["container"] / backup["id"] / "manifest.json"
    return dict(json.loads(path.read_text()))


async def _backup(c: httpx.AsyncClient, token: str, volume_id: str, **extra: Any) -> dict:
    body = {"backup": {"volume_id": volume_id, **extra}}
    r = await c.post(BACKUPS, json=body, headers=auth(token))
    assert r.status_code == 202, r.text
    return await settle_backup(c, r.json()["backup"]["id"], token)


async def _restore(c: httpx.AsyncClient, token: str, backup_id: str, **into: Any) -> str:
    r = await c.post(f"{BACKUPS}/{backup_id}/restore", json={"restore": into}, headers=auth(token))
    assert r.status_code == 202, r.text
    await settle_backup(c, backup_id, token)
    return str(r.json()["restore"]["volume_id"])


async def test_full_incremental_restore_and_corruption(tmp_path: Path, db_url: str) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    async with running_client(_settings(tmp_path, db_url)) as c:
        token = await issue_token(c)
        vol = await create_volume(c, token, size=1)
        source = _qcow2(tmp_path, vol["id"])
        _write(source, 0xAB, 0, 64)
        _write(source, 0xCD, 512, 32)
        original = _raw_sha(source, scratch)

        full = await _backup(c, token, vol["id"])
        assert full["status"] == "available", full
        # 32 chunks of 32 MiB: two at 0-64 MiB, one at 512 MiB; the rest are zero.
        assert full["object_count"] == 3
        manifest = _manifest(tmp_path, full)
        kinds = [c["kind"] for c in manifest["chunks"]]
        assert len(kinds) == 32 and kinds.count("data") == 3 and kinds.count("zero") == 29
        assert manifest["sha256"] == original and manifest["size"] == 1024 * MIB
        stored = sorted(p.name for p in (tmp_path / "data/backups/volumebackups").glob("*/*"))
        assert stored == ["chunk-0", "chunk-1", "chunk-16", "manifest.json"]

        # Change 1 MiB of one chunk: the incremental backup stores that chunk only.
        _write(source, 0xEF, 520, 1)
        changed = _raw_sha(source, scratch)
        incr = await _backup(c, token, vol["id"], incremental=True)
        assert incr["status"] == "available" and incr["is_incremental"] is True
        assert incr["object_count"] == 1
        chunks = _manifest(tmp_path, incr)["chunks"]
        assert chunks[16]["kind"] == "data"
        assert [chunks[0]["kind"], chunks[1]["kind"]] == ["parent", "parent"]
        assert chunks[0]["backup_id"] == full["id"]
        incr_dir = tmp_path / "data/backups/volumebackups" / incr["id"]
        assert sorted(p.name for p in incr_dir.iterdir()) == ["chunk-16", "manifest.json"]

        # The full backup restores the original data into a new volume...
        new_id = await _restore(c, token, full["id"])
        assert (await settle(c, new_id, token))["status"] == "available"
        assert _raw_sha(_qcow2(tmp_path, new_id), scratch) == original
        # ...and the incremental one, following its parent, the changed data.
        other = await create_volume(c, token, size=1)
        await _restore(c, token, incr["id"], volume_id=other["id"])
        assert (await settle(c, other["id"], token))["status"] == "available"
        assert _raw_sha(_qcow2(tmp_path, other["id"]), scratch) == changed

        # A corrupt chunk fails the restore: the volume is error_restoring, and says why.
        chunk = tmp_path / "data/backups/volumebackups" / full["id"] / "chunk-1"
        data = bytearray(chunk.read_bytes())
        data[100] ^= 0xFF
        chunk.write_bytes(bytes(data))
        await _restore(c, token, incr["id"], volume_id=other["id"])
        r = await c.get(f"{V3}/volumes/{other['id']}", headers=auth(token))
        assert r.json()["volume"]["status"] == "error_restoring"
        r = await c.get(f"{BACKUPS}/{incr['id']}", headers=auth(token))
        after = r.json()["backup"]
        assert after["status"] == "available"
        assert "chunk 1" in after["fail_reason"] and "sha256" in after["fail_reason"]
        # The volume's data was not touched by the failed restore.
        assert _raw_sha(_qcow2(tmp_path, other["id"]), scratch) == changed
        # No raw image is left in the scratch directory.
        leftovers = list((tmp_path / "data/backups/.scratch").iterdir())
        assert leftovers == []

        # Deleting both removes their data.
        for backup in (incr, full):
            r = await c.delete(f"{BACKUPS}/{backup['id']}", headers=auth(token))
            assert r.status_code == 202, r.text
            assert await settle_backup(c, backup["id"], token) == {}
        assert list((tmp_path / "data/backups").glob("volumebackups/*")) == []


async def test_restart_redoes_and_sweeps(tmp_path: Path, db_url: str) -> None:
    settings = _settings(tmp_path, db_url)
    root = tmp_path / "data" / "backups"
    async with running_client(settings) as c:
        token = await issue_token(c)
        vol = await create_volume(c, token, size=1)
        _write(_qcow2(tmp_path, vol["id"]), 0x11, 0, 8)
        done = await _backup(c, token, vol["id"])
        stuck = await _backup(c, token, vol["id"])
        target = await create_volume(c, token, size=1)
        svc = c._transport.app.state.runtime.service("volume").svc  # type: ignore[attr-defined]

        # As a crash would leave it: `creating`, the volume backing-up, no manifest.
        async def _crash(s: Any) -> None:
            (await s.get(m.Backup, stuck["id"])).status = "creating"
            volume = await s.get(m.Volume, vol["id"])
            volume.status, volume.previous_status = "backing-up", "available"
            # And a restore of `done` into `target`, interrupted before its import.
            row = await s.get(m.Backup, done["id"])
            row.status, row.restore_volume_id = "restoring", target["id"]
            (await s.get(m.Volume, target["id"])).status = "restoring-backup"

        await svc.tx(_crash)
    (root / "volumebackups" / stuck["id"] / "manifest.json").unlink()
    orphan = root / "volumebackups" / str(uuid.uuid4())
    orphan.mkdir()
    (orphan / "chunk-0").write_bytes(b"no row")
    partial = root / "volumebackups" / done["id"] / ".partial-chunk-9"
    partial.write_bytes(b"half")
    (root / ".scratch").mkdir(exist_ok=True)
    (root / ".scratch" / "x.backup.raw").write_bytes(b"left")

    async with running_client(settings) as c:
        token = await issue_token(c)
        r = await c.get(f"{BACKUPS}/{stuck['id']}", headers=auth(token))
        assert r.json()["backup"]["status"] == "available"
        assert (root / "volumebackups" / stuck["id"] / "manifest.json").is_file()
        r = await c.get(f"{V3}/volumes/{vol['id']}", headers=auth(token))
        assert r.json()["volume"]["status"] == "available"
        assert not orphan.exists() and not partial.exists()
        # The redone backup's scratch file is gone, and so is the one left before.
        assert list((root / ".scratch").iterdir()) == []
        assert (root / "volumebackups" / done["id"] / "manifest.json").is_file()
        r = await c.get(f"{BACKUPS}/{done['id']}", headers=auth(token))
        assert r.json()["backup"]["status"] == "available"
        r = await c.get(f"{V3}/volumes/{target['id']}", headers=auth(token))
        assert r.json()["volume"]["status"] == "available"
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        expected = _raw_sha(_qcow2(tmp_path, vol["id"]), scratch)
        assert _raw_sha(_qcow2(tmp_path, target["id"]), scratch) == expected


def _fill_random(volume: Path, scratch: Path) -> str:
    """Write 1 GiB of random bytes over the whole volume, as a guest would; their sha256."""
    raw = scratch / "random.raw"
    digest = hashlib.sha256()
    with open(raw, "wb") as f:
        for _ in range(1024 // 8):
            block = os.urandom(8 * MIB)
            digest.update(block)
            f.write(block)
    subprocess.run(
        ["qemu-img", "convert", "-n", "-f", "raw", "-O", "qcow2", str(raw), str(volume)],
        check=True,
        timeout=300,
    )
    raw.unlink()
    return digest.hexdigest()


async def test_a_gib_of_random_data_restores_byte_for_byte(tmp_path: Path) -> None:
    """Issue 8's check: back up 1 GiB of random data, restore it, compare sha256."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    # One database is enough for a data-path check of this size.
    settings = make_settings(
        tmp_path / "data",
        database={"url": f"sqlite+aiosqlite:///{tmp_path / 'random.db'}"},
        services=["identity", "volume"],
    )
    async with running_client(settings) as c:
        token = await issue_token(c)
        vol = await create_volume(c, token, size=1)
        original = _fill_random(_qcow2(tmp_path, vol["id"]), scratch)
        assert _raw_sha(_qcow2(tmp_path, vol["id"]), scratch) == original
        backup = await _backup(c, token, vol["id"])
        assert backup["status"] == "available", backup
        assert backup["object_count"] == 32
        restored = await _restore(c, token, backup["id"])
        assert (await settle(c, restored, token))["status"] == "available"
        assert _raw_sha(_qcow2(tmp_path, restored), scratch) == original
