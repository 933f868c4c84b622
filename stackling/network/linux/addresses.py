"""Addresses on an interface and static routes in a namespace, made exactly as described.

Addresses: the device ends up with exactly the given ones (IPv6 link-local
addresses, which the kernel manages, are left alone). Routes: only those with
`proto static` are ours; the kernel's connected routes are never touched.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from stackling.network.linux.cmd import CommandError, ip_argv, run, run_json
from stackling.network.linux.links import check_ifname

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _is_link_local(addr: IPInterface) -> bool:
    return addr.version == 6 and addr.ip.is_link_local


async def list_addresses(device: str, *, netns: str | None = None) -> set[IPInterface]:
    """The device's addresses with their prefix lengths, IPv6 link-local ones left out."""
    entries = await run_json(ip_argv(netns, "-j", "addr", "show", "dev", check_ifname(device)))
    found: set[IPInterface] = set()
    for entry in entries:
        for info in entry.get("addr_info", ()):
            addr = ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}")
            if not _is_link_local(addr):
                found.add(addr)
    return found


async def ensure_addresses(
    device: str, addresses: Iterable[str], *, netns: str | None = None
) -> tuple[int, int]:
    """Give the device exactly these addresses ("10.0.0.1/24"); (added, removed)."""
    wanted = {ipaddress.ip_interface(a) for a in addresses}
    wanted = {a for a in wanted if not _is_link_local(a)}
    stale = await list_addresses(device, netns=netns) - wanted
    for addr in sorted(stale, key=str):
        try:
            await run(ip_argv(netns, "addr", "del", str(addr), "dev", device))
        except CommandError as exc:
            # Removing a primary IPv4 address takes its secondaries with it.
            if not exc.says("cannot assign requested address"):
                raise
    # Read again: a removed primary may have taken wanted secondaries along.
    missing = wanted - await list_addresses(device, netns=netns)
    for addr in sorted(missing, key=str):
        # IPv4: set the broadcast address (ip leaves it 0.0.0.0 otherwise). IPv6: no
        # duplicate address detection, so the address is usable at once; these
        # addresses come from IPAM, so a duplicate would be a bug found elsewhere.
        extra = ["brd", "+"] if addr.version == 4 else ["nodad"]
        try:
            await run(ip_argv(netns, "addr", "add", str(addr), *extra, "dev", device))
        except CommandError as exc:
            if not exc.says("file exists"):
                raise
    return len(missing), len(stale)


@dataclass(frozen=True, slots=True)
class Route:
    """A static route: `dst` (a CIDR, or "default" with a `via`), through `via` and/or `dev`."""

    dst: str
    via: str | None = None
    dev: str | None = None

    def network(self) -> IPNetwork:
        """The destination as a network ("default" becomes 0.0.0.0/0 or ::/0)."""
        if self.dst == "default":
            if self.via is None:
                raise ValueError("a default route needs a `via` to tell its address family")
            return ipaddress.ip_network("::/0" if ":" in self.via else "0.0.0.0/0")
        return ipaddress.ip_network(self.dst)

    def normalized(self) -> Route:
        """The same route with canonical address spellings."""
        via = str(ipaddress.ip_address(self.via)) if self.via else None
        if self.dev is not None:
            check_ifname(self.dev)
        if via is None and self.dev is None:
            raise ValueError(f"route to {self.dst} needs a `via` or a `dev`")
        net = self.network()
        if via is not None and ipaddress.ip_address(via).version != net.version:
            raise ValueError(f"route to {self.dst} via {via} mixes address families")
        return Route(str(net), via, self.dev)

    def covers(self, actual: Route) -> bool:
        """Whether an existing route is this one (a route without `dev` accepts any device)."""
        return (
            self.dst == actual.dst
            and self.via == actual.via
            and (self.dev is None or self.dev == actual.dev)
        )


async def list_routes(*, netns: str | None = None) -> list[Route]:
    """The static routes (`proto static`) of the main table, both address families."""
    routes: list[Route] = []
    for family, default in (("-4", "0.0.0.0/0"), ("-6", "::/0")):
        argv = ip_argv(netns, "-j", family, "route", "show", "proto", "static")
        for entry in await run_json(argv):
            dst = default if entry["dst"] == "default" else entry["dst"]
            via = entry.get("gateway")
            routes.append(Route(str(ipaddress.ip_network(dst)), via, entry.get("dev")))
    return routes


async def ensure_routes(routes: Iterable[Route], *, netns: str | None = None) -> tuple[int, int]:
    """Make the static routes exactly these; (added or changed, removed)."""
    wanted = [r.normalized() for r in routes]
    current = await list_routes(netns=netns)
    missing = [w for w in wanted if not any(w.covers(c) for c in current)]
    stale = [c for c in current if not any(w.covers(c) for w in wanted)]
    # A route whose destination is still wanted is changed in place by `replace`,
    # never removed first: there is no moment without a route to that destination.
    replaced = {w.dst for w in missing}
    removed = [r for r in stale if r.dst not in replaced]
    for route in removed:
        try:
            await run(_route_argv(netns, "del", route))
        except CommandError as exc:
            if not exc.says("no such process"):
                raise
    for route in missing:
        await run(_route_argv(netns, "replace", route))
    return len(missing), len(removed)


def _route_argv(netns: str | None, verb: str, route: Route) -> list[str]:
    argv = ip_argv(netns, "route", verb, route.dst, "proto", "static")
    if route.via:
        argv += ["via", route.via]
    if route.dev:
        argv += ["dev", route.dev]
    return argv
