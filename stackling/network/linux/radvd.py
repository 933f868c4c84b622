"""One radvd per router, inside its qrouter- namespace: the advertisements as data, and the daemon.

A router advertises the IPv6 subnets of its interfaces that have an
`ipv6_ra_mode`, as Neutron's L3 agent does with radvd: each qr- device gets
the on-link prefixes with the flags of their mode (slaac: addresses by
autoconfiguration; dhcpv6-stateful: the managed flag, addresses by DHCPv6;
dhcpv6-stateless: autoconfiguration, and the other-configuration flag for
DHCPv6 options), the network's MTU and, for SLAAC subnets, their DNS servers
(RDNSS). Unlike the DHCP server's advertisements (router lifetime 0), these
make the router the guests' default router.

The daemon forks away from us and is found again as dnsmasq is (see
`dnsmasq`): through its pid file, checked against /proc/<pid>/cmdline, or by
a command line naming a configuration under our root, which is how strays of
deleted routers are found. A changed configuration is re-read on SIGHUP;
only a recreated namespace needs a new process.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import itertools
import logging
import os
import shutil
import signal
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from stackling.network.linux import names, procs
from stackling.network.linux.cmd import LinuxNetError, in_netns, run
from stackling.network.linux.links import check_ifname

LOG = logging.getLogger(__name__)

BINARY = "radvd"
START_TIMEOUT_S = 30.0
RA_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
# Neutron's defaults (min_rtr_adv_interval, max_rtr_adv_interval).
MIN_INTERVAL_S = 30
MAX_INTERVAL_S = 100
# radvd takes at most three servers in one RDNSS option (Neutron's MAX_RDNSS_ENTRIES).
MAX_RDNSS = 3
IPV6_MIN_MTU = 1280
CONF_NAME = "radvd.conf"


class Outcome(enum.StrEnum):
    """What `ensure` had to do."""

    STARTED = "started"
    RESTARTED = "restarted"
    RELOADED = "reloaded"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class RaPrefix:
    """One IPv6 subnet advertised on an interface, in its `ipv6_ra_mode`."""

    cidr: str
    mode: str  # slaac, dhcpv6-stateful, dhcpv6-stateless
    dns_nameservers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RaInterface:
    """A router interface (qr-<11>) and the prefixes advertised on it."""

    name: str
    prefixes: tuple[RaPrefix, ...]
    mtu: int | None = None


@dataclass(frozen=True, slots=True)
class RouterAdverts:
    """Everything one router's radvd advertises."""

    router_id: str
    namespace: str  # qrouter-<router id>
    interfaces: tuple[RaInterface, ...]


@dataclass(frozen=True, slots=True)
class RadvdFiles:
    """Where one router's radvd keeps its files: <root>/<router id>/."""

    dir: Path

    @classmethod
    def under(cls, root: Path, router_id: str) -> RadvdFiles:
        """The files of a router under `root`."""
        return cls(root / names.canonical_id(router_id))

    @property
    def conf(self) -> Path:
        """The configuration (re-read on SIGHUP)."""
        return self.dir / CONF_NAME

    @property
    def pid(self) -> Path:
        """The pid file radvd writes."""
        return self.dir / "pid"

    @property
    def log(self) -> Path:
        """radvd's own log."""
        return self.dir / "log"


def root_beside(dhcp_root: Path) -> Path:
    """Where routers' radvd files live: beside the DHCP servers' (one place a sweep looks)."""
    return Path(os.path.abspath(dhcp_root)).parent / "radvd"


# -- rendering (pure) ----------------------------------------------------------------


def _prefix(prefix: RaPrefix) -> ipaddress.IPv6Network:
    if prefix.mode not in RA_MODES:
        raise ValueError(f"bad IPv6 RA mode {prefix.mode!r} for {prefix.cidr}")
    net = ipaddress.ip_network(prefix.cidr)
    if not isinstance(net, ipaddress.IPv6Network):
        raise ValueError(f"{prefix.cidr} is not an IPv6 prefix")
    return net


def _rdnss(prefixes: tuple[RaPrefix, ...]) -> list[str]:
    # As Neutron: SLAAC clients learn DNS servers only from the advertisement; the
    # DHCPv6 modes get them from the DHCP server.
    found: list[str] = []
    for prefix in prefixes:
        if prefix.mode != "slaac":
            continue
        for server in prefix.dns_nameservers:
            address = ipaddress.ip_address(server)
            if address.version == 6 and str(address) not in found:
                found.append(str(address))
    return found[:MAX_RDNSS]


def _interface(interface: RaInterface) -> list[str]:
    name = check_ifname(interface.name)
    nets = [(_prefix(p), p.mode) for p in interface.prefixes]
    modes = {mode for _, mode in nets}
    lines = [
        f"interface {name}",
        "{",
        "    AdvSendAdvert on;",
        f"    MinRtrAdvInterval {MIN_INTERVAL_S};",
        f"    MaxRtrAdvInterval {MAX_INTERVAL_S};",
    ]
    if interface.mtu is not None and interface.mtu >= IPV6_MIN_MTU:
        lines.append(f"    AdvLinkMTU {interface.mtu};")
    if "dhcpv6-stateful" in modes:
        lines.append("    AdvManagedFlag on;")
    if "dhcpv6-stateless" in modes:
        lines.append("    AdvOtherConfigFlag on;")
    if servers := _rdnss(interface.prefixes):
        lines += [f"    RDNSS {' '.join(servers)}", "    {", "    };"]
    for net, mode in nets:
        autonomous = "off" if mode == "dhcpv6-stateful" else "on"
        lines += [
            f"    prefix {net}",
            "    {",
            "        AdvOnLink on;",
            f"        AdvAutonomous {autonomous};",
            "    };",
        ]
    return [*lines, "};"]


