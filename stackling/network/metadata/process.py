"""One metadata proxy per network, inside its namespace: ensure, stop, list, sweep.

Like dnsmasq, the proxy detaches (so it outlives an agent restart) and is
found again through its pid file, <dhcp root>/<network>/metadata-proxy.pid,
checked against /proc/<pid>/cmdline. A process whose command line names a pid
file under our root is ours even without the file: that is how strays are found.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from stackling.network.linux import names, procs
from stackling.network.linux.cmd import LinuxNetError, in_netns
from stackling.network.linux.dhcp import METADATA_IP, DhcpFiles

LOG = logging.getLogger(__name__)

MODULE = "stackling.network.metadata.proxy"
PIDFILE = "metadata-proxy.pid"
START_TIMEOUT_S = 30.0
WHAT = "metadata proxy"


class Outcome(enum.StrEnum):
    """What `ensure` had to do."""

    STARTED = "started"
    RESTARTED = "restarted"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class ProxySpec:
    """One network's proxy: where it listens and where it forwards."""

    network_id: str
    namespace: str
    upstream: Path  # the host's metadata unix socket
    address: str = METADATA_IP
    port: int = 80


def pidfile(root: Path, network_id: str) -> Path:
    """The proxy's pid file, beside the network's DHCP files."""
    return DhcpFiles.under(procs.absolute(root), network_id).dir / PIDFILE


def command(spec: ProxySpec, root: Path) -> list[str]:
    """The proxy's command line (what a running one must show to be left alone)."""
    listen = f"[{spec.address}]" if ":" in spec.address else spec.address
    return [
        sys.executable,
        # Isolated: no PYTHONPATH, user site or current directory in the guest-facing process.
        "-I",
        "-m",
        MODULE,
        f"--listen={listen}:{spec.port}",
        f"--network-id={names.canonical_id(spec.network_id)}",
        f"--upstream={os.path.abspath(spec.upstream)}",
        f"--pidfile={pidfile(root, spec.network_id)}",
        "--daemon",
    ]


def _pidfile_of(argv: list[str]) -> Path | None:
    if MODULE not in argv:
        return None
    for arg in argv:
        if arg.startswith("--pidfile="):
            return Path(arg.removeprefix("--pidfile="))
    return None


def running_pid(root: Path, network_id: str) -> int | None:
    """The pid of the network's proxy according to its pid file, checked against /proc."""
    path = pidfile(root, network_id)
    return procs.checked_pid(path, path, _pidfile_of)


def find_processes(root: Path) -> dict[str, list[int]]:
    """Every live proxy whose pid file is under `root`, by network id."""
    return procs.by_network(procs.absolute(root), _pidfile_of, PIDFILE)


async def _start(spec: ProxySpec, root: Path) -> int:
    path = pidfile(root, spec.network_id)
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(path.unlink, missing_ok=True)
    argv = in_netns(spec.namespace, command(spec, root))
    # The foreground process exits once it listens and has forked the daemon.
    detail = await procs.start_daemon(
        argv, f"{WHAT} for network {spec.network_id}", START_TIMEOUT_S
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while (pid := await asyncio.to_thread(running_pid, root, spec.network_id)) is None:
        if time.monotonic() > deadline:
            raise LinuxNetError(f"{WHAT} for network {spec.network_id} is not running: {detail}")
        await asyncio.sleep(0.05)
    LOG.info("%s %d serves network %s in %s", WHAT, pid, spec.network_id, spec.namespace)
    return pid


async def ensure(spec: ProxySpec, root: Path) -> Outcome:
    """Make the network's proxy run with exactly this command line, in this namespace."""
    pid = await asyncio.to_thread(running_pid, root, spec.network_id)
    outcome = Outcome.STARTED
    if pid is None:
        # One that lost its pid file would hold the address and port a new one needs.
        orphans = (await asyncio.to_thread(find_processes, root)).get(
            names.canonical_id(spec.network_id)
        )
        for orphan in orphans or ():
            LOG.warning("stopping %s %d of network %s: no pid file", WHAT, orphan, spec.network_id)
            await procs.kill(orphan, WHAT)
    else:
        reasons = []
        if await asyncio.to_thread(procs.cmdline, pid) != command(spec, root):
            reasons.append("its command line changed")
        if not await asyncio.to_thread(procs.in_namespace, pid, spec.namespace):
            reasons.append("its namespace was recreated")
        if not reasons:
            return Outcome.UNCHANGED
        LOG.info("restarting %s %d of network %s: %s", WHAT, pid, spec.network_id, reasons)
        await procs.kill(pid, WHAT)
        outcome = Outcome.RESTARTED
    await _start(spec, root)
    return outcome


async def stop(network_id: str, root: Path) -> None:
    """Stop the network's proxy (every one found for it) and remove its pid file."""
    root = procs.absolute(root)
    network_id = names.canonical_id(network_id)
    pids = set((await asyncio.to_thread(find_processes, root)).get(network_id, ()))
    if (pid := await asyncio.to_thread(running_pid, root, network_id)) is not None:
        pids.add(pid)
    for pid in sorted(pids):
        await procs.kill(pid, WHAT)
    await asyncio.to_thread(pidfile(root, network_id).unlink, missing_ok=True)


async def list_networks(root: Path) -> list[str]:
    """The networks that have a proxy running under `root`."""
    return sorted(await asyncio.to_thread(find_processes, root))


async def kill_strays(root: Path, keep: Collection[str]) -> list[str]:
    """Stop the proxy of every network under `root` not in `keep`."""
    present = await list_networks(root)
    return await procs.stop_strays(present, keep, lambda n: stop(n, root), WHAT)
