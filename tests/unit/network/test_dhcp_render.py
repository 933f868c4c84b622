"""Rendering a network's dnsmasq files: configuration, static hosts, options, DNS names."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackling.network.linux import dhcp
from stackling.network.linux.dhcp import (
    DhcpFiles,
    DhcpHost,
    DhcpNetwork,
    DhcpSubnet,
    HostRoute,
    stale_leases,
)

NET = "9b1f0c2e-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
V4 = "11111111-2222-4333-8444-555555555555"
V6 = "66666666-7777-4888-8999-aaaaaaaaaaaa"
ROOT = Path("/var/lib/stackling/dhcp")


def network(*subnets: DhcpSubnet, **changes: object) -> DhcpNetwork:
    """A network in its qdhcp- namespace with the given subnets."""
    values: dict[str, object] = {
        "network_id": NET,
        "namespace": f"qdhcp-{NET}",
        "interface": "ns-0a0b0c0d-0e",
        "subnets": subnets or (DhcpSubnet(V4, "10.0.0.0/24", gateway_ip="10.0.0.1"),),
        "hosts": (
            DhcpHost("FA:16:3E:00:00:02", "10.0.0.6", "vm-b"),
            DhcpHost("fa:16:3e:00:00:01", "10.0.0.5", "vm-a"),
            DhcpHost("fa:16:3e:00:00:01", "2001:db8::5", "vm-a"),
        ),
        "mtu": 1450,
    }
    values.update(changes)
    return DhcpNetwork(**values)  # type: ignore[arg-type]


def files() -> DhcpFiles:
    """The network's files under ROOT."""
    return DhcpFiles.under(ROOT, NET)


def test_files_live_in_one_directory_per_network() -> None:
    f = files()
    assert f.dir == ROOT / NET
    assert {p.name for p in (f.conf, f.hosts, f.opts, f.addn_hosts, f.leases, f.pid)} == {
        "dnsmasq.conf",
        "hosts",
        "opts",
        "addn_hosts",
        "leases",
        "pid",
    }


def test_config_serves_only_its_interface_from_its_own_files() -> None:
    conf = dhcp.render_config(network(), files()).splitlines()
    for line in (
        "no-resolv",
        "no-hosts",
        "bind-interfaces",
        "interface=ns-0a0b0c0d-0e",
        "except-interface=lo",
        f"pid-file={ROOT / NET / 'pid'}",
        f"dhcp-leasefile={ROOT / NET / 'leases'}",
        f"dhcp-hostsfile={ROOT / NET / 'hosts'}",
        f"dhcp-optsfile={ROOT / NET / 'opts'}",
        f"addn-hosts={ROOT / NET / 'addn_hosts'}",
        "domain=openstacklocal",
        "local=/openstacklocal/",
        "dhcp-lease-max=256",
        f"dhcp-range=set:subnet-{V4},10.0.0.0,static,255.255.255.0,86400s",
    ):
        assert line in conf
    assert not any(line.startswith(("server=", "resolv-file", "enable-ra")) for line in conf)


@pytest.mark.parametrize(
    ("address_mode", "ra_mode", "range_mode", "ra"),
    [
        ("dhcpv6-stateful", None, "static", False),
        ("dhcpv6-stateful", "dhcpv6-stateful", "static", True),
        ("dhcpv6-stateless", None, "static", False),
        ("dhcpv6-stateless", "dhcpv6-stateless", "ra-stateless", True),
        ("slaac", "slaac", "ra-only", True),
        ("slaac", None, None, False),
        (None, None, "static", False),
    ],
)
def test_ipv6_modes(
    address_mode: str | None, ra_mode: str | None, range_mode: str | None, ra: bool
) -> None:
    subnet = DhcpSubnet(V6, "2001:db8::/64", ipv6_address_mode=address_mode, ipv6_ra_mode=ra_mode)
    conf = dhcp.render_config(network(subnet), files()).splitlines()
    ranges = [line for line in conf if line.startswith("dhcp-range=")]
    if range_mode is None:
        assert ranges == []
    else:
        assert ranges == [f"dhcp-range=set:subnet-{V6},2001:db8::,{range_mode},64,86400s"]
    # Our RAs carry the MTU and never make the DHCP namespace a default router.
    assert ("enable-ra" in conf) is ra
    assert ("ra-param=ns-0a0b0c0d-0e,mtu:1450,60,0" in conf) is ra


def test_bad_ipv6_modes_are_refused() -> None:
    with pytest.raises(ValueError):
        dhcp.render_config(network(DhcpSubnet(V6, "2001:db8::/64", ipv6_ra_mode="eui")), files())
    with pytest.raises(ValueError):
        dhcp.render_config(network(DhcpSubnet(V4, "10.0.0.0/24", ipv6_ra_mode="slaac")), files())


def test_disabled_subnets_are_not_served() -> None:
    off = DhcpSubnet(V6, "2001:db8::/64", enable_dhcp=False)
    conf = dhcp.render_config(network(DhcpSubnet(V4, "10.0.0.0/24"), off), files())
    assert "2001:db8::" not in conf
    assert f"subnet-{V6}" not in dhcp.render_opts(network(off))


