"""One dnsmasq per network, inside its qdhcp- namespace: start, ensure, reload, stop, sweep.

The daemon forks away from us (so it outlives an agent restart) and is found
again through its pid file, checked against /proc/<pid>/cmdline so that a
recycled pid is never signalled. A process whose command line names a
configuration under our root is ours even without a pid file, which is how
strays of deleted networks are found.

dnsmasq drops its privileges to `nobody` and re-reads its hosts and options
files as that user on SIGHUP, so the root directory and its parents must be
traversable by others; `ensure` checks this instead of letting a reload fail
silently later.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import shutil
import signal
import stat
from collections.abc import Collection
from pathlib import Path

from stackling.network.linux import procs
from stackling.network.linux.cmd import LinuxNetError, in_netns, run
from stackling.network.linux.dhcp import (
    DhcpFiles,
    DhcpNetwork,
    render_addn_hosts,
    render_config,
    render_hosts,
    render_opts,
    stale_leases,
)
from stackling.network.linux.links import get_link

LOG = logging.getLogger(__name__)

BINARY = "dnsmasq"
# From dnsmasq-utils: ends a lease dnsmasq still holds.
RELEASE_BINARY = "dhcp_release"
START_TIMEOUT_S = 30.0


class Outcome(enum.StrEnum):
    """What `ensure` had to do."""

    STARTED = "started"
    RESTARTED = "restarted"
    RELOADED = "reloaded"
    UNCHANGED = "unchanged"


def _conf_of(argv: list[str]) -> Path | None:
    if not argv or Path(argv[0]).name != BINARY:
        return None
    for arg in argv[1:]:
        if arg.startswith("--conf-file="):
            return Path(arg.removeprefix("--conf-file="))
    return None


def running_pid(files: DhcpFiles) -> int | None:
    """The pid of the network's running dnsmasq according to its pid file, checked."""
    return procs.checked_pid(files.pid, files.conf, _conf_of)


def find_processes(root: Path) -> dict[str, list[int]]:
    """Every live dnsmasq whose configuration is under `root`, by network id."""
    return procs.by_network(procs.absolute(root), _conf_of, "dnsmasq.conf")


