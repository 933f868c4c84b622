"""Rendering nftables rulesets from dataclasses: router NAT, security groups, the host guard."""

from __future__ import annotations

import re

import pytest

from stackling.network.linux import guard, nat, nft, secgroups
from stackling.network.linux.nat import FloatingNat, RouterNat
from stackling.network.linux.secgroups import (
    AddressPair,
    HostFilter,
    PortFilter,
    RemoteGroup,
    SecurityRule,
)

GROUP = "5f0e4a4c-3a53-4f5e-9d61-1f2b9a7c0e11"
SET4 = "rg4_5f0e4a4c3a534f5e9d611f2b9a7c0e11"
SET6 = "rg6_5f0e4a4c3a534f5e9d611f2b9a7c0e11"
RULE = "a1b2c3d4-0000-4000-8000-000000000001"


def lines(script: str) -> list[str]:
    """The script's lines without indentation."""
    return [line.strip() for line in script.splitlines()]


def block(script: str, header: str) -> list[str]:
    """The lines of one block ("chain x", "set y")."""
    body = lines(script)
    start = body.index(f"{header} {{") + 1
    return body[start : body.index("}", start)]


def chain(script: str, name: str) -> list[str]:
    """The statements of one chain."""
    return block(script, f"chain {name}")


# --- nft helpers ---------------------------------------------------------------


def test_replace_table_declares_deletes_and_defines_in_one_script() -> None:
    script = nft.replace_table("inet", "stackling_x", "\tchain c {\n\t}\n").splitlines()
    assert script[:3] == [
        "table inet stackling_x {}",
        "delete table inet stackling_x",
        "table inet stackling_x {",
    ]
    assert script[4:] == ["\t}", "\tchain c {", "\t}", "}"]
    # The first chain names the digest of the body: same body, same name; new body, new name.
    assert re.fullmatch(r"\tchain digest_[0-9a-f]{16} \{", script[3])
    assert nft.replace_table("inet", "stackling_x", "\tchain c {\n\t}\n").splitlines() == script
    other = nft.replace_table("inet", "stackling_x", "\tchain d {\n\t}\n").splitlines()
    assert other[3] != script[3]


@pytest.mark.parametrize(
    "bad",
    ['eth0" accept', "eth0\n", "a" * 16, "", "tap x", "tap;"],
)
def test_interface_names_cannot_inject_rules(bad: str) -> None:
    with pytest.raises(ValueError):
        nft.ifname(bad)


def test_values_are_validated() -> None:
    assert nft.ifname("brq*") == '"brq*"'
    assert nft.addr("10.0.0.5/32") == "10.0.0.5"
    assert nft.addr("10.0.0.5/24") == "10.0.0.0/24"
    for bad_ident in ("1abc", "a-b", "a b", "x" * 65):
        with pytest.raises(ValueError):
            nft.ident(bad_ident)
    with pytest.raises(ValueError):
        nft.addr("10.0.0.300")
    with pytest.raises(ValueError):
        nft.comment('x" drop')
    with pytest.raises(ValueError):
        nft.elements([])


def test_collapse_merges_overlaps_per_family() -> None:
    given = ["10.0.0.0/24", "10.0.0.5", "10.0.1.0/24", "2001:db8::1", "192.0.2.7/32"]
    assert nft.collapse(given, 4) == ["10.0.0.0/23", "192.0.2.7"]
    assert nft.collapse(given, 6) == ["2001:db8::1"]


# --- router NAT ----------------------------------------------------------------