def test_hosts_file_has_one_line_per_fixed_address() -> None:
    assert dhcp.render_hosts(network()).splitlines() == [
        "fa:16:3e:00:00:01,vm-a,10.0.0.5",
        "fa:16:3e:00:00:01,vm-a,[2001:db8::5]",
        "fa:16:3e:00:00:02,vm-b,10.0.0.6",
    ]


def test_addn_hosts_give_every_port_a_dns_name() -> None:
    assert dhcp.render_addn_hosts(network()).splitlines() == [
        "10.0.0.5\tvm-a.openstacklocal vm-a",
        "2001:db8::5\tvm-a.openstacklocal vm-a",
        "10.0.0.6\tvm-b.openstacklocal vm-b",
    ]


def test_options_router_dns_mtu_and_classless_routes() -> None:
    subnet = DhcpSubnet(
        V4,
        "10.0.0.0/24",
        gateway_ip="10.0.0.1",
        dns_nameservers=("192.0.2.53", "2001:db8::53"),
        host_routes=(
            HostRoute("192.168.0.0/16", "10.0.0.254"),
            HostRoute("2001:db8:1::/64", "::1"),
        ),
        metadata_nexthop="10.0.0.2",
    )
    tag = f"tag:subnet-{V4}"
    routes = "169.254.169.254/32,10.0.0.2,192.168.0.0/16,10.0.0.254,0.0.0.0/0,10.0.0.1"
    assert dhcp.render_opts(network(subnet)).splitlines() == [
        f"{tag},option:router,10.0.0.1",
        f"{tag},option:dns-server,192.0.2.53",
        f"{tag},option:mtu,1450",
        f"{tag},option:classless-static-route,{routes}",
        f"{tag},249,{routes}",
    ]


def test_options_without_gateway_or_routes() -> None:
    subnet = DhcpSubnet(V4, "10.0.0.0/24")
    assert dhcp.render_opts(network(subnet, mtu=None)).splitlines() == [
        f"tag:subnet-{V4},option:router"
    ]


def test_other_subnets_of_the_network_are_on_link() -> None:
    first = DhcpSubnet(V4, "10.0.0.0/24", gateway_ip="10.0.0.1")
    second = DhcpSubnet(V6.replace("6", "7"), "10.0.1.0/24", gateway_ip="10.0.1.1")
    opts = dhcp.render_opts(network(first, second)).splitlines()
    assert (
        f"tag:subnet-{V4},option:classless-static-route,10.0.1.0/24,0.0.0.0,0.0.0.0/0,10.0.0.1"
        in opts
    )


def test_ipv6_options() -> None:
    subnet = DhcpSubnet(
        V6, "2001:db8::/64", dns_nameservers=("2001:db8::53",), ipv6_address_mode="dhcpv6-stateful"
    )
    assert dhcp.render_opts(network(subnet)).splitlines() == [
        f"tag:subnet-{V6},option6:dns-server,[2001:db8::53]",
        f"tag:subnet-{V6},option6:domain-search,openstacklocal",
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"hosts": (DhcpHost("fa:16:3e:00:00:01", "10.0.0.5", "vm a"),)},
        {"hosts": (DhcpHost("fa:16:3e:00:00:01", "10.0.0.5", "vm,a"),)},
        {"hosts": (DhcpHost("fa:16:3e:00:00:01", "10.0.0.5", "-vm"),)},
        {"hosts": (DhcpHost("not-a-mac", "10.0.0.5", "vm"),)},
        {"hosts": (DhcpHost("fa:16:3e:00:00:01", "10.0.0.500", "vm"),)},
        {"domain": "bad domain"},
        {"domain": "x\nserver=8.8.8.8"},
    ],
)
def test_values_cannot_inject_configuration(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        n = network(**changes)
        dhcp.render_config(n, files())
        dhcp.render_hosts(n)
        dhcp.render_addn_hosts(n)


def test_paths_must_be_plain() -> None:
    with pytest.raises(ValueError):
        dhcp.render_config(network(), DhcpFiles.under(Path("/tmp/with space"), NET))
    with pytest.raises(ValueError):
        dhcp.render_config(network(interface="ns-x\nserver"), files())


def test_lease_max_is_bounded() -> None:
    v6 = DhcpSubnet(V6, "2001:db8::/64", ipv6_address_mode="dhcpv6-stateful")
    conf = dhcp.render_config(network(v6), files())
    assert f"dhcp-lease-max={dhcp.MAX_LEASES}" in conf.splitlines()


def test_stale_leases_are_those_no_port_holds() -> None:
    hosts = (DhcpHost("fa:16:3e:00:00:01", "10.0.0.3", "host-10-0-0-3"),)
    leases = (
        "1700000000 fa:16:3e:00:00:01 10.0.0.3 host-10-0-0-3 *\n"
        "1700000000 FA:16:3E:00:00:09 10.0.0.3 old *\n"
        "1700000000 fa:16:3e:00:00:02 10.0.0.4 gone 01:fa:16:3e:00:00:02\n"
        "duid 00:01:00:01\n"
        "1700000000 1234 fd00::5 v6 00:01\n"
    )
    assert stale_leases(leases, hosts) == [
        ("10.0.0.3", "fa:16:3e:00:00:09"),
        ("10.0.0.4", "fa:16:3e:00:00:02"),
    ]
