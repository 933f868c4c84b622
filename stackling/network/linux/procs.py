"""Daemons we start and find again: command lines, pid files, namespaces, stopping.

Daemons (dnsmasq, the metadata proxy) outlive the agent that started them, so
they are found again through their pid files and /proc, and a pid is trusted
only when its command line is the one we expect: a recycled pid is never
signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import TypeVar

from stackling.network.linux import names
from stackling.network.linux.cmd import LinuxNetError
from stackling.network.linux.netns import namespace_inode

LOG = logging.getLogger(__name__)

PROC = Path("/proc")
STOP_TIMEOUT_S = 10.0
T = TypeVar("T")


def cmdline(pid: int) -> list[str] | None:
    """The command line of a live process; None if it is gone (or a zombie)."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    if state in {"Z", "X"} or not raw:
        return None  # a zombie is dead, whoever is (not) reaping it
    return raw.rstrip(b"\0").decode(errors="replace").split("\0")


def read_pidfile(path: Path) -> int | None:
    """The pid a pid file names, or None if it is absent or unreadable."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def scan(match: Callable[[list[str]], T | None]) -> list[tuple[int, T]]:
    """Every live process whose command line `match` recognises, with what it said."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        argv = cmdline(int(entry.name))
        if argv and (what := match(argv)) is not None:
            found.append((int(entry.name), what))
    return found


def in_namespace(pid: int, namespace: str) -> bool:
    """Whether the process runs in the named network namespace (as it is now)."""
    try:
        theirs = (PROC / str(pid) / "ns" / "net").stat().st_ino
    except OSError:
        return False
    return theirs == namespace_inode(namespace)


async def wait_gone(pid: int, timeout_s: float) -> bool:
    """Wait for the process to end; whether it did in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(cmdline, pid) is None:
            return True
        await asyncio.sleep(0.05)
    return False


async def kill(pid: int, what: str, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, then SIGKILL if it lingers; `what` names it in the error."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if await wait_gone(pid, timeout_s):
            return
    raise LinuxNetError(f"{what} {pid} survived SIGKILL")


def remove_pidfile(path: Path, pid: int | None = None) -> None:
    """Remove a pid file (only if it still names `pid`, when given)."""
    with contextlib.suppress(FileNotFoundError):
        if pid is None or read_pidfile(path) == pid:
            path.unlink()


def by_network(
    root: Path, file_of: Callable[[list[str]], Path | None], name: str
) -> dict[str, list[int]]:
    """Live processes whose command line names `<root>/<network id>/<name>`, by network id."""

    def network_of(argv: list[str]) -> str | None:
        path = file_of(argv)
        if path is None or path.parent.parent != root or path.name != name:
            return None
        try:
            return names.canonical_id(path.parent.name)
        except ValueError:
            return None

    found: dict[str, list[int]] = {}
    for pid, network_id in scan(network_of):
        found.setdefault(network_id, []).append(pid)
    return found


async def start_daemon(argv: list[str], what: str, timeout_s: float) -> str:
    """Run a command that forks its daemon and exits 0 once it serves; its stderr.

    LinuxNetError, with what it printed, when it fails or takes longer than `timeout_s`.
    """
    # stderr to a file, not a pipe: the daemon it forks could hold a pipe open forever.
    with tempfile.TemporaryFile() as errors:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
        try:
            rc: int | None = await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            rc = None
        errors.seek(0)
        detail = errors.read().decode(errors="replace").strip()[-2000:]
    if rc != 0:
        how = "timed out" if rc is None else f"exited with {rc}"
        raise LinuxNetError(f"{what} {how}: {detail}")
    return detail


def id_dirs(root: Path) -> list[str]:
    """The directories under `root` named by a canonical id (one per network or router)."""
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        with contextlib.suppress(ValueError):
            if entry.is_dir() and names.canonical_id(entry.name) == entry.name:
                found.append(entry.name)
    return found


async def stop_strays(
    present: list[str],
    keep: Collection[str],
    stop: Callable[[str], Awaitable[object]],
    what: str,
) -> list[str]:
    """Stop the daemon (and remove the files) of every id in `present` not in `keep`."""
    kept = {names.canonical_id(k) for k in keep}
    strays = [i for i in present if i not in kept]
    for ident in strays:
        LOG.info("removing the %s of %s, which is gone", what, ident)
        await stop(ident)
    return strays


def absolute(root: Path) -> Path:
    """`root` made absolute without resolving links, as daemons' command lines name it."""
    return Path(os.path.abspath(root))


def checked_pid(
    pidfile: Path, named: Path, file_of: Callable[[list[str]], Path | None]
) -> int | None:
    """The pid in `pidfile` if that process's command line names `named`, else None."""
    pid = read_pidfile(pidfile)
    if pid is None:
        return None
    argv = cmdline(pid)
    return pid if argv is not None and file_of(argv) == named else None


def write_if_changed(path: Path, text: str) -> bool:
    """Replace `path` atomically (mode 0644) when its text differs; whether it did."""
    with contextlib.suppress(FileNotFoundError):
        if path.read_text() == text:
            return False
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    # Daemons refuse (radvd) or cannot re-read as nobody (dnsmasq) files others may not.
    tmp.chmod(0o644)
    os.replace(tmp, path)
    return True


async def wait_for_pid(read: Callable[[], int | None], what: str, timeout_s: float) -> int:
    """Poll `read` (a checked pid file) until the daemon has written its pid."""
    deadline = time.monotonic() + timeout_s
    while (pid := await asyncio.to_thread(read)) is None:
        if time.monotonic() > deadline:
            raise LinuxNetError(f"{what} wrote no pid file")
        await asyncio.sleep(0.05)
    return pid
