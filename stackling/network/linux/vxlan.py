"""VXLAN devices between hosts, and their static forwarding entries (l2-population).

No multicast and no learning: each host is told where every remote VTEP and
every remote MAC is. A network's VXLAN device carries one all-zero MAC entry per
remote VTEP (broadcast, unknown unicast and multicast go to each of them: head-end
replication) and one entry per remote port MAC (unicast goes straight to the host
that has it). `sync_fdb` makes the device's entries exactly that set.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from stackling.network.linux import names
from stackling.network.linux.cmd import bridge_argv, ip_argv, run, run_json
from stackling.network.linux.links import (
    add_link,
    check_ifname,
    check_mac,
    converge,
    delete_link,
    disable_ipv6,
    get_link,
    require_link,
)

LOG = logging.getLogger(__name__)

VXLAN_PORT = 4789  # IANA's; the kernel's default (8472) is Linux's historical one
FLOOD_MAC = "00:00:00:00:00:00"


@dataclass(frozen=True, slots=True)
class FdbEntry:
    """A static forwarding entry of a VXLAN device: frames for `mac` go to VTEP `dst`."""

    mac: str
    dst: str


def _matches(data: Mapping[str, object], vni: int, local_ip: str, port: int) -> bool:
    return (
        data.get("id") == vni
        and data.get("local") == local_ip
        and data.get("port") == port
        and data.get("learning") is False
    )


async def ensure_vxlan(
    vni: int,
    *,
    local_ip: str,
    bridge: str,
    dev: str | None = None,
    mtu: int | None = None,
    port: int = VXLAN_PORT,
    netns: str | None = None,
) -> str:
    """The VXLAN device of `vni` (named by `names.vxlan_name`) in `bridge`; returns its name.

    It sends from `local_ip` (over `dev` if given) to UDP `port`, and does not learn:
    remote MACs come from `sync_fdb`. A device whose VNI, address, port, lower
    device or learning differ is recreated (the kernel cannot change those).
    """
    name = names.vxlan_name(vni)
    local = str(ipaddress.ip_address(local_ip))
    if dev is not None:
        check_ifname(dev)
    link = await get_link(name, netns=netns)
    if link is not None and not (
        link.kind == "vxlan"
        and _matches(link.data, vni, local, port)
        and (dev is None or link.lower == dev)
    ):
        LOG.warning("%s does not match VNI %d from %s:%d: recreating it", name, vni, local, port)
        await delete_link(name, netns=netns)
        link = None
    if link is None:
        argv = ip_argv(netns, "link", "add", "name", name)
        if mtu is not None:
            argv += ["mtu", str(mtu)]
        argv += ["type", "vxlan", "id", str(vni), "local", local, "dstport", str(port)]
        argv += ["nolearning", *(["dev", dev] if dev else [])]
        await add_link(argv)
        await disable_ipv6(name, netns)
        link = await require_link(name, netns)
    await converge(link, netns=netns, mtu=mtu, master=bridge)
    return name


async def list_fdb(device: str, *, netns: str | None = None) -> set[FdbEntry]:
    """The static VTEP entries of a VXLAN device (those with a destination)."""
    entries = await run_json(bridge_argv(netns, "-j", "fdb", "show", "dev", check_ifname(device)))
    return {
        FdbEntry(str(e["mac"]).lower(), str(ipaddress.ip_address(e["dst"])))
        for e in entries
        if e.get("dst")
    }


def wanted_fdb(flood: Collection[str], unicast: Mapping[str, str]) -> set[FdbEntry]:
    """The entries for these remote VTEPs (flooding) and remote MACs (MAC → VTEP address)."""
    wanted = {FdbEntry(FLOOD_MAC, str(ipaddress.ip_address(vtep))) for vtep in flood}
    for mac, vtep in unicast.items():
        wanted.add(FdbEntry(check_mac(mac), str(ipaddress.ip_address(vtep))))
    return wanted


async def sync_fdb(
    device: str,
    *,
    flood: Collection[str],
    unicast: Mapping[str, str],
    netns: str | None = None,
) -> tuple[int, int]:
    """Make a VXLAN device's entries exactly these; (entries added, entries removed)."""
    wanted = wanted_fdb(flood, unicast)
    current = await list_fdb(device, netns=netns)
    stale = sorted(current - wanted, key=lambda e: (e.mac, e.dst))
    missing = sorted(wanted - current, key=lambda e: (e.mac, e.dst))
    if not stale and not missing:
        return 0, 0
    # One `bridge -batch` for the lot; removals first so that a MAC that moved to
    # another VTEP never has two destinations at once.
    lines = [f"fdb del {e.mac} dev {device} dst {e.dst} self" for e in stale]
    # "append", not "replace": several all-zero entries are the flood list.
    lines += [f"fdb append {e.mac} dev {device} dst {e.dst} self permanent" for e in missing]
    await run(bridge_argv(netns, "-batch", "-"), stdin=("\n".join(lines) + "\n").encode())
    return len(missing), len(stale)
