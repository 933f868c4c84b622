"""One dnsmasq per network in its qdhcp- namespace, and a real DHCP client (busybox udhcpc)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from stackling.network.linux import addresses, dnsmasq, links, names, netns
from stackling.network.linux.cmd import run
from stackling.network.linux.dhcp import DhcpFiles, DhcpHost, DhcpNetwork, DhcpSubnet, HostRoute
from stackling.network.linux.dnsmasq import Outcome
from tests.e2e.network.conftest import Sandbox, new_id, plug_guest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

# Prints udhcpc's view of the lease (it passes the options as environment variables).
SCRIPT = """#!/bin/sh
[ "$1" = bound ] || exit 0
for v in ip subnet router dns domain hostname mtu staticroutes lease; do
  eval "echo $v=\\$$v"
done > "$LEASE_OUT"
"""


class Network:
    """A network with its DHCP namespace, bridge and DHCP port in the test's host namespace."""

    def __init__(self, box: Sandbox, host: str, bridge: str) -> None:
        self.box = box
        self.host = host
        self.bridge = bridge
        self.id = new_id()
        self.subnet = new_id()
        self.namespace = names.dhcp_namespace(self.id, tag=box.tag)
        port = new_id()
        self.tap, self.interface = names.tap_name(port), names.dhcp_port_name(port)
        self.hosts: list[DhcpHost] = []
        self.domain = "openstacklocal"

    async def plug(self) -> None:
        await netns.ensure_namespace(self.namespace)
        await links.ensure_veth(
            self.tap,
            self.interface,
            peer_netns=self.namespace,
            netns=self.host,
            bridge=self.bridge,
            peer_mac="fa:16:3e:00:00:02",
        )
        await addresses.ensure_addresses(self.interface, ["10.0.0.2/24"], netns=self.namespace)

    def spec(self) -> DhcpNetwork:
        subnet = DhcpSubnet(
            self.subnet,
            "10.0.0.0/24",
            gateway_ip="10.0.0.1",
            host_routes=(HostRoute("192.168.50.0/24", "10.0.0.1"),),
            metadata_nexthop="10.0.0.2",
        )
        return DhcpNetwork(
            self.id,
            self.namespace,
            self.interface,
            (subnet,),
            tuple(self.hosts),
            mtu=1450,
            domain=self.domain,
        )

    async def ensure(self) -> Outcome:
        return await dnsmasq.ensure(self.spec(), self.box.dhcp_root)

    def pid(self) -> int | None:
        return dnsmasq.running_pid(DhcpFiles.under(self.box.dhcp_root, self.id))


async def udhcpc(box: Sandbox, ns: str) -> dict[str, str]:
    """Run busybox udhcpc once in `ns`; the lease it got."""
    script = box.dir / "udhcpc.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    out = box.dir / f"lease-{ns}"
    argv = ["ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n"]
    argv += ["-t", "5", "-T", "1", "-s", str(script), "-O", "mtu", "-O", "staticroutes"]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, "LEASE_OUT": str(out)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    log, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, log.decode()
    return dict(line.split("=", 1) for line in out.read_text().splitlines())


@pytest.fixture
def busybox() -> None:
    """busybox (udhcpc) is the DHCP client of these tests (Debian package: busybox)."""
    if shutil.which("busybox") is None:
        # The test set-up installs it: missing, it is a broken set-up, not a skip.
        pytest.fail("busybox is not installed (apt-get install busybox)", pytrace=False)


async def _setup(box: Sandbox) -> tuple[str, str, Network]:
    host = await box.namespace("host")
    bridge = names.bridge_name(new_id())
    await links.ensure_bridge(bridge, netns=host)
    network = Network(box, host, bridge)
    await network.plug()
    return host, bridge, network


def _netns_inode(pid: int | str) -> int:
    return Path(f"/proc/{pid}/ns/net").stat().st_ino


@pytest.mark.usefixtures("busybox")
async def test_client_gets_its_static_address_options_and_name(box: Sandbox) -> None:
    host, bridge, network = await _setup(box)
    network.hosts.append(DhcpHost("fa:16:3e:00:01:01", "10.0.0.15", "vm-one"))
    assert await network.ensure() == Outcome.STARTED
    assert await network.ensure() == Outcome.UNCHANGED
    pid = network.pid()
    assert pid is not None
    # It runs in the network's namespace, not in ours (the host's).
    assert _netns_inode(pid) == netns.namespace_inode(network.namespace)
    assert _netns_inode(pid) != _netns_inode("self")

    client, _ = await plug_guest(
        box, host=host, bridge=bridge, role="vm1", cidr="10.0.0.99/32", mac="fa:16:3e:00:01:01"
    )
    await addresses.ensure_addresses("eth0", [], netns=client)
    lease = await udhcpc(box, client)
    assert lease["ip"] == "10.0.0.15" and lease["subnet"] == "255.255.255.0"
    assert lease["router"] == "10.0.0.1" and lease["mtu"] == "1450"
    assert lease["hostname"] == "vm-one" and lease["domain"] == "openstacklocal"
    assert lease["dns"] == "10.0.0.2"
    routes = lease["staticroutes"].split()
    assert list(zip(routes[::2], routes[1::2], strict=True)) == [
        ("169.254.169.254/32", "10.0.0.2"),
        ("192.168.50.0/24", "10.0.0.1"),
        ("0.0.0.0/0", "10.0.0.1"),
    ]
    files = DhcpFiles.under(box.dhcp_root, network.id)
    assert "fa:16:3e:00:01:01 10.0.0.15 vm-one" in files.leases.read_text()

    # Its name resolves on the network's DNS; nothing else does (no upstream servers).
    await addresses.ensure_addresses("eth0", ["10.0.0.15/24"], netns=client)
    answer = await box.probe(client, "dns", "10.0.0.2", "vm-one.openstacklocal")
    assert answer.rc == 0 and answer.out == "10.0.0.15", answer.err
    assert (await box.probe(client, "dns", "10.0.0.2", "example.com")).rc == 1


