"""Links (bridges, veth pairs, taps) made to match a description, whatever exists already.

Each `ensure_*` reads what is there (`ip -j -d link show`) and converges: absent
→ created, present and matching → nothing done, present but different → fixed
in place where the kernel allows it, else deleted and recreated. Each delete
tolerates absence. Every function takes the namespace the link lives in
(`netns=None` for the current one, normally the host's), so a whole host's
data plane can also be built inside a namespace that stands in for the host.

Host-side devices (bridges and their ports) get IPv6 disabled: otherwise the
host would autoconfigure addresses from tenant router advertisements and talk
on tenant networks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackling.network.linux import names
from stackling.network.linux.cmd import CommandError, LinuxNetError, ip_argv, run, run_json
from stackling.network.linux.netns import set_sysctls

LOG = logging.getLogger(__name__)

_IFNAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
_ABSENT = ("cannot find device", "does not exist", "no such device")


def check_ifname(name: str) -> str:
    """`name` if it is a valid interface name (at most 15 plain characters), else ValueError."""
    if not _IFNAME.fullmatch(name) or name in {".", ".."}:
        raise ValueError(f"bad interface name {name!r} (at most 15 of A-Z a-z 0-9 _ . -)")
    return name


def check_mac(mac: str) -> str:
    """A MAC address in lowercase colon form; ValueError if it is not one."""
    mac = mac.strip().lower().replace("-", ":")
    if not _MAC.fullmatch(mac):
        raise ValueError(f"bad MAC address {mac!r}")
    return mac


@dataclass(frozen=True, slots=True)
class Link:
    """One network interface as `ip -j -d link show` describes it."""

    name: str
    ifindex: int
    kind: str | None  # "bridge", "veth", "vxlan", "tun"... None for plain devices
    mtu: int
    mac: str
    up: bool  # administratively up (IFF_UP), whatever the carrier
    master: str | None = None
    # For a veth: the peer's ifindex, and the peer's namespace id when it is elsewhere.
    peer_ifindex: int | None = None
    peer_netnsid: int | None = None
    # The lower device of a VXLAN (or the peer of a veth in the same namespace).
    lower: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)  # linkinfo.info_data

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> Link:
        """Parse one entry of `ip -j -d link show`."""
        info = entry.get("linkinfo") or {}
        kind = info.get("info_kind")
        if kind == "tun" and (info.get("info_data") or {}).get("type") == "tap":
            kind = "tap"
        name = str(entry["ifname"])
        lower = entry.get("link")
        return cls(
            name=name,
            ifindex=int(entry["ifindex"]),
            kind=kind,
            mtu=int(entry.get("mtu", 0)),
            mac=str(entry.get("address", "")),
            up="UP" in entry.get("flags", ()),
            master=entry.get("master"),
            peer_ifindex=entry.get("link_index"),
            peer_netnsid=entry.get("link_netnsid"),
            lower=lower if isinstance(lower, str) else None,
            data=info.get("info_data") or {},
        )


@dataclass(frozen=True, slots=True)
class LinkStats:
    """A link's packet counters."""

    rx_packets: int
    rx_bytes: int
    tx_packets: int
    tx_bytes: int
    rx_dropped: int
    tx_dropped: int


async def get_link(name: str, *, netns: str | None = None) -> Link | None:
    """The link called `name`, or None."""
    try:
        entries = await run_json(
            ip_argv(netns, "-j", "-d", "link", "show", "dev", check_ifname(name))
        )
    except CommandError as exc:
        if exc.says(*_ABSENT):
            return None
        raise
    return Link.from_json(entries[0]) if entries else None


async def list_links(*, netns: str | None = None) -> list[Link]:
    """Every link in the namespace."""
    return [Link.from_json(e) for e in await run_json(ip_argv(netns, "-j", "-d", "link", "show"))]


async def list_owned_links(*, netns: str | None = None) -> list[names.Owned]:
    """The links in the namespace whose names say they are ours (see `names`)."""
    owned = (names.parse_link(link.name) for link in await list_links(netns=netns))
    return [o for o in owned if o is not None]


async def delete_link(name: str, *, netns: str | None = None) -> None:
    """Delete a link (a veth takes its peer with it); an absent one is fine."""
    try:
        await run(ip_argv(netns, "link", "del", "dev", check_ifname(name)))
    except CommandError as exc:
        if not exc.says(*_ABSENT):
            raise


