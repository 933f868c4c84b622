"""Rendering a router's radvd.conf: interfaces, prefixes per RA mode, MTU, DNS servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackling.network.linux import radvd
from stackling.network.linux.radvd import RadvdFiles, RaInterface, RaPrefix, RouterAdverts

ROUTER = "9b1f0c2e-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
QR = "qr-0a0b0c0d-0e"


def adverts(*interfaces: RaInterface) -> RouterAdverts:
    """The router's advertisements in its qrouter- namespace (one SLAAC interface by default)."""
    default = RaInterface(QR, (RaPrefix("2001:db8:1::/64", "slaac"),), mtu=1450)
    return RouterAdverts(ROUTER, f"qrouter-{ROUTER}", interfaces or (default,))


def block(conf: str, start: str) -> list[str]:
    """The stripped lines of the `{ ... };` block opened by the line `start`."""
    lines = [line.strip() for line in conf.splitlines()]
    at = lines.index(start)
    assert lines[at + 1] == "{", lines[at:]
    depth, found = 0, []
    for line in lines[at + 1 :]:
        depth += line.count("{") - line.count("}")
        found.append(line)
        if depth == 0:
            return found[1:-1]
    raise AssertionError(f"unclosed block {start}")


def test_files_live_in_one_directory_per_router() -> None:
    root = Path("/var/lib/stackling/network/radvd")
    f = RadvdFiles.under(root, ROUTER.upper())
    assert f.dir == root / ROUTER
    assert (f.conf.name, f.pid.name, f.log.name) == ("radvd.conf", "pid", "log")
    assert radvd.root_beside(Path("/var/lib/stackling/network/dhcp")) == root


def test_slaac_interface_advertises_its_prefix_for_autoconfiguration() -> None:
    conf = radvd.render_config(adverts())
    inside = block(conf, f"interface {QR}")
    for line in (
        "AdvSendAdvert on;",
        "MinRtrAdvInterval 30;",
        "MaxRtrAdvInterval 100;",
        "AdvLinkMTU 1450;",
    ):
        assert line in inside
    assert not any(line.startswith(("AdvManagedFlag", "AdvOtherConfigFlag")) for line in inside)
    assert block(conf, "prefix 2001:db8:1::/64") == ["AdvOnLink on;", "AdvAutonomous on;"]
    # Nothing says the router is not a default router: radvd's lifetime applies.
    assert "AdvDefaultLifetime" not in conf


@pytest.mark.parametrize(
    ("mode", "flags", "autonomous"),
    [
        ("slaac", set(), "on"),
        ("dhcpv6-stateful", {"AdvManagedFlag on;"}, "off"),
        ("dhcpv6-stateless", {"AdvOtherConfigFlag on;"}, "on"),
    ],
)
def test_ra_modes_set_the_flags(mode: str, flags: set[str], autonomous: str) -> None:
    conf = radvd.render_config(adverts(RaInterface(QR, (RaPrefix("2001:db8::/64", mode),))))
    inside = set(block(conf, f"interface {QR}"))
    assert {line for line in inside if line.startswith(("AdvManaged", "AdvOther"))} == flags
    assert f"AdvAutonomous {autonomous};" in block(conf, "prefix 2001:db8::/64")


def test_dns_servers_of_slaac_subnets_only_at_most_three() -> None:
    slaac = RaPrefix(
        "2001:db8:1::/64",
        "slaac",
        ("2001:db8::53", "10.0.0.53", "2001:db8::54", "2001:DB8::53", "2001:db8::55", "fd::1"),
    )
    stateless = RaPrefix("2001:db8:2::/64", "dhcpv6-stateless", ("2001:db8::99",))
    conf = radvd.render_config(adverts(RaInterface(QR, (slaac, stateless))))
    # IPv4 servers cannot be advertised; duplicates once; the DHCPv6 modes get theirs by DHCP.
    assert "    RDNSS 2001:db8::53 2001:db8::54 2001:db8::55" in conf.splitlines()
    assert "2001:db8::99" not in conf and "fd::1" not in conf


def test_no_dns_servers_no_rdnss() -> None:
    assert "RDNSS" not in radvd.render_config(adverts())


def test_mtu_below_the_ipv6_minimum_or_unknown_is_left_out() -> None:
    prefixes = (RaPrefix("2001:db8::/64", "slaac"),)
    for mtu in (None, 1279):
        conf = radvd.render_config(adverts(RaInterface(QR, prefixes, mtu=mtu)))
        assert "AdvLinkMTU" not in conf
    conf = radvd.render_config(adverts(RaInterface(QR, prefixes, mtu=1280)))
    assert "AdvLinkMTU 1280;" in block(conf, f"interface {QR}")


def test_one_block_per_interface_in_name_order_with_every_prefix() -> None:
    second = RaInterface(
        "qr-0a0b0c0d-0a",
        (RaPrefix("2001:db8:2::/64", "slaac"), RaPrefix("2001:db8:3::/64", "dhcpv6-stateful")),
    )
    conf = radvd.render_config(
        adverts(RaInterface(QR, (RaPrefix("2001:db8:1::/64", "slaac"),)), second)
    )
    starts = [line for line in conf.splitlines() if line.startswith("interface ")]
    assert starts == ["interface qr-0a0b0c0d-0a", f"interface {QR}"]
    inside = block(conf, "interface qr-0a0b0c0d-0a")
    assert "prefix 2001:db8:2::/64" in inside and "prefix 2001:db8:3::/64" in inside
    assert "AdvManagedFlag on;" in inside
    assert "AdvManagedFlag on;" not in block(conf, f"interface {QR}")
    assert conf.startswith(f"# Stackling: router advertisements of router {ROUTER}.")


@pytest.mark.parametrize(
    "interface",
    [
        RaInterface("qr-0a0b0c0d-0e; }", (RaPrefix("2001:db8::/64", "slaac"),)),
        RaInterface("this-name-is-too-long", (RaPrefix("2001:db8::/64", "slaac"),)),
        RaInterface(QR, (RaPrefix("10.0.0.0/24", "slaac"),)),
        RaInterface(QR, (RaPrefix("2001:db8::1/64", "slaac"),)),
        RaInterface(QR, (RaPrefix("2001:db8::/64", "eui64"),)),
        RaInterface(QR, (RaPrefix("2001:db8::/64", "slaac", ("not an address",)),)),
        RaInterface(QR, ()),
    ],
)
def test_bad_inputs_are_refused(interface: RaInterface) -> None:
    with pytest.raises(ValueError):
        radvd.render_config(adverts(interface))


def test_nothing_to_advertise_or_an_interface_twice_is_refused() -> None:
    with pytest.raises(ValueError):
        radvd.render_config(RouterAdverts(ROUTER, f"qrouter-{ROUTER}", ()))
    twice = RaInterface(QR, (RaPrefix("2001:db8::/64", "slaac"),))
    with pytest.raises(ValueError):
        radvd.render_config(adverts(twice, twice))
    with pytest.raises(ValueError):
        radvd.render_config(RouterAdverts("not-a-uuid", "qrouter-x", (twice,)))