def _check_readable(root: Path) -> None:
    for path in (root, *root.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise LinuxNetError(
                f"{path} is not traversable by others: dnsmasq (running as nobody) could"
                f" not re-read its files under {root}"
            )


def _write_files(network: DhcpNetwork, files: DhcpFiles) -> tuple[bool, bool]:
    files.dir.mkdir(parents=True, exist_ok=True)
    files.dir.chmod(0o755)
    _check_readable(files.dir)
    conf = procs.write_if_changed(files.conf, render_config(network, files))
    data = [
        procs.write_if_changed(files.hosts, render_hosts(network)),
        procs.write_if_changed(files.opts, render_opts(network)),
        procs.write_if_changed(files.addn_hosts, render_addn_hosts(network)),
    ]
    return conf, any(data)


async def _start(network: DhcpNetwork, files: DhcpFiles, ifindex: int) -> int:
    argv = in_netns(network.namespace, [BINARY, f"--conf-file={files.conf}"])
    # The foreground dnsmasq exits once the daemon reports its start-up.
    what = f"dnsmasq for network {network.network_id}"
    await procs.start_daemon(argv, what, START_TIMEOUT_S)
    pid = await procs.wait_for_pid(lambda: running_pid(files), what, START_TIMEOUT_S)
    await asyncio.to_thread(files.ifindex.write_text, f"{ifindex}\n")
    LOG.info("dnsmasq %d serves network %s in %s", pid, network.network_id, network.namespace)
    return pid


def _recorded_ifindex(files: DhcpFiles) -> int | None:
    try:
        return int(files.ifindex.read_text())
    except (OSError, ValueError):
        return None


async def ensure(network: DhcpNetwork, root: Path) -> Outcome:
    """Make the network's dnsmasq run with exactly this configuration.

    Absent → started. Main configuration changed, or running in a namespace or on
    an interface that has since been recreated → restarted. Only hosts, options
    or names changed → SIGHUP. Otherwise nothing is done.
    """
    files = DhcpFiles.under(procs.absolute(root), network.network_id)
    conf_changed, data_changed = await asyncio.to_thread(_write_files, network, files)
    link = await get_link(network.interface, netns=network.namespace)
    if link is None:
        raise LinuxNetError(f"no interface {network.interface} in {network.namespace} to serve")
    pid = await asyncio.to_thread(running_pid, files)
    outcome = Outcome.STARTED
    if pid is None:
        # One that lost its pid file would hold the ports a new one needs.
        orphans = (await asyncio.to_thread(find_processes, files.dir.parent)).get(files.dir.name)
        for orphan in orphans or ():
            LOG.warning("stopping dnsmasq %d of network %s: no pid file", orphan, files.dir.name)
            await procs.kill(orphan, BINARY)
    else:
        reasons = []
        if conf_changed:
            reasons.append("its configuration changed")
        if not await asyncio.to_thread(procs.in_namespace, pid, network.namespace):
            reasons.append("its namespace was recreated")
        if await asyncio.to_thread(_recorded_ifindex, files) != link.ifindex:
            reasons.append("its interface was recreated")
        if not reasons:
            if data_changed:
                await _release_stale(network, files)
                os.kill(pid, signal.SIGHUP)
                return Outcome.RELOADED
            return Outcome.UNCHANGED
        LOG.info("restarting dnsmasq %d of network %s: %s", pid, network.network_id, reasons)
        await procs.kill(pid, BINARY)
        outcome = Outcome.RESTARTED
    await _start(network, files, link.ifindex)
    return outcome


async def _release_stale(network: DhcpNetwork, files: DhcpFiles) -> None:
    """Free the leases of deleted ports, or dnsmasq keeps their addresses from new ports.

    A port deleted and its address given to a new port with another MAC: dnsmasq
    refuses the new MAC while the old lease lasts. dhcp_release tells it the
    lease is over (Neutron does the same on port delete).
    """
    try:
        text = await asyncio.to_thread(files.leases.read_text)
    except FileNotFoundError:
        return
    for ip, mac in stale_leases(text, network.hosts):
        argv = in_netns(network.namespace, [RELEASE_BINARY, network.interface, ip, mac])
        try:
            await run(argv)
        except LinuxNetError as exc:
            LOG.warning("could not release the lease of %s (%s): %s", ip, mac, exc)


async def reload(network_id: str, root: Path) -> bool:
    """Have the network's dnsmasq re-read its hosts, options and names; False if not running."""
    pid = await asyncio.to_thread(running_pid, DhcpFiles.under(procs.absolute(root), network_id))
    if pid is None:
        return False
    os.kill(pid, signal.SIGHUP)
    return True


async def stop(network_id: str, root: Path, *, remove_files: bool = True) -> None:
    """Stop the network's dnsmasq (every one found for it) and remove its files if asked."""
    root = procs.absolute(root)
    files = DhcpFiles.under(root, network_id)
    pids = set((await asyncio.to_thread(find_processes, root)).get(files.dir.name, ()))
    if (pid := await asyncio.to_thread(running_pid, files)) is not None:
        pids.add(pid)
    for pid in sorted(pids):
        await procs.kill(pid, BINARY)
    if remove_files:
        await asyncio.to_thread(shutil.rmtree, files.dir, ignore_errors=True)
    else:
        await asyncio.to_thread(files.pid.unlink, missing_ok=True)


async def list_networks(root: Path) -> list[str]:
    """The networks that have a dnsmasq running, or files, under `root`."""
    root = procs.absolute(root)
    running = await asyncio.to_thread(find_processes, root)
    on_disk = await asyncio.to_thread(procs.id_dirs, root)
    return sorted(set(running) | set(on_disk))


async def kill_strays(root: Path, keep: Collection[str]) -> list[str]:
    """Stop the dnsmasq and remove the files of every network under `root` not in `keep`."""
    present = await list_networks(root)
    return await procs.stop_strays(present, keep, lambda n: stop(n, root), "DHCP server")