async def link_stats(name: str, *, netns: str | None = None) -> LinkStats:
    """The link's packet counters; LinuxNetError when it does not exist."""
    try:
        entries = await run_json(
            ip_argv(netns, "-j", "-s", "link", "show", "dev", check_ifname(name))
        )
    except CommandError as exc:
        if exc.says(*_ABSENT):
            raise LinuxNetError(f"no link {name} to read counters of") from None
        raise
    stats = entries[0]["stats64"]
    rx, tx = stats["rx"], stats["tx"]
    return LinkStats(
        rx_packets=rx["packets"],
        rx_bytes=rx["bytes"],
        tx_packets=tx["packets"],
        tx_bytes=tx["bytes"],
        rx_dropped=rx["dropped"],
        tx_dropped=tx["dropped"],
    )


async def converge(
    link: Link,
    *,
    netns: str | None,
    mtu: int | None = None,
    master: str | None = None,
    mac: str | None = None,
) -> None:
    """Set what differs on `link` (MTU, bridge, MAC) and bring it up, in one `ip link set`."""
    args: list[str] = []
    if mtu is not None and link.mtu != mtu:
        args += ["mtu", str(mtu)]
    if master is not None and link.master != master:
        args += ["master", check_ifname(master)]
    if mac is not None and link.mac.lower() != mac:
        args += ["address", mac]
    if not link.up:
        args.append("up")
    if args:
        await run(ip_argv(netns, "link", "set", "dev", link.name, *args))


async def disable_ipv6(name: str, netns: str | None) -> None:
    """Turn IPv6 off on a host-side device (a warning, not an error, where IPv6 is absent)."""
    try:
        await set_sysctls({f"net.ipv6.conf.{name}.disable_ipv6": 1}, netns=netns)
    except (LinuxNetError, ValueError) as exc:
        # A kernel without IPv6 has nothing to disable.
        LOG.warning("cannot disable IPv6 on %s: %s", name, exc)


async def add_link(argv: list[str]) -> None:
    """Run an `ip link add`; a concurrent creator having won the race is not an error."""
    try:
        await run(argv)
    except CommandError as exc:
        if not exc.says("file exists"):
            raise


_BRIDGE_OPTIONS = {"stp_state": 0, "forward_delay": 0}


async def ensure_bridge(
    name: str, *, mtu: int | None = None, netns: str | None = None, netfilter: bool = True
) -> None:
    """A VLAN-unaware bridge without STP, up, with this MTU, its IP traffic through netfilter.

    `netfilter` is br_netfilter per bridge, rather than the host-wide bridge-nf-call
    sysctls: only the cloud's bridges pay for it, and the security groups'
    connection tracking needs it (see `secgroups`).
    """
    check_ifname(name)
    calls = int(netfilter)
    wanted = _BRIDGE_OPTIONS | {"nf_call_iptables": calls, "nf_call_ip6tables": calls}
    link = await get_link(name, netns=netns)
    if link is not None and link.kind != "bridge":
        LOG.warning("%s is a %s, not a bridge: replacing it", name, link.kind)
        await delete_link(name, netns=netns)
        link = None
    options = [str(part) for item in wanted.items() for part in item]
    if link is None:
        mtu_args = ["mtu", str(mtu)] if mtu is not None else []
        await add_link(
            ip_argv(netns, "link", "add", "name", name, *mtu_args, "type", "bridge", *options)
        )
        await disable_ipv6(name, netns)
        link = await require_link(name, netns)
    # Options a kernel does not report (no br_netfilter built in, say) are not compared.
    elif any(key in link.data and link.data[key] != value for key, value in wanted.items()):
        if link.data.get("stp_state"):
            # Alone and first: with STP on, the kernel refuses a forward delay of 0.
            await run(
                ip_argv(netns, "link", "set", "dev", name, "type", "bridge", "stp_state", "0")
            )
        await run(ip_argv(netns, "link", "set", "dev", name, "type", "bridge", *options))
    if link.data.get("vlan_filtering"):
        # Only asked when on: kernels built without VLAN filtering refuse even "0".
        await run(
            ip_argv(netns, "link", "set", "dev", name, "type", "bridge", "vlan_filtering", "0")
        )
    await converge(link, netns=netns, mtu=mtu)