def test_router_nat_with_snat_and_floating_ips() -> None:
    script = nat.render_router_nat(
        RouterNat(
            gateway_device="qg-1b2c3d4e-5f",
            gateway_ip="172.24.4.2",
            internal_cidrs=("10.0.0.0/24", "10.0.1.0/24"),
            floating=(
                FloatingNat("172.24.4.11", "10.0.1.7"),
                FloatingNat("172.24.4.10", "10.0.0.5"),
            ),
        )
    )
    assert lines(script)[:3] == [
        "table ip stackling_nat {}",
        "delete table ip stackling_nat",
        "table ip stackling_nat {",
    ]
    assert "elements = { 172.24.4.10 : 10.0.0.5, 172.24.4.11 : 10.0.1.7 }" in lines(script)
    assert "elements = { 10.0.0.5 : 172.24.4.10, 10.0.1.7 : 172.24.4.11 }" in lines(script)
    assert chain(script, "prerouting")[1:] == ["dnat to ip daddr map @floating_dnat"]
    assert chain(script, "output")[1:] == ["dnat to ip daddr map @floating_dnat"]
    # Floating SNAT first, then the router's SNAT, then the hairpin SNAT.
    assert chain(script, "postrouting")[1:] == [
        'oifname "qg-1b2c3d4e-5f" snat to ip saddr map @floating_snat',
        'oifname "qg-1b2c3d4e-5f" ip saddr { 10.0.0.0/23 } snat to 172.24.4.2',
        'iifname != "qg-1b2c3d4e-5f" oifname != "qg-1b2c3d4e-5f" ct status dnat snat to 172.24.4.2',
    ]


def test_router_nat_without_snat_or_gateway() -> None:
    no_snat = nat.render_router_nat(
        RouterNat("qg-1b2c3d4e-5f", "172.24.4.2", snat=False, internal_cidrs=("10.0.0.0/24",))
    )
    assert not any("ip saddr {" in line for line in chain(no_snat, "postrouting"))
    bare = nat.render_router_nat(RouterNat("qg-1b2c3d4e-5f"))
    assert chain(bare, "postrouting")[1:] == [
        'oifname "qg-1b2c3d4e-5f" snat to ip saddr map @floating_snat'
    ]
    assert "elements" not in bare


def test_router_nat_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        nat.render_router_nat(RouterNat("qg-x", floating=(FloatingNat("2001:db8::1", "10.0.0.1"),)))
    with pytest.raises(ValueError):
        twice = (FloatingNat("172.24.4.10", "10.0.0.5"), FloatingNat("172.24.4.10", "10.0.0.6"))
        nat.render_router_nat(RouterNat("qg-x", floating=twice))
    with pytest.raises(ValueError):
        nat.render_router_nat(RouterNat('qg-x" accept'))


# --- security groups -----------------------------------------------------------


def port(**changes: object) -> PortFilter:
    """A port filter with sensible defaults."""
    values: dict[str, object] = {
        "port_id": "0e8d1c5a-7b7e-4b0a-9d0a-4c1f1b2a3c4d",
        "device": "tap0e8d1c5a-7b",
        "bridge": "brq11111111-11",
        "zone": 7,
        "mac": "FA:16:3E:00:00:01",
        "fixed_ips": ("10.0.0.5", "2001:db8::5"),
    }
    values.update(changes)
    return PortFilter(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "rendered"),
    [
        (
            SecurityRule("ingress", "IPv4", "tcp", 22, 22),
            "ether type ip meta l4proto 6 tcp dport 22 return",
        ),
        (
            SecurityRule("ingress", "IPv4", "udp", 1000, 2000),
            "ether type ip meta l4proto 17 udp dport 1000-2000 return",
        ),
        (
            SecurityRule("egress", "IPv6", "tcp", 443, None),
            "ether type ip6 meta l4proto 6 tcp dport 443 return",
        ),
        (
            SecurityRule("ingress", "IPv4", "icmp", 8, 0),
            "ether type ip meta l4proto 1 icmp type 8 icmp code 0 return",
        ),
        (SecurityRule("ingress", "IPv4", "icmp"), "ether type ip meta l4proto 1 return"),
        (
            SecurityRule("ingress", "IPv6", "icmp", 128),
            "ether type ip6 meta l4proto 58 icmpv6 type 128 return",
        ),
        (SecurityRule("ingress", "IPv6", "ipv6-icmp"), "ether type ip6 meta l4proto 58 return"),
        (SecurityRule("ingress", "IPv4", "112"), "ether type ip meta l4proto 112 return"),
        (SecurityRule("ingress", "IPv4", "gre"), "ether type ip meta l4proto 47 return"),
        (SecurityRule("egress", "IPv4", None), "ether type ip return"),
        (SecurityRule("egress", "IPv4", "any"), "ether type ip return"),
        (
            SecurityRule("ingress", "IPv4", None, remote_ip_prefix="0.0.0.0/0"),
            "ether type ip return",
        ),
        (
            SecurityRule("ingress", "IPv4", "tcp", 22, 22, remote_ip_prefix="192.0.2.0/24"),
            "ether type ip meta l4proto 6 tcp dport 22 ip saddr 192.0.2.0/24 return",
        ),
        (
            SecurityRule("egress", "IPv4", None, remote_ip_prefix="192.0.2.9/32"),
            "ether type ip ip daddr 192.0.2.9 return",
        ),
        (
            SecurityRule("ingress", "IPv4", None, remote_group_id=GROUP),
            f"ether type ip ip saddr @{SET4} return",
        ),
        (
            SecurityRule("egress", "IPv6", None, remote_address_group_id=GROUP),
            f"ether type ip6 ip6 daddr @{SET6} return",
        ),
        (
            SecurityRule("ingress", "IPv4", "tcp", 80, 80, id=RULE),
            f'ether type ip meta l4proto 6 tcp dport 80 return comment "rule {RULE}"',
        ),
    ],
)
def test_rules_render(rule: SecurityRule, rendered: str) -> None:
    assert secgroups.render_rule(rule) == rendered