@pytest.mark.usefixtures("busybox")
async def test_hosts_reload_and_configuration_restart(box: Sandbox) -> None:
    host, bridge, network = await _setup(box)
    assert await network.ensure() == Outcome.STARTED
    first = network.pid()

    # A new port: SIGHUP, same process, and the new client is served.
    network.hosts.append(DhcpHost("fa:16:3e:00:02:02", "10.0.0.16", "vm-two"))
    assert await network.ensure() == Outcome.RELOADED
    assert network.pid() == first
    client, _ = await plug_guest(
        box, host=host, bridge=bridge, role="vm2", cidr="10.0.0.99/32", mac="fa:16:3e:00:02:02"
    )
    await addresses.ensure_addresses("eth0", [], netns=client)
    assert (await udhcpc(box, client))["ip"] == "10.0.0.16"

    # The main configuration changed: a new process.
    network.domain = "example.internal"
    assert await network.ensure() == Outcome.RESTARTED
    second = network.pid()
    assert second is not None and second != first
    assert (await udhcpc(box, client))["domain"] == "example.internal"

    # The namespace's name was removed and made again (dnsmasq kept the old one
    # alive, serving nobody): it is restarted into the new one.
    await run(["ip", "netns", "delete", network.namespace])
    await network.plug()
    assert await network.ensure() == Outcome.RESTARTED
    third = network.pid()
    assert third is not None and _netns_inode(third) == netns.namespace_inode(network.namespace)
    assert (await udhcpc(box, client))["ip"] == "10.0.0.16"

    await dnsmasq.stop(network.id, box.dhcp_root)
    await dnsmasq.stop(network.id, box.dhcp_root)
    assert network.pid() is None
    assert not DhcpFiles.under(box.dhcp_root, network.id).dir.exists()


async def test_strays_of_deleted_networks_are_killed(box: Sandbox) -> None:
    host = await box.namespace("host")
    bridge = names.bridge_name(new_id())
    await links.ensure_bridge(bridge, netns=host)
    kept, deleted = Network(box, host, bridge), Network(box, host, bridge)
    for network in (kept, deleted):
        await network.plug()
        assert await network.ensure() == Outcome.STARTED
    orphan = deleted.pid()
    assert orphan is not None
    pid_file = DhcpFiles.under(box.dhcp_root, deleted.id).pid
    # A dnsmasq whose pid file was lost is found by its command line and replaced,
    # not joined by a second one.
    pid_file.unlink()
    assert dnsmasq.find_processes(box.dhcp_root).get(deleted.id) == [orphan]
    assert await deleted.ensure() == Outcome.STARTED
    doomed = deleted.pid()
    assert doomed is not None and doomed != orphan
    assert dnsmasq.find_processes(box.dhcp_root).get(deleted.id) == [doomed]

    # The network is deleted (and its pid file lost again): the sweep still finds it.
    pid_file.unlink()

    assert await dnsmasq.kill_strays(box.dhcp_root, keep=[kept.id]) == [deleted.id]
    assert set(dnsmasq.find_processes(box.dhcp_root)) == {kept.id}
    assert not DhcpFiles.under(box.dhcp_root, deleted.id).dir.exists()
    assert kept.pid() is not None
    assert await dnsmasq.kill_strays(box.dhcp_root, keep=[kept.id]) == []


@pytest.mark.usefixtures("busybox")
async def test_an_address_given_to_a_new_port_is_released_first(box: Sandbox) -> None:
    host, bridge, network = await _setup(box)
    network.hosts.append(DhcpHost("fa:16:3e:00:02:01", "10.0.0.20", "old"))
    await network.ensure()
    first, _ = await plug_guest(
        box, host=host, bridge=bridge, role="vm1", cidr="10.0.0.98/32", mac="fa:16:3e:00:02:01"
    )
    await addresses.ensure_addresses("eth0", [], netns=first)
    assert (await udhcpc(box, first))["ip"] == "10.0.0.20"
    # The port is deleted and its address goes to a new port with another MAC.
    network.hosts[:] = [DhcpHost("fa:16:3e:00:02:02", "10.0.0.20", "new")]
    assert await network.ensure() == Outcome.RELOADED
    files = DhcpFiles.under(box.dhcp_root, network.id)
    # dhcp_release is a packet to dnsmasq, which then rewrites its lease file.
    for _ in range(200):
        if "fa:16:3e:00:02:01" not in files.leases.read_text():
            break
        await asyncio.sleep(0.05)
    assert "fa:16:3e:00:02:01" not in files.leases.read_text()
    second, _ = await plug_guest(
        box, host=host, bridge=bridge, role="vm2", cidr="10.0.0.97/32", mac="fa:16:3e:00:02:02"
    )
    await addresses.ensure_addresses("eth0", [], netns=second)
    assert (await udhcpc(box, second))["ip"] == "10.0.0.20"
