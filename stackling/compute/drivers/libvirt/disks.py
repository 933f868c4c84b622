"""An instance's files and the qemu-img/mkfs work on them; every command is bounded.

A disk file only ever appears under its final name complete: each is written to a
hidden partial file beside it and renamed, so a crash mid-way leaves nothing that a
second spawn would mistake for a finished disk.
"""

from __future__ import annotations

import asyncio
import errno
import json
import mmap
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackling.common import commands
from stackling.compute.drivers.base import DriverError

GIB = 1 << 30
# Where the system libvirtd keeps each domain's QEMU log (command line and stderr).
QEMU_LOG_DIR = Path("/var/log/libvirt/qemu")
QUICK_TIMEOUT_S = 60.0
# Copying a whole disk: bounded, but generously (a large root disk on a slow filesystem).
COPY_TIMEOUT_S = 3600.0


@dataclass(frozen=True, slots=True)
class InstanceFiles:
    """Where one instance's files live: instances_dir/<uuid>/..."""

    dir: Path

    @property
    def disk(self) -> Path:
        """The root disk: a qcow2 overlay of the base image."""
        return self.dir / "disk"

    @property
    def ephemeral(self) -> Path:
        """The first ephemeral disk."""
        return self.dir / "disk.eph0"

    @property
    def swap(self) -> Path:
        """The swap disk."""
        return self.dir / "disk.swap"

    @property
    def rescue(self) -> Path:
        """The rescue image's overlay, present only while rescued."""
        return self.dir / "disk.rescue"

    @property
    def console(self) -> Path:
        """The serial console log that virtlogd writes."""
        return self.dir / "console.log"


async def run(argv: list[str], *, timeout_s: float = QUICK_TIMEOUT_S) -> str:
    """Run a command to completion; its stdout, or DriverError with its stderr."""
    return await commands.run(argv, timeout_s=timeout_s, error=DriverError)


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


async def _publish(partial: Path, final: Path) -> None:
    await asyncio.to_thread(os.replace, partial, final)


async def image_info(path: Path) -> dict[str, Any]:
    """`qemu-img info` of a file (read with force-share: running guests may hold it)."""
    out = await run(["qemu-img", "info", "--force-share", "--output=json", str(path)])
    info: dict[str, Any] = json.loads(out)
    return info


async def virtual_size(path: Path) -> int:
    """The virtual size of a disk image in bytes."""
    return int((await image_info(path))["virtual-size"])


async def create_overlay(dest: Path, base: Path, base_format: str, min_bytes: int = 0) -> None:
    """A qcow2 copy-on-write overlay of `base`, at least `min_bytes` large; kept if present."""
    if await asyncio.to_thread(dest.exists):
        return
    base = await asyncio.to_thread(base.resolve)
    size = await virtual_size(base)
    partial = _partial(dest)
    argv = ["qemu-img", "create", "-q", "-f", "qcow2", "-F", base_format, "-b", str(base)]
    argv.append(str(partial))
    if min_bytes > size:
        argv.append(str(min_bytes))
    await run(argv)
    await _publish(partial, dest)


async def create_blank(dest: Path, size_bytes: int, kind: str) -> None:
    """A sparse raw disk formatted as Nova does: ext4 for ephemeral, swap for swap."""
    if await asyncio.to_thread(dest.exists):
        return
    partial = _partial(dest)

    def allocate() -> None:
        with partial.open("wb") as f:
            f.truncate(size_bytes)

    await asyncio.to_thread(allocate)
    if kind == "swap":
        await run(["mkswap", str(partial)])
    else:
        await run(["mkfs.ext4", "-F", "-q", "-L", "ephemeral0", str(partial)])
    await _publish(partial, dest)


async def grow(path: Path, size_bytes: int) -> None:
    """Make a disk's virtual size `size_bytes` if it is smaller; never shrinks."""
    if size_bytes > await virtual_size(path):
        await run(["qemu-img", "resize", "-q", str(path), str(size_bytes)])


async def convert(src: Path, src_format: str, dest: Path, dest_format: str = "qcow2") -> None:
    """A standalone copy of `src` (backing chain flattened) at `dest`, published whole."""
    partial = _partial(dest)
    try:
        argv = ["qemu-img", "convert", "-q", "-f", src_format, "-O", dest_format]
        await run([*argv, str(src), str(partial)], timeout_s=COPY_TIMEOUT_S)
        await _publish(partial, dest)
    finally:
        await asyncio.to_thread(partial.unlink, missing_ok=True)


def supports_direct_io(directory: Path) -> bool:
    """Whether files in `directory` can be opened with O_DIRECT (tmpfs cannot)."""
    probe = directory / f".directio.{os.getpid()}"
    flags = os.O_CREAT | os.O_WRONLY | getattr(os, "O_DIRECT", 0)
    try:
        fd = os.open(probe, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return False
        raise
    try:
        # An aligned write, as QEMU will make: some filesystems accept the open but not this.
        buf = mmap.mmap(-1, 4096)
        try:
            os.write(fd, buf)
        except OSError:
            return False
        finally:
            buf.close()
        return True
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)


def reads_direct(path: Path) -> bool:
    """Whether an existing file opens with O_DIRECT (tmpfs refuses); missing: assume so.

    Only opened for reading and read from, so a volume service's file is never changed.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECT", 0))
    except FileNotFoundError:
        return True
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return False
        raise DriverError(f"cannot open volume file {path}: {exc.strerror}") from exc
    try:
        buf = mmap.mmap(-1, 4096)
        try:
            os.readv(fd, [buf])
        except OSError:
            return False
        finally:
            buf.close()
        return True
    finally:
        os.close(fd)


def read_tail(path: Path, max_bytes: int | None) -> str:
    """The last `max_bytes` of a log file as text ("" when it does not exist yet)."""
    try:
        with path.open("rb") as f:
            if max_bytes is not None:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(size - max_bytes, 0))
            data = f.read()
    except FileNotFoundError:
        return ""
    return data.decode(errors="replace")


def remove_qemu_logs(name: str, log_dir: Path = QEMU_LOG_DIR) -> None:
    """Remove libvirt's QEMU logs of the domain `name` (rotated ones too)."""
    for path in log_dir.glob(f"{name}.log*"):
        path.unlink(missing_ok=True)