def test_a_rule_of_the_other_family_matches_nothing() -> None:
    rule = SecurityRule("ingress", "IPv6", None, remote_ip_prefix="10.0.0.0/8")
    assert secgroups.render_rule(rule) is None


@pytest.mark.parametrize(
    "rule",
    [
        SecurityRule("sideways"),
        SecurityRule("ingress", "IPX"),
        SecurityRule("ingress", "IPv4", "carrier-pigeon"),
        SecurityRule("ingress", "IPv4", "300"),
        SecurityRule("ingress", "IPv4", "tcp", 2000, 1000),
        SecurityRule("ingress", "IPv4", "tcp", 1, 70000),
        SecurityRule("ingress", "IPv4", "icmp", 256),
        SecurityRule("ingress", "IPv4", None, remote_group_id="not-a-uuid"),
    ],
)
def test_bad_rules_are_refused(rule: SecurityRule) -> None:
    with pytest.raises(ValueError):
        secgroups.render_rule(rule)


def test_link_local_address_is_eui64() -> None:
    assert secgroups.link_local("fa:16:3e:00:00:01") == "fe80::f816:3eff:fe00:1"
    assert secgroups.link_local("52:54:00:12:34:56") == "fe80::5054:ff:fe12:3456"


def test_port_chains_do_anti_spoofing_then_state_then_rules() -> None:
    p = port(
        allowed_address_pairs=(
            AddressPair("10.0.5.0/24"),
            AddressPair("10.0.0.99", "fa:16:3e:00:00:99"),
            AddressPair("10.0.0.0/24"),  # holds the fixed IP: merged, not overlapping
        ),
        rules=(
            SecurityRule("ingress", "IPv4", "tcp", 22, 22),
            SecurityRule("ingress", "IPv4", "tcp", 22, 22),  # from a second group: once
            SecurityRule("egress", "IPv4"),
        ),
    )
    script = secgroups.render_host_filter(HostFilter(ports=(p,)))
    egress = chain(script, "egress_tap0e8d1c5a_7b")
    mac, pair_mac = "fa:16:3e:00:00:01", "fa:16:3e:00:00:99"
    assert egress[0] == f"ether saddr != {{ {mac}, {pair_mac} }} counter drop"
    assert egress[1] == (
        f"ether type arp arp saddr ether . arp saddr ip != {{ {mac} . 10.0.0.0/24, "
        f"{mac} . 10.0.5.0/24, {pair_mac} . 10.0.0.99, {mac} . 0.0.0.0, {pair_mac} . 0.0.0.0 }}"
        " counter drop"
    )
    assert (
        f"ether type ip ether saddr . ip saddr != {{ {mac} . 10.0.0.0/24, {mac} . 10.0.5.0/24,"
        f" {pair_mac} . 10.0.0.99 }} counter drop"
    ) in egress
    assert (
        f"ether type ip6 ether saddr . ip6 saddr != {{ {mac} . 2001:db8::5,"
        f" {mac} . fe80::f816:3eff:fe00:1, {pair_mac} . fe80::f816:3eff:fe00:99 }} counter drop"
    ) in egress
    # DHCP client out, DHCP server and router advertisements never.
    assert egress.index("ether type ip udp sport 68 udp dport 67 return") < egress.index(
        "ether type ip udp sport 67 udp dport 68 counter drop"
    )
    assert "ether type ip6 icmpv6 type { nd-router-advert, nd-redirect } counter drop" in egress
    assert "ether type != { ip, ip6 } counter drop" in egress
    # State before rules, rules before the final drop.
    state = egress.index("meta mark & 0x01000000 == 0x01000000 return")
    assert egress.index("meta mark & 0x02000000 == 0x02000000 counter drop") < state
    assert egress[state + 1 :] == ["ether type ip return", "counter drop"]
    ingress = chain(script, "ingress_tap0e8d1c5a_7b")
    assert ingress[-2:] == ["ether type ip meta l4proto 6 tcp dport 22 return", "counter drop"]
    assert "ether type ip udp sport 67 udp dport 68 return" in ingress


