"""The bridges a guest's NICs plug into, made if the network agent has not made them yet.

libvirt refuses to start a domain whose bridge is missing, and the agent makes
a network's bridge only once it has seen the port bound here; like os-vif's
Linux bridge plugin, the driver makes it first (the agent adopts it, by name).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from stackling.compute.drivers.base import DriverError, NicSpec

SYS_NET = Path("/sys/class/net")


async def _ip(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "ip", *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    return proc.returncode or 0, err.decode(errors="replace").strip()


async def ensure_bridges(nics: Iterable[NicSpec]) -> None:
    """Every NIC's bridge exists and is up."""
    for bridge in sorted({nic.bridge for nic in nics}):
        if not (SYS_NET / bridge).exists():
            rc, err = await _ip("link", "add", "name", bridge, "type", "bridge")
            if rc and "File exists" not in err:
                raise DriverError(f"cannot create bridge {bridge}: {err}")
        rc, err = await _ip("link", "set", bridge, "up")
        if rc:
            raise DriverError(f"cannot bring bridge {bridge} up: {err}")
