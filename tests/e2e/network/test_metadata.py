"""The metadata path for real: a guest namespace asks 169.254.169.254, a proxy in the DHCP
namespace forwards to the host's unix socket server, and the metadata app answers."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stackling.compute.metadata.app import build_metadata_app
from stackling.compute.metadata.signing import sign_instance_id
from stackling.compute.metadata.source import InstanceMetadataSource
from stackling.network.linux import addresses, links, names, netns, procs
from stackling.network.linux.addresses import Route
from stackling.network.metadata import process
from stackling.network.metadata.dataplane import ensure_metadata, stop_metadata
from stackling.network.metadata.lookup import PortOwner
from stackling.network.metadata.process import Outcome
from stackling.network.metadata.server import MetadataServer
from tests.e2e.network.conftest import Sandbox, new_id
from tests.unit.compute.metadata.sources import PROJECT, UUID, make_source

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SECRET = b"e2e-metadata-secret"
GUEST_IP = "10.0.0.5"
OTHER_UUID = "0f0f0f0f-1111-4222-8333-444444444444"
# The guest's HTTP client: one GET with a forged identity header, status and body printed.
CLIENT = """
import sys, time, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], headers={"X-Instance-ID": sys.argv[2]})
deadline = time.monotonic() + float(sys.argv[3])
while True:
    try:
        with urllib.request.urlopen(req, timeout=3) as r:
            print(r.status); print(r.read().decode()); break
    except urllib.error.HTTPError as e:
        print(e.code); print(e.read().decode()); break
    except OSError as e:
        if time.monotonic() > deadline:
            print("unreachable", e); sys.exit(1)
        time.sleep(0.2)
"""


class Backend:
    shared_secret = SECRET

    async def source_for(self, instance_id: str) -> InstanceMetadataSource | None:
        return make_source() if instance_id == UUID else None

    async def set_password(self, instance_id: str, password: str) -> bool:
        return False


@dataclass
class Upstream:
    app: Any = field(default_factory=lambda: build_metadata_app(Backend()))

    def sign(self, instance_id: str) -> str:
        return sign_instance_id(SECRET, instance_id)


@dataclass
class Path169:
    """A DHCP namespace with its proxy's interface, a guest beside it, and the host server."""

    box: Sandbox
    network_id: str
    namespace: str
    interface: str
    guest: str
    socket: Path
    asked: list[tuple[str, str]]

    async def ensure(self) -> Outcome:
        return await ensure_metadata(
            self.namespace,
            self.interface,
            self.network_id,
            dhcp_root=self.box.dhcp_root,
            upstream=self.socket,
        )

    async def fetch(self, path: str, patience_s: float = 10.0) -> tuple[str, str]:
        """GET http://169.254.169.254<path> from the guest: (status, body)."""
        argv = ["ip", "netns", "exec", self.guest, sys.executable, "-I", "-c", CLIENT]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            f"http://169.254.169.254{path}",
            OTHER_UUID,
            str(patience_s),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), patience_s + 20)
        status, _, body = out.decode().partition("\n")
        return (status.strip() if proc.returncode == 0 else "unreachable"), body.strip()


@pytest.fixture
async def path169(box: Sandbox) -> AsyncIterator[Path169]:
    network_id = new_id()
    namespace = names.dhcp_namespace(network_id, tag=box.tag)
    interface = names.dhcp_port_name(new_id())
    await netns.ensure_namespace(namespace)
    guest = await box.namespace("guest")
    await links.ensure_veth(interface, "eth0", peer_netns=guest, netns=namespace)
    await addresses.ensure_addresses(interface, ["10.0.0.2/24"], netns=namespace)
    await addresses.ensure_addresses("eth0", [f"{GUEST_IP}/24"], netns=guest)
    # What dnsmasq's classless static route option gives a guest on a router-less network.
    await addresses.ensure_routes([Route("169.254.169.254/32", via="10.0.0.2")], netns=guest)
    asked: list[tuple[str, str]] = []

    async def resolve(network: str, address: str) -> PortOwner | None:
        asked.append((network, address))
        if (network, address) == (network_id, GUEST_IP):
            return PortOwner(UUID, PROJECT, "port")
        return None

    server = MetadataServer(box.dir / "metadata.sock", resolve, Upstream())
    await server.start()
    try:
        yield Path169(box, network_id, namespace, interface, guest, server.path, asked)
    finally:
        await server.stop()


async def test_guest_reads_its_metadata_through_the_namespace_proxy(path169: Path169) -> None:
    assert await path169.ensure() == Outcome.STARTED
    assert await path169.ensure() == Outcome.UNCHANGED
    pid = process.running_pid(path169.box.dhcp_root, path169.network_id)
    assert pid is not None
    assert procs.in_namespace(pid, path169.namespace)
    have = await addresses.list_addresses(path169.interface, netns=path169.namespace)
    assert {str(a) for a in have} == {"10.0.0.2/24", "169.254.169.254/32"}

    status, body = await path169.fetch("/openstack/latest/meta_data.json")
    assert status == "200", body
    # The guest asked as OTHER_UUID; its address alone decided who it is.
    assert json.loads(body)["uuid"] == UUID
    assert path169.asked == [(path169.network_id, GUEST_IP)]

    await stop_metadata(
        path169.network_id,
        dhcp_root=path169.box.dhcp_root,
        namespace=path169.namespace,
        interface=path169.interface,
    )
    assert await procs.wait_gone(pid, 5)
    assert process.running_pid(path169.box.dhcp_root, path169.network_id) is None
    assert not process.pidfile(path169.box.dhcp_root, path169.network_id).exists()
    have = await addresses.list_addresses(path169.interface, netns=path169.namespace)
    assert {str(a) for a in have} == {"10.0.0.2/24"}
    status, _ = await path169.fetch("/openstack/latest/meta_data.json", patience_s=1)
    assert status == "unreachable"


async def test_lost_pidfile_and_strays_converge(path169: Path169) -> None:
    root = path169.box.dhcp_root
    await path169.ensure()
    first = process.running_pid(root, path169.network_id)
    assert first is not None
    # A proxy that lost its pid file is found by its command line and replaced.
    process.pidfile(root, path169.network_id).unlink()
    assert await path169.ensure() == Outcome.STARTED
    assert await procs.wait_gone(first, 5)
    second = process.running_pid(root, path169.network_id)
    assert second is not None and second != first
    status, body = await path169.fetch("/latest/meta-data/hostname")
    assert (status, body) == ("200", "web-1.novalocal")
    # The sweep stops the proxies of networks that are no longer wanted.
    assert await process.kill_strays(root, keep=[path169.network_id]) == []
    assert await process.kill_strays(root, keep=()) == [path169.network_id]
    assert await procs.wait_gone(second, 5)
    assert await process.list_networks(root) == []