def test_a_port_without_ipv4_sends_no_ipv4() -> None:
    script = secgroups.render_host_filter(HostFilter(ports=(port(fixed_ips=("2001:db8::5",)),)))
    assert "ether type ip counter drop" in chain(script, "egress_tap0e8d1c5a_7b")


def test_host_filter_maps_ports_to_chains_and_bridges_to_zones() -> None:
    a = port()
    b = port(port_id="1e8d1c5a-7b7e-4b0a-9d0a-4c1f1b2a3c4d", device="tap1e8d1c5a-7b")
    c = port(
        port_id="2e8d1c5a-7b7e-4b0a-9d0a-4c1f1b2a3c4d",
        device="tap2e8d1c5a-7b",
        bridge="brq22222222-22",
        zone=8,
    )
    free = port(
        port_id="3e8d1c5a-7b7e-4b0a-9d0a-4c1f1b2a3c4d", device="tap3e8d1c5a-7b", port_security=False
    )
    script = secgroups.render_host_filter(HostFilter(ports=(c, free, b, a)))
    body = lines(script)
    assert (
        'elements = { "tap0e8d1c5a-7b" : jump egress_tap0e8d1c5a_7b, "tap1e8d1c5a-7b" : jump'
        ' egress_tap1e8d1c5a_7b, "tap2e8d1c5a-7b" : jump egress_tap2e8d1c5a_7b }'
    ) in body
    assert "chain egress_tap3e8d1c5a_7b {" not in body  # port security off: not filtered
    assert chain(script, "forward")[1:] == [
        "iifname vmap @egress_ports",
        "oifname vmap @ingress_ports",
    ]
    assert chain(script, "zone")[1:] == [
        'ct zone set iifname map { "brq11111111-11" : 7, "brq22222222-22" : 8 }'
    ]
    marks = [
        "meta mark set meta mark & 0xfcffffff",
        "ct state established,related meta mark set meta mark | 0x01000000",
        "ct state invalid meta mark set meta mark | 0x02000000",
    ]
    assert chain(script, "state")[1:] == [
        'iifname != { "brq11111111-11", "brq22222222-22" } return',
        *marks,
    ]
    # The host's own packets onto a bridge (a provider bridge with its address): the
    # same zone and state, and the instance's ingress rules.
    assert chain(script, "zone_out")[1:] == [
        'ct zone set oifname map { "brq11111111-11" : 7, "brq22222222-22" : 8 }'
    ]
    assert chain(script, "state_out")[1:] == [
        'oifname != { "brq11111111-11", "brq22222222-22" } return',
        *marks,
    ]
    assert chain(script, "output")[1:] == ["oifname vmap @ingress_ports"]
    # Both tables in one script, so in one transaction.
    assert body.count("delete table bridge stackling_sg") == 1
    assert body.count("delete table inet stackling_sg_ct") == 1


