"""Security groups on bridge ports, for real: allowed and dropped ports, state, spoofing, groups.

Three instances (namespaces a, b, c) on one bridge in a namespace standing for
the host. The host's own bridge-nf-call sysctls are turned off there, to show
that the per-bridge switch `ensure_bridge` sets is all the filter needs.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from stackling.network.linux import links, names, netns, nft, secgroups
from stackling.network.linux.cmd import in_netns, ip_argv, run
from stackling.network.linux.secgroups import (
    AddressPair,
    HostFilter,
    PortFilter,
    RemoteGroup,
    SecurityRule,
)
from tests.e2e.network.conftest import Sandbox, new_id, plug_guest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ZONE = 4242
MACS = {"a": "fa:16:3e:00:00:0a", "b": "fa:16:3e:00:00:0b", "c": "fa:16:3e:00:00:0c"}
IPS = {"a": "10.0.0.1", "b": "10.0.0.2", "c": "10.0.0.3"}
EGRESS_ANY = SecurityRule("egress", "IPv4")


class Host:
    """The test's host: its namespace, bridge, instances and their ports."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.ns = ""
        self.bridge = names.bridge_name(new_id())
        self.guests: dict[str, str] = {}
        self.taps: dict[str, str] = {}
        self.ports = {role: new_id() for role in IPS}
        self.group = new_id()

    async def build(self) -> None:
        self.ns = await self.box.namespace("host")
        await netns.set_sysctls(
            {"net.bridge.bridge-nf-call-iptables": 0, "net.bridge.bridge-nf-call-ip6tables": 0},
            netns=self.ns,
        )
        await links.ensure_bridge(self.bridge, netns=self.ns)
        for role, ip in IPS.items():
            self.guests[role], self.taps[role] = await plug_guest(
                self.box,
                host=self.ns,
                bridge=self.bridge,
                role=role,
                cidr=f"{ip}/24",
                mac=MACS[role],
                port_id=self.ports[role],
            )

    def port(self, role: str, *rules: SecurityRule, pairs: tuple[str, ...] = ()) -> PortFilter:
        return PortFilter(
            port_id=self.ports[role],
            device=self.taps[role],
            bridge=self.bridge,
            zone=ZONE,
            mac=MACS[role],
            fixed_ips=(IPS[role],),
            allowed_address_pairs=tuple(AddressPair(p) for p in pairs),
            rules=(EGRESS_ANY, *rules),
        )

    async def apply(self, b_rules: tuple[SecurityRule, ...], a_pairs: tuple[str, ...] = ()) -> None:
        state = HostFilter(
            ports=(self.port("a", pairs=a_pairs), self.port("b", *b_rules), self.port("c")),
            groups=(RemoteGroup(self.group, ()),),
        )
        assert await secgroups.apply_host_filter(state, netns=self.ns)
        # The same state again is a no-op.
        assert not await secgroups.apply_host_filter(state, netns=self.ns)

    async def reaches(self, role: str, port: int, *, bind: str | None = None) -> bool:
        args = ["connect", IPS["b"], str(port), "--timeout", "1"]
        result = await self.box.probe(self.guests[role], *args, *(["--bind", bind] if bind else []))
        return result.rc == 0


def tcp_in(port: int, **remote: str) -> SecurityRule:
    """An ingress rule for one TCP port."""
    return SecurityRule("ingress", "IPv4", "tcp", port, port, **remote)


async def _echo(session: asyncio.subprocess.Process, text: str) -> str:
    assert session.stdin is not None and session.stdout is not None
    session.stdin.write(f"{text}\n".encode())
    await session.stdin.drain()
    return (await asyncio.wait_for(session.stdout.readline(), 5)).decode().strip()


