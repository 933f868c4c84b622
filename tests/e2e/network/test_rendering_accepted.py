"""Every kind of rendered rule and option is accepted by the real nft and dnsmasq.

The unit tests pin the text; these load the richest rulesets and configurations
into a scratch namespace (and dnsmasq's own checker), so a syntax the installed
tools reject cannot hide behind a passing text comparison.
"""

from __future__ import annotations

import pytest

from stackling.network.linux import guard, names, nat, nft, secgroups
from stackling.network.linux.cmd import run
from stackling.network.linux.dhcp import (
    DhcpFiles,
    DhcpHost,
    DhcpNetwork,
    DhcpSubnet,
    HostRoute,
    render_config,
)
from stackling.network.linux.nat import FloatingNat, RouterNat
from stackling.network.linux.secgroups import (
    AddressPair,
    HostFilter,
    PortFilter,
    RemoteGroup,
    SecurityRule,
)
from tests.e2e.network.conftest import Sandbox, new_id

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

GROUP = new_id()
RULES = (
    SecurityRule("ingress", "IPv4", "tcp", 22, 22, id=new_id()),
    SecurityRule("ingress", "IPv4", "udp", 1000, 2000, remote_ip_prefix="192.0.2.0/24"),
    SecurityRule("ingress", "IPv6", "tcp", 443, None, remote_group_id=GROUP),
    SecurityRule("ingress", "IPv4", "icmp", 8, 0),
    SecurityRule("ingress", "IPv6", "icmp", 128),
    SecurityRule("ingress", "IPv4", "sctp", 5000, 5001),
    SecurityRule("ingress", "IPv4", "dccp", 33, 33),
    SecurityRule("ingress", "IPv4", "udplite", 9, 9),
    SecurityRule("ingress", "IPv4", "vrrp"),
    SecurityRule("ingress", "IPv4", "47"),
    SecurityRule("egress", "IPv4", remote_address_group_id=GROUP),
    SecurityRule("egress", "IPv6", remote_ip_prefix="2001:db8::/32"),
)


def _ports(count: int) -> tuple[PortFilter, ...]:
    ports = []
    for i in range(count):
        port_id = new_id()
        ports.append(
            PortFilter(
                port_id=port_id,
                device=names.tap_name(port_id),
                bridge=f"brq0000000{i % 3}-00",
                zone=100 + i % 3,
                mac=f"fa:16:3e:00:01:{i:02x}",
                fixed_ips=(f"10.0.{i % 3}.{10 + i}", f"2001:db8:{i % 3}::{10 + i:x}"),
                allowed_address_pairs=(
                    AddressPair(f"10.0.{i % 3}.0/24"),
                    AddressPair("10.9.9.9", "fa:16:3e:99:99:99"),
                    AddressPair("2001:db8:ffff::/64"),
                ),
                rules=RULES,
                port_security=i != 1,
            )
        )
    return tuple(ports)


async def test_kernel_accepts_the_rendered_rulesets(box: Sandbox) -> None:
    host = await box.namespace("host")
    members = ("10.0.0.10", "10.0.1.0/24", "2001:db8::10", "2001:db8:1::/48")
    state = HostFilter(ports=_ports(12), groups=(RemoteGroup(GROUP, members),))
    await secgroups.apply_host_filter(state, netns=host)
    await secgroups.apply_host_filter(state, netns=host)
    await secgroups.update_remote_group(RemoteGroup(GROUP, ("10.0.0.11",)), netns=host)
    await secgroups.update_remote_group(RemoteGroup(new_id(), ()), netns=host)
    table = names.FILTER_TABLE[1]
    v4 = secgroups.set_name(GROUP, 4)
    assert await nft.list_set("bridge", table, v4, netns=host) == ["10.0.0.11"]

    floating = tuple(FloatingNat(f"172.24.4.{100 + i}", f"10.0.0.{10 + i}") for i in range(50))
    router = RouterNat(
        "qg-00000000-00", "172.24.4.2", True, ("10.0.0.0/24", "10.1.0.0/16"), floating
    )
    await nat.apply_router_nat(router, netns=host)

    await guard.apply_host_guard(
        guard.HostGuard(guarded_prefixes=("10.0.0.0/8", "fd00::/8"), allowed_outputs=("eth9",)),
        netns=host,
    )
    assert set(await nft.list_tables(netns=host)) == {
        names.FILTER_TABLE,
        names.CONNTRACK_TABLE,
        names.NAT_TABLE,
        names.GUARD_TABLE,
    }


@pytest.mark.parametrize(
    ("address_mode", "ra_mode"),
    [
        ("dhcpv6-stateful", "dhcpv6-stateful"),
        ("dhcpv6-stateless", "dhcpv6-stateless"),
        ("slaac", "slaac"),
        ("dhcpv6-stateful", None),
    ],
)
async def test_dnsmasq_accepts_the_rendered_configuration(
    box: Sandbox, address_mode: str, ra_mode: str | None
) -> None:
    network_id = new_id()
    v4 = DhcpSubnet(
        new_id(),
        "10.0.0.0/24",
        gateway_ip="10.0.0.1",
        dns_nameservers=("192.0.2.53",),
        host_routes=(HostRoute("192.168.0.0/16", "10.0.0.254"),),
        metadata_nexthop="10.0.0.2",
    )
    v6 = DhcpSubnet(new_id(), "2001:db8::/64", ipv6_address_mode=address_mode, ipv6_ra_mode=ra_mode)
    network = DhcpNetwork(
        network_id,
        names.dhcp_namespace(network_id, tag=box.tag),
        "ns-00000000-00",
        (v4, v6),
        (DhcpHost("fa:16:3e:00:00:01", "10.0.0.5", "vm"),),
        mtu=1450,
    )
    files = DhcpFiles.under(box.dhcp_root, network_id)
    files.dir.mkdir(parents=True)
    files.conf.write_text(render_config(network, files))
    check = 'exec dnsmasq --test --conf-file="$1" 2>&1'
    assert "syntax check OK" in await run(["sh", "-c", check, "sh", str(files.conf)])