def test_zones_must_be_one_per_bridge() -> None:
    b = port(port_id="1e8d1c5a-7b7e-4b0a-9d0a-4c1f1b2a3c4d", device="tap1e8d1c5a-7b", zone=8)
    with pytest.raises(ValueError, match="zones"):
        secgroups.render_host_filter(HostFilter(ports=(port(), b)))
    other = port(
        port_id="1e8d1c5a-7b7e-4b0a-9d0a-4c1f1b2a3c4d",
        device="tap1e8d1c5a-7b",
        bridge="brq22222222-22",
    )
    with pytest.raises(ValueError, match="share"):
        secgroups.render_host_filter(HostFilter(ports=(port(), other)))
    with pytest.raises(ValueError):
        secgroups.render_host_filter(HostFilter(ports=(port(zone=0),)))
    with pytest.raises(ValueError, match="device"):
        secgroups.render_host_filter(HostFilter(ports=(port(), port())))


def test_remote_groups_are_sets_even_before_they_have_members() -> None:
    rule = SecurityRule("ingress", "IPv4", None, remote_group_id=GROUP)
    empty = secgroups.render_host_filter(HostFilter(ports=(port(rules=(rule,)),)))
    assert block(empty, f"set {SET4}") == ["type ipv4_addr", "flags interval"]
    members = RemoteGroup(GROUP, ("10.0.0.5", "10.0.0.6", "10.0.0.0/24", "2001:db8::7"))
    full = secgroups.render_host_filter(HostFilter(ports=(port(rules=(rule,)),), groups=(members,)))
    assert block(full, f"set {SET4}")[-1] == "elements = { 10.0.0.0/24 }"
    assert block(full, f"set {SET6}")[-1] == "elements = { 2001:db8::7 }"


def test_a_group_update_touches_only_its_sets() -> None:
    script = secgroups.render_group_update(RemoteGroup(GROUP, ("10.0.0.7", "10.0.0.8")))
    assert script.splitlines() == [
        # Marks the table as no longer what its digest says (see nft.apply_tables).
        "add chain bridge stackling_sg digest_stale",
        f"add set bridge stackling_sg {SET4} {{ type ipv4_addr; flags interval; }}",
        f"flush set bridge stackling_sg {SET4}",
        f"add element bridge stackling_sg {SET4} {{ 10.0.0.7, 10.0.0.8 }}",
        f"add set bridge stackling_sg {SET6} {{ type ipv6_addr; flags interval; }}",
        f"flush set bridge stackling_sg {SET6}",
    ]


def test_an_empty_host_filter_still_replaces_both_tables() -> None:
    script = secgroups.render_host_filter(HostFilter())
    assert "table bridge stackling_sg {" in lines(script)
    assert "table inet stackling_sg_ct {" in lines(script)
    assert "elements" not in script


# --- host guard ----------------------------------------------------------------


def test_host_guard_counts_and_drops_what_leaves_the_cloud() -> None:
    script = guard.render_host_guard(
        guard.HostGuard(
            guarded_prefixes=("10.0.0.0/8", "172.24.4.0/24", "fd00::/8"),
            allowed_outputs=("eth1",),
        )
    )
    assert chain(script, "forward") == [
        "type filter hook forward priority filter - 10; policy accept;",
        'iifname { "brq*" } jump from_cloud',
        "ip saddr { 10.0.0.0/8, 172.24.4.0/24 } jump from_cloud",
        "ip6 saddr { fd00::/8 } jump from_cloud",
    ]
    assert chain(script, "from_cloud") == [
        'oifname { "brq*", "tap*", "vxlan-*", "eth1" } return',
        'counter name "dropped" drop',
    ]
    assert "counter dropped {" in lines(script)


def test_host_guard_needs_a_bridge_pattern() -> None:
    with pytest.raises(ValueError):
        guard.render_host_guard(guard.HostGuard(cloud_bridges=()))
    with pytest.raises(ValueError):
        guard.render_host_guard(guard.HostGuard(allowed_outputs=('eth0" accept',)))
