"""A raw volume image to chunks and a manifest, and back, with sha256 checks on the way back.

The manifest (`manifest.json`, written last) lists each chunk of the image with
its offset, length and sha256, and how it is stored: `data` (a `chunk-<n>`
object of this backup), `zero` (all zero bytes, nothing stored) or `parent`
(unchanged since the backup it names, whose `chunk-<n>` object holds it). It
also holds the sha256 of the whole image, checked again on restore, and the
volume's user metadata at backup time, which a restore gives the volume back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackling.volume.backup.base import BackupTarget, BackupTargetError

MANIFEST = "manifest.json"
FORMAT = "stackling-backup-1"


class CorruptBackup(BackupTargetError):
    """A chunk or the whole image does not match the sha256 its manifest records."""


def chunk_name(index: int) -> str:
    """The object holding chunk `index`."""
    return f"chunk-{index}"


@dataclass(slots=True)
class Stored:
    """What a backup run wrote: its manifest and how many chunk objects it stored."""

    manifest: dict[str, Any]
    objects: int


def _read_chunk(path: Path, offset: int, size: int) -> tuple[bytes, str, bool]:
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(size)
    # Comparing with a zero buffer runs at memcmp speed, unlike any().
    return data, hashlib.sha256(data).hexdigest(), data == bytes(len(data))


def _same(before: dict[str, Any], digest: str) -> bool:
    """Whether the parent stored (or referenced) a chunk with these bytes."""
    return bool(before["sha256"] == digest and before["kind"] != "zero")


def _parent_entries(parent: dict[str, Any] | None, chunk_size: int) -> dict[int, dict[str, Any]]:
    """The parent's chunks by index, when its chunks line up with ours."""
    if parent is None or parent.get("chunk_size") != chunk_size:
        return {}
    return {int(c["index"]): c for c in parent["chunks"]}


async def store(
    target: BackupTarget,
    raw: Path,
    *,
    container: str,
    backup_id: str,
    volume_id: str,
    chunk_size: int,
    parent: dict[str, Any] | None = None,
    volume_metadata: dict[str, str] | None = None,
) -> Stored:
    """Chunk the raw image into the target; chunks equal to the parent's are referenced."""
    total = (await asyncio.to_thread(raw.stat)).st_size
    whole = hashlib.sha256()
    known = _parent_entries(parent, chunk_size)
    entries: list[dict[str, Any]] = []
    objects = 0
    for index, offset in enumerate(range(0, total, chunk_size)):
        data, digest, zero = await asyncio.to_thread(_read_chunk, raw, offset, chunk_size)
        await asyncio.to_thread(whole.update, data)
        entry: dict[str, Any] = {
            "index": index,
            "offset": offset,
            "length": len(data),
            "sha256": digest,
        }
        before = known.get(index)
        if zero:
            entry["kind"] = "zero"
        elif parent is not None and before is not None and _same(before, digest):
            entry["kind"] = "parent"
            # Always the backup that holds the bytes, so a restore needs one lookup.
            owner = before if before["kind"] == "parent" else parent
            entry["backup_id"], entry["container"] = owner["backup_id"], owner["container"]
        else:
            entry["kind"] = "data"
            await target.write(container, backup_id, chunk_name(index), data)
            objects += 1
        entries.append(entry)
    manifest = {
        "format": FORMAT,
        "backup_id": backup_id,
        "volume_id": volume_id,
        "container": container,
        "parent_id": parent["backup_id"] if parent is not None else None,
        "chunk_size": chunk_size,
        "size": total,
        "sha256": whole.hexdigest(),
        "chunks": entries,
        "volume_metadata": dict(volume_metadata or {}),
    }
    await target.write(container, backup_id, MANIFEST, json.dumps(manifest).encode())
    return Stored(manifest, objects)


async def load_manifest(target: BackupTarget, container: str, backup_id: str) -> dict[str, Any]:
    """The backup's manifest; BackupTargetError when missing or unreadable."""
    raw = await target.read(container, backup_id, MANIFEST)
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise CorruptBackup(f"manifest of backup {backup_id} is not JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CorruptBackup(f"manifest of backup {backup_id} is not a {FORMAT} manifest")
    return manifest


def volume_metadata(manifest: dict[str, Any]) -> dict[str, str]:
    """The volume metadata a manifest kept (none in manifests written before it did)."""
    found = manifest.get("volume_metadata")
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items()}


def borrowed(manifest: dict[str, Any], backup_id: str, container: str) -> dict[str, Any]:
    """A manifest for backup `backup_id` whose chunks are all read from the manifest's backup."""
    entries = []
    for entry in manifest["chunks"]:
        entry = dict(entry)
        if entry["kind"] == "data":
            entry["kind"] = "parent"
            entry["backup_id"], entry["container"] = manifest["backup_id"], manifest["container"]
        entries.append(entry)
    return {**manifest, "backup_id": backup_id, "container": container, "chunks": entries}


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        f.truncate(size)


def _write_at(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def rebuild(target: BackupTarget, manifest: dict[str, Any], dest: Path) -> None:
    """Write the raw image to `dest`, checking every chunk and then the whole image."""
    backup_id = manifest["backup_id"]
    # A sparse file of the full size: zero chunks need no write.
    await asyncio.to_thread(_sparse, dest, int(manifest["size"]))
    whole = hashlib.sha256()
    for entry in manifest["chunks"]:
        index, length = int(entry["index"]), int(entry["length"])
        if entry["kind"] == "zero":
            data = bytes(length)
        else:
            owner = entry.get("backup_id", backup_id)
            container = entry.get("container", manifest["container"])
            data = await target.read(container, owner, chunk_name(index))
            digest = await asyncio.to_thread(_sha256, data)
            if digest != entry["sha256"] or len(data) != length:
                raise CorruptBackup(
                    f"chunk {index} of backup {owner} does not match its sha256 "
                    f"(expected {entry['sha256']}, found {digest})"
                )
            await asyncio.to_thread(_write_at, dest, int(entry["offset"]), data)
        await asyncio.to_thread(whole.update, data)
    if whole.hexdigest() != manifest["sha256"]:
        raise CorruptBackup(
            f"the image rebuilt from backup {backup_id} does not match its sha256 "
            f"(expected {manifest['sha256']}, found {whole.hexdigest()})"
        )