async def test_filter_allows_drops_and_keeps_established_connections(box: Sandbox) -> None:
    host = Host(box)
    await host.build()
    icmp_in = SecurityRule("ingress", "IPv4", "icmp")
    await host.apply((tcp_in(8001), icmp_in))
    await box.spawn(host.guests["b"], "serve", "8001", "8002", "8003")

    assert await host.reaches("a", 8001)
    assert not await host.reaches("a", 8002)
    assert (await box.probe(host.guests["a"], "ping", IPS["b"], "--timeout", "2")).rc == 0
    # a has no ingress rules: b's pings do not get in (while a's replies did get out).
    assert (await box.probe(host.guests["b"], "ping", IPS["a"], "--timeout", "1")).rc == 1

    # Each network's connections are tracked in its own zone.
    table = await run(in_netns(host.ns, ["cat", "/proc/net/nf_conntrack"]))
    assert f"zone={ZONE}" in table

    # An open connection, then a ruleset without its port: it carries on, new ones do not.
    session = await box.spawn(host.guests["a"], "session", IPS["b"], "8001", "--timeout", "5")
    assert session.stdout is not None
    assert (await asyncio.wait_for(session.stdout.readline(), 5)).startswith(b"connected")
    assert await _echo(session, "before") == "echo before"
    await host.apply((tcp_in(8002), icmp_in))
    assert await _echo(session, "after") == "echo after"
    assert not await host.reaches("a", 8001)
    assert await host.reaches("a", 8002)


async def test_anti_spoofing_and_allowed_address_pairs(box: Sandbox) -> None:
    host = Host(box)
    await host.build()
    await host.apply((tcp_in(8001),))
    await box.spawn(host.guests["b"], "serve", "8001")
    a = host.guests["a"]

    # Another address on a's interface: neither its ARP answers nor its packets get out...
    await run(ip_argv(a, "addr", "add", "10.0.0.9/24", "dev", "eth0"))
    assert not await host.reaches("a", 8001, bind="10.0.0.9")
    # ...until an allowed address pair names it.
    await host.apply((tcp_in(8001),), a_pairs=("10.0.0.9",))
    assert await host.reaches("a", 8001, bind="10.0.0.9")
    assert await host.reaches("a", 8001)

    # Another MAC: nothing gets out at all.
    await run(ip_argv(a, "link", "set", "eth0", "address", "fa:16:3e:00:00:99"))
    await run(ip_argv(a, "neigh", "flush", "all"))
    assert not await host.reaches("a", 8001)


def _without_counts(listing: str) -> str:
    return re.sub(r"packets \d+ bytes \d+", "packets - bytes -", listing)


async def test_remote_group_membership_updates_a_set(box: Sandbox) -> None:
    host = Host(box)
    await host.build()
    await host.apply((tcp_in(8003, remote_group_id=host.group),))
    await box.spawn(host.guests["b"], "serve", "8003")
    assert not await host.reaches("c", 8003)

    chain = secgroups.chain_name("ingress", host.taps["b"])
    listing = ["list", "chain", "bridge", names.FILTER_TABLE[1], chain]
    rules_before = _without_counts(await run(in_netns(host.ns, ["nft", "-a", *listing])))
    await secgroups.update_remote_group(RemoteGroup(host.group, (IPS["c"],)), netns=host.ns)
    set_v4 = secgroups.set_name(host.group, 4)
    assert await nft.list_set("bridge", names.FILTER_TABLE[1], set_v4, netns=host.ns) == [IPS["c"]]
    # The rules (with their handles) are untouched: only the set changed.
    # (Counters may still move: a retransmission of the refused probe can land late.)
    assert _without_counts(await run(in_netns(host.ns, ["nft", "-a", *listing]))) == rules_before
    assert await host.reaches("c", 8003)
    assert not await host.reaches("a", 8003)

    # The same full state as before the update is applied again, not skipped: the
    # update made the table differ from what it was rendered from.
    await host.apply((tcp_in(8003, remote_group_id=host.group),))
    assert await nft.list_set("bridge", names.FILTER_TABLE[1], set_v4, netns=host.ns) == []
    assert not await host.reaches("c", 8003)

    await secgroups.remove_host_filter(netns=host.ns)
    await secgroups.remove_host_filter(netns=host.ns)
    assert await nft.list_tables(netns=host.ns) == []
    assert await host.reaches("a", 8003)
