"""Named network namespaces (`ip netns`) and the sysctls inside them.

A namespace is created with its loopback up, and deleting one first kills what
still runs in it: a process would otherwise keep the namespace (and its
interfaces, addresses and nftables tables) alive after its name is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from collections.abc import Mapping
from pathlib import Path

from stackling.network.linux.cmd import (
    CommandError,
    LinuxNetError,
    in_netns,
    ip_argv,
    run,
    run_json,
)

LOG = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")
_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,200}")
_SYSCTL = re.compile(r"[a-z0-9_]+(\.[A-Za-z0-9_-]+)+")
# Writes "path value" pairs; one `ip netns exec` for any number of sysctls.
_WRITE_SYSCTLS = 'while [ $# -gt 1 ]; do printf "%s\\n" "$2" > "$1" || exit 1; shift 2; done'


def check_name(name: str) -> str:
    """`name` if it is a usable namespace name (a file name under /run/netns), else ValueError."""
    if not _NAME.fullmatch(name) or name in {".", ".."}:
        raise ValueError(f"bad network namespace name {name!r}")
    return name


async def list_namespaces() -> list[str]:
    """Every named network namespace on this machine."""
    entries = await run_json(["ip", "-j", "netns", "list"])
    return sorted(str(entry["name"]) for entry in entries)


async def namespace_exists(name: str) -> bool:
    """Whether the named namespace exists."""
    return await asyncio.to_thread((NETNS_DIR / check_name(name)).exists)


def namespace_inode(name: str) -> int | None:
    """The inode of the namespace behind a name (to tell a recreated namespace apart)."""
    try:
        return (NETNS_DIR / check_name(name)).stat().st_ino
    except FileNotFoundError:
        return None


async def ensure_namespace(name: str) -> None:
    """Create the namespace unless it exists, and bring its loopback up."""
    if await namespace_exists(name):
        try:
            entries = await run_json(ip_argv(name, "-j", "link", "show", "dev", "lo"))
        except CommandError:
            entries = []  # a stale name: repaired below
        if entries and "UP" in entries[0].get("flags", ()):
            return
    try:
        await run(["ip", "netns", "add", check_name(name)])
    except CommandError as exc:
        if not exc.says("file exists"):
            raise
    try:
        await run(ip_argv(name, "link", "set", "lo", "up"))
    except CommandError as exc:
        # A name left behind without its namespace (a crash between creating the
        # file and mounting on it): start again from nothing.
        if not exc.says("invalid argument", "no such file", "not a network namespace"):
            raise
        LOG.warning("network namespace %s was a stale name; recreating it", name)
        await run(["ip", "netns", "delete", name])
        await run(["ip", "netns", "add", name])
        await run(ip_argv(name, "link", "set", "lo", "up"))


async def namespace_pids(name: str) -> list[int]:
    """The processes running in the namespace."""
    try:
        out = await run(["ip", "netns", "pids", check_name(name)])
    except CommandError as exc:
        if exc.says("no such file", "invalid argument"):
            return []
        raise
    return [int(word) for word in out.split()]


async def delete_namespace(name: str) -> None:
    """Kill what runs in the namespace and remove it; an absent one is fine."""
    if not await namespace_exists(name):
        return
    for pid in await namespace_pids(name):
        LOG.info("killing process %d still running in namespace %s", pid, name)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    try:
        await run(["ip", "netns", "delete", name])
    except CommandError as exc:
        if not exc.says("no such file"):
            raise


def _sysctl_path(key: str) -> str:
    if not _SYSCTL.fullmatch(key):
        raise ValueError(f"bad sysctl name {key!r}")
    return "/proc/sys/" + key.replace(".", "/")


async def set_sysctls(values: Mapping[str, str | int], *, netns: str | None = None) -> None:
    """Write sysctls (dotted names, e.g. net.ipv4.ip_forward) in a namespace or the current one."""
    pairs = [(_sysctl_path(key), str(value)) for key, value in values.items()]
    if not pairs:
        return
    if netns is None:

        def write() -> None:
            for path, value in pairs:
                Path(path).write_text(value + "\n")

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            raise LinuxNetError(f"cannot set sysctls {dict(values)}: {exc}") from exc
        return
    args = [arg for pair in pairs for arg in pair]
    await run(in_netns(netns, ["sh", "-c", _WRITE_SYSCTLS, "sh", *args]))


async def get_sysctl(key: str, *, netns: str | None = None) -> str:
    """Read one sysctl in a namespace or the current one."""
    path = _sysctl_path(key)
    if netns is None:
        return (await asyncio.to_thread(Path(path).read_text)).strip()
    return (await run(in_netns(netns, ["cat", path]))).strip()


async def enable_forwarding(netns: str, *, ipv6: bool = True, on: bool = True) -> None:
    """Make a namespace route between its interfaces (a router's namespace), or stop it."""
    values: dict[str, str | int] = {"net.ipv4.ip_forward": int(on)}
    if ipv6:
        values["net.ipv6.conf.all.forwarding"] = int(on)
    await set_sysctls(values, netns=netns)


async def enable_ipv6(device: str, *, netns: str) -> None:
    """IPv6 on a router's device, deaf to other routers' advertisements (it is the router)."""
    # accept_ra counts when forwarding is off: an admin-down router would otherwise
    # take addresses and routes from the DHCP server's advertisements on its link.
    prefix = f"net.ipv6.conf.{device}"
    await set_sysctls({f"{prefix}.disable_ipv6": 0, f"{prefix}.accept_ra": 0}, netns=netns)