async def require_link(name: str, netns: str | None) -> Link:
    """The link called `name`; LinuxNetError if it does not exist."""
    link = await get_link(name, netns=netns)
    if link is None:
        raise LinuxNetError(f"no link {name}" + (f" in namespace {netns}" if netns else ""))
    return link


def _paired(outer: Link | None, inner: Link | None, same_namespace: bool) -> bool:
    if outer is None or inner is None or outer.kind != "veth" or inner.kind != "veth":
        return False
    if same_namespace:
        # ip names a peer in the same namespace; elsewhere it gives its ifindex there.
        return outer.lower == inner.name and inner.lower == outer.name
    return outer.peer_ifindex == inner.ifindex and inner.peer_ifindex == outer.ifindex


async def ensure_veth(
    name: str,
    peer: str,
    *,
    peer_netns: str,
    netns: str | None = None,
    mtu: int | None = None,
    bridge: str | None = None,
    peer_mac: str | None = None,
) -> None:
    """A veth pair: `name` (in `netns`, plugged into `bridge` if given) and `peer` in `peer_netns`.

    Both ends come up with the MTU; the peer gets `peer_mac` (a port's MAC) if given.
    A half-pair, or ends that are not each other's peers, are replaced.
    """
    check_ifname(name)
    check_ifname(peer)
    mac = check_mac(peer_mac) if peer_mac else None
    outer = await get_link(name, netns=netns)
    inner = await get_link(peer, netns=peer_netns)
    if not _paired(outer, inner, same_namespace=netns == peer_netns):
        if outer is not None or inner is not None:
            LOG.warning("veth %s/%s is incomplete or mismatched: recreating it", name, peer)
        await delete_link(name, netns=netns)
        await delete_link(peer, netns=peer_netns)
        mtu_args = ["mtu", str(mtu)] if mtu is not None else []
        peer_args = ["name", peer, *mtu_args, *(["address", mac] if mac else [])]
        if peer_netns != netns:
            peer_args += ["netns", peer_netns]
        argv = ip_argv(netns, "link", "add", "name", name, *mtu_args, "type", "veth")
        await add_link([*argv, "peer", *peer_args])
        if bridge is not None:
            await disable_ipv6(name, netns)
        outer = await require_link(name, netns)
        inner = await require_link(peer, peer_netns)
    assert outer is not None and inner is not None
    await converge(outer, netns=netns, mtu=mtu, master=bridge)
    await converge(inner, netns=peer_netns, mtu=mtu, mac=mac)


async def ensure_tap(
    name: str,
    *,
    bridge: str | None = None,
    mtu: int | None = None,
    mac: str | None = None,
    netns: str | None = None,
) -> None:
    """A persistent tap (for a hypervisor to open), up, in `bridge` if given."""
    check_ifname(name)
    wanted_mac = check_mac(mac) if mac else None
    link = await get_link(name, netns=netns)
    if link is not None and link.kind != "tap":
        LOG.warning("%s is a %s, not a tap: replacing it", name, link.kind)
        await delete_link(name, netns=netns)
        link = None
    if link is None:
        try:
            await run(ip_argv(netns, "tuntap", "add", "dev", name, "mode", "tap"))
        except CommandError as exc:
            if not exc.says("busy", "exists"):
                raise
        await disable_ipv6(name, netns)
        link = await require_link(name, netns)
    await converge(link, netns=netns, mtu=mtu, master=bridge, mac=wanted_mac)


async def plug(name: str, bridge: str, *, mtu: int | None = None, netns: str | None = None) -> None:
    """Put an existing device (e.g. the tap libvirt made) into a bridge, up, with this MTU."""
    link = await get_link(name, netns=netns)
    if link is None:
        raise LinuxNetError(f"no device {name} to plug into {bridge}")
    if link.master != bridge:
        await disable_ipv6(name, netns)
    await converge(link, netns=netns, mtu=mtu, master=bridge)


async def unplug(name: str, *, netns: str | None = None) -> None:
    """Take a device out of its bridge; an absent device is fine."""
    link = await get_link(name, netns=netns)
    if link is not None and link.master is not None:
        await run(ip_argv(netns, "link", "set", "dev", name, "nomaster"))