def render_config(adverts: RouterAdverts) -> str:
    """radvd.conf: one block per interface with its prefixes; ValueError on a bad input."""
    if not adverts.interfaces:
        raise ValueError(f"router {adverts.router_id} has nothing to advertise")
    lines = [
        f"# Stackling: router advertisements of router {names.canonical_id(adverts.router_id)}.",
        "# Generated: radvd re-reads it on SIGHUP.",
    ]
    seen: set[str] = set()
    for interface in sorted(adverts.interfaces, key=lambda i: i.name):
        if interface.name in seen:
            raise ValueError(f"interface {interface.name} given twice")
        if not interface.prefixes:
            raise ValueError(f"interface {interface.name} has no prefix to advertise")
        seen.add(interface.name)
        lines += _interface(interface)
    return "\n".join(lines) + "\n"


# -- the daemon -------------------------------------------------------------------


def _conf_of(argv: list[str]) -> Path | None:
    if not argv or Path(argv[0]).name != BINARY:
        return None
    for flag, value in itertools.pairwise(argv[1:]):
        if flag in {"-C", "--config"}:
            return Path(value)
    for arg in argv[1:]:
        if arg.startswith("--config="):
            return Path(arg.removeprefix("--config="))
    return None


def running_pid(files: RadvdFiles) -> int | None:
    """The pid of the router's running radvd according to its pid file, checked."""
    return procs.checked_pid(files.pid, files.conf, _conf_of)


def find_processes(root: Path) -> dict[str, list[int]]:
    """Every live radvd whose configuration is under `root`, by router id."""
    return procs.by_network(procs.absolute(root), _conf_of, CONF_NAME)


def _write_conf(adverts: RouterAdverts, files: RadvdFiles) -> bool:
    text = render_config(adverts)
    files.dir.mkdir(parents=True, exist_ok=True)
    return procs.write_if_changed(files.conf, text)


async def _check(adverts: RouterAdverts, files: RadvdFiles) -> None:
    # A configuration radvd cannot read would end the daemon on SIGHUP: refuse it first.
    await run(in_netns(adverts.namespace, [BINARY, "--configtest", "-C", str(files.conf)]))


async def _start(adverts: RouterAdverts, files: RadvdFiles) -> int:
    argv = [BINARY, "-C", str(files.conf), "-p", str(files.pid), "-m", "logfile"]
    argv += ["-l", str(files.log)]
    # The foreground radvd exits once it has forked the daemon.
    what = f"radvd for router {adverts.router_id}"
    await procs.start_daemon(in_netns(adverts.namespace, argv), what, START_TIMEOUT_S)
    logged = f"{what} (see {files.log})"
    pid = await procs.wait_for_pid(lambda: running_pid(files), logged, START_TIMEOUT_S)
    LOG.info("radvd %d advertises router %s in %s", pid, adverts.router_id, adverts.namespace)
    return pid


async def ensure(adverts: RouterAdverts, root: Path) -> Outcome:
    """Make the router's radvd run with exactly these advertisements.

    Absent → started. Running in a namespace that has since been recreated →
    restarted. Configuration changed → SIGHUP. Otherwise nothing is done.
    """
    files = RadvdFiles.under(procs.absolute(root), adverts.router_id)
    changed = await asyncio.to_thread(_write_conf, adverts, files)
    if changed:
        try:
            await _check(adverts, files)
        except LinuxNetError:
            # Seen as changed (and checked) again by the next run.
            await asyncio.to_thread(files.conf.unlink, missing_ok=True)
            raise
    pid = await asyncio.to_thread(running_pid, files)
    if pid is None:
        # One that lost its pid file would advertise alongside the new one.
        orphans = (await asyncio.to_thread(find_processes, files.dir.parent)).get(files.dir.name)
        for orphan in orphans or ():
            LOG.warning("stopping radvd %d of router %s: no pid file", orphan, files.dir.name)
            await procs.kill(orphan, BINARY)
        await _start(adverts, files)
        return Outcome.STARTED
    if not await asyncio.to_thread(procs.in_namespace, pid, adverts.namespace):
        LOG.info(
            "restarting radvd %d of router %s: its namespace was recreated", pid, adverts.router_id
        )
        await procs.kill(pid, BINARY)
        await _start(adverts, files)
        return Outcome.RESTARTED
    if changed:
        os.kill(pid, signal.SIGHUP)
        return Outcome.RELOADED
    return Outcome.UNCHANGED


async def stop(router_id: str, root: Path) -> bool:
    """Stop the router's radvd (every one found for it) and remove its files; whether any ran."""
    root = procs.absolute(root)
    files = RadvdFiles.under(root, router_id)
    pids = set((await asyncio.to_thread(find_processes, root)).get(files.dir.name, ()))
    if (pid := await asyncio.to_thread(running_pid, files)) is not None:
        pids.add(pid)
    for pid in sorted(pids):
        # SIGTERM: radvd's last advertisement says it is no longer a default router.
        await procs.kill(pid, BINARY)
    await asyncio.to_thread(shutil.rmtree, files.dir, ignore_errors=True)
    return bool(pids)


async def list_routers(root: Path) -> list[str]:
    """The routers that have a radvd running, or files, under `root`."""
    root = procs.absolute(root)
    running = await asyncio.to_thread(find_processes, root)
    on_disk = await asyncio.to_thread(procs.id_dirs, root)
    return sorted(set(running) | set(on_disk))


async def kill_strays(root: Path, keep: Collection[str]) -> list[str]:
    """Stop the radvd and remove the files of every router under `root` not in `keep`."""
    present = await list_routers(root)
    return await procs.stop_strays(present, keep, lambda r: stop(r, root), "radvd")
