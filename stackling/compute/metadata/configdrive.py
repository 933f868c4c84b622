"""Build a config drive: an ISO9660 image (Rock Ridge + Joliet) labelled config-2."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

VOLUME_LABEL = "config-2"
_PUBLISHER = "Stackling"
_DEFAULT_TIMEOUT_S = 60.0
# The same ISO options Nova uses, so guests find the names they expect.
_ISO_OPTIONS = (
    "-ldots",
    "-allow-lowercase",
    "-allow-multidot",
    "-l",
    "-publisher",
    _PUBLISHER,
    "-quiet",
    "-J",
    "-r",
    "-V",
    VOLUME_LABEL,
)


class ConfigDriveError(Exception):
    """The config drive could not be built."""


def mkisofs_command() -> list[str]:
    """The mkisofs-compatible tool on this host: genisoimage, else xorriso -as mkisofs."""
    genisoimage = shutil.which("genisoimage")
    if genisoimage:
        return [genisoimage]
    xorriso = shutil.which("xorriso")
    if xorriso:
        return [xorriso, "-as", "mkisofs"]
    raise ConfigDriveError("Neither genisoimage nor xorriso is installed")


async def build_config_drive(
    files: dict[str, bytes],
    dest: Path,
    *,
    command: Sequence[str] | None = None,
    timeout: float = _DEFAULT_TIMEOUT_S,
) -> None:
    """Write `files` (relative path → content) as a config drive ISO at `dest`, atomically."""
    for path in files:
        _check_relative(path)
    argv = list(command) if command is not None else mkisofs_command()
    dest = Path(dest)
    staging: Path | None = None
    tmp: Path | None = None
    try:
        staging = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="configdrive-"))
        tmp = await asyncio.to_thread(_temp_beside, dest)
        await asyncio.to_thread(_stage, files, staging)
        await _run([*argv, "-o", str(tmp), *_ISO_OPTIONS, str(staging)], timeout)
        await asyncio.to_thread(_commit, tmp, dest)
        tmp = None
    except OSError as exc:
        raise ConfigDriveError(f"Could not write config drive {dest}: {exc}") from exc
    finally:
        await asyncio.to_thread(_cleanup, staging, tmp)


def _check_relative(path: str) -> None:
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or any(part in ("..", ".") for part in pure.parts):
        raise ConfigDriveError(f"Config drive path {path!r} must be relative and plain")


def _temp_beside(dest: Path) -> Path:
    # In dest's directory, so the final rename stays on one filesystem.
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    return Path(name)


def _cleanup(staging: Path | None, tmp: Path | None) -> None:
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
    if tmp is not None:
        tmp.unlink(missing_ok=True)


def _stage(files: dict[str, bytes], root: Path) -> None:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _commit(tmp: Path, dest: Path) -> None:
    # fsync the image, then the directory after the rename: after a crash the
    # drive is either the old one or the whole new one, never a torn file.
    with tmp.open("rb+") as f:
        os.fsync(f.fileno())
    tmp.chmod(0o644)
    os.replace(tmp, dest)
    dir_fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


async def _run(argv: list[str], timeout: float) -> None:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise ConfigDriveError(f"Could not run {argv[0]}: {exc}") from exc
    try:
        async with asyncio.timeout(timeout):
            _, err = await proc.communicate()
    except TimeoutError:
        raise ConfigDriveError(f"{argv[0]} took longer than {timeout:g} s") from None
    finally:
        # Timed out or cancelled: never leave the tool running behind us.
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        stderr = err.decode(errors="replace").strip()
        raise ConfigDriveError(f"{argv[0]} failed (exit {proc.returncode}): {stderr}")
