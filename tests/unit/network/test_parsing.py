"""Reading the tools' JSON, routes and FDB entries as data, and running commands (bounded)."""

from __future__ import annotations

import pytest

from stackling.network.linux import cmd, links, vxlan
from stackling.network.linux.addresses import Route
from stackling.network.linux.vxlan import FdbEntry

VETH = {
    "ifindex": 2,
    "link_index": 3,
    "ifname": "tapx",
    "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
    "mtu": 1450,
    "address": "7a:ba:ad:c9:39:11",
    "link_netnsid": 0,
    "master": "brqx",
    "linkinfo": {"info_kind": "veth", "info_slave_kind": "bridge"},
}
TAP = {
    "ifindex": 5,
    "ifname": "tapy",
    "flags": ["BROADCAST", "MULTICAST"],
    "mtu": 1500,
    "address": "6a:00:00:00:00:01",
    "linkinfo": {"info_kind": "tun", "info_data": {"type": "tap", "persist": True}},
}
VXLAN = {
    "ifindex": 7,
    "ifname": "vxlan-77",
    "link": "underlay",
    "flags": ["BROADCAST", "MULTICAST", "UP"],
    "mtu": 1450,
    "address": "d2:51:2e:b4:98:9f",
    "linkinfo": {"info_kind": "vxlan", "info_data": {"id": 77, "local": "192.0.2.1", "port": 4789}},
}


def test_links_parse_from_ip_json() -> None:
    veth = links.Link.from_json(VETH)
    assert (veth.name, veth.kind, veth.up, veth.master, veth.mtu) == (
        "tapx",
        "veth",
        True,
        "brqx",
        1450,
    )
    assert (veth.peer_ifindex, veth.peer_netnsid) == (3, 0)
    tap = links.Link.from_json(TAP)
    assert (tap.kind, tap.up, tap.master) == ("tap", False, None)
    vx = links.Link.from_json(VXLAN)
    assert (vx.kind, vx.lower, vx.data["id"]) == ("vxlan", "underlay", 77)
    plain = links.Link.from_json({"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP"]})
    assert plain.kind is None and plain.up


@pytest.mark.parametrize("name", ["", "sixteen-chars-xx", "a b", "a/b", "..", 'x"'])
def test_bad_interface_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        links.check_ifname(name)


def test_macs_are_normalised() -> None:
    assert links.check_mac("FA-16-3E-00-00-01") == "fa:16:3e:00:00:01"
    with pytest.raises(ValueError):
        links.check_mac("fa:16:3e:00:00")


def test_routes_normalise_and_match() -> None:
    default = Route("default", via="10.0.0.1").normalized()
    assert default == Route("0.0.0.0/0", "10.0.0.1")
    assert Route("default", via="2001:db8::1").normalized().dst == "::/0"
    assert Route("10.1.0.0/16", dev="qr-x").normalized() == Route("10.1.0.0/16", None, "qr-x")
    assert default.covers(Route("0.0.0.0/0", "10.0.0.1", "qg-x"))
    assert not Route("0.0.0.0/0", "10.0.0.1", "qr-x").covers(Route("0.0.0.0/0", "10.0.0.1", "qg-x"))
    for bad in (
        Route("default"),
        Route("10.1.0.0/16"),
        Route("10.1.0.5/16", via="10.0.0.1"),
        Route("10.1.0.0/16", via="2001:db8::1"),
    ):
        with pytest.raises(ValueError):
            bad.normalized()


def test_fdb_wanted_entries() -> None:
    wanted = vxlan.wanted_fdb(["192.0.2.2", "192.0.2.3"], {"FA:16:3E:00:00:01": "192.0.2.3"})
    assert wanted == {
        FdbEntry("00:00:00:00:00:00", "192.0.2.2"),
        FdbEntry("00:00:00:00:00:00", "192.0.2.3"),
        FdbEntry("fa:16:3e:00:00:01", "192.0.2.3"),
    }
    with pytest.raises(ValueError):
        vxlan.wanted_fdb(["not-an-ip"], {})


async def test_run_returns_stdout_and_reports_failures() -> None:
    assert await cmd.run(["sh", "-c", "echo out; echo err >&2"]) == "out\n"
    assert await cmd.run(["cat"], stdin=b"fed") == "fed"
    with pytest.raises(cmd.CommandError) as failed:
        await cmd.run(["sh", "-c", "echo 'Cannot find device' >&2; exit 3"])
    assert failed.value.returncode == 3 and failed.value.says("cannot find")
    with pytest.raises(cmd.CommandError) as missing:
        await cmd.run(["/nonexistent/tool"])
    assert missing.value.returncode == 127
    with pytest.raises(cmd.CommandError) as slow:
        await cmd.run(["sleep", "5"], timeout_s=0.2)
    assert slow.value.returncode is None


async def test_run_json_reads_empty_output_as_nothing() -> None:
    assert await cmd.run_json(["true"]) == []
    assert await cmd.run_json(["echo", '[{"name": "x"}]']) == [{"name": "x"}]
    with pytest.raises(cmd.LinuxNetError):
        await cmd.run_json(["echo", "{not json"])


def test_commands_aim_at_namespaces() -> None:
    assert cmd.ip_argv(None, "link") == ["ip", "link"]
    assert cmd.ip_argv("ns1", "link") == ["ip", "-n", "ns1", "link"]
    assert cmd.bridge_argv("ns1", "fdb") == ["bridge", "-n", "ns1", "fdb"]
    assert cmd.in_netns("ns1", ["nft", "-f", "-"]) == [
        "ip",
        "netns",
        "exec",
        "ns1",
        "nft",
        "-f",
        "-",
    ]
    assert cmd.in_netns(None, ["nft"]) == ["nft"]
