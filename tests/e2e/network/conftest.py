"""A sandbox per test: namespaces under a random tag, removed afterwards whatever happens.

Every namespace a test makes is named `<tag><role>` (router and DHCP namespaces
through `names` with the same tag), so cleanup can find them all by prefix even
if the test died half-way. A namespace called "host" stands in for the host:
bridges, VXLAN devices and host tables go there, never into the real host's
namespace, which each test checks it left as it found it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stackling.network.linux import addresses, dnsmasq, links, names, netns, nft
from stackling.network.linux.addresses import Route

PROBE = Path(__file__).with_name("probe.py")
PROBE_TIMEOUT_S = 30.0


@dataclass
class Result:
    """How a probe ended."""

    rc: int
    out: str
    err: str


@dataclass
class Sandbox:
    """One test's namespaces, processes and files."""

    tag: str
    dir: Path
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)

    @property
    def dhcp_root(self) -> Path:
        """Where this test's DHCP servers keep their files."""
        return self.dir / "dhcp"

    def name(self, role: str) -> str:
        """The name of this test's namespace for `role`."""
        return f"{self.tag}{role}"

    async def namespace(self, role: str) -> str:
        """Create this test's namespace for `role`; its name."""
        name = self.name(role)
        await netns.ensure_namespace(name)
        return name

    async def probe(self, ns: str, *args: str, timeout_s: float = PROBE_TIMEOUT_S) -> Result:
        """Run a probe command inside a namespace to completion."""
        proc = await asyncio.create_subprocess_exec(
            *netns_exec(ns, args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"probe {args} in {ns} ran past {timeout_s:g}s") from None
        assert proc.returncode is not None
        return Result(proc.returncode, out.decode().strip(), err.decode().strip())

    async def spawn(self, ns: str, *args: str) -> asyncio.subprocess.Process:
        """Start a probe in the background (killed at cleanup); a server is waited for."""
        proc = await asyncio.create_subprocess_exec(
            *netns_exec(ns, args),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.procs.append(proc)
        if args[0] == "serve":
            assert proc.stdout is not None
            ready = await asyncio.wait_for(proc.stdout.readline(), PROBE_TIMEOUT_S)
            assert ready.strip() == b"ready", ready
        return proc

    async def cleanup(self) -> None:
        """Kill our processes, DHCP servers and namespaces; remove our files."""
        for proc in self.procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 10)
        await dnsmasq.kill_strays(self.dhcp_root, keep=())
        for name in await netns.list_namespaces():
            if name.startswith(self.tag):
                await netns.delete_namespace(name)
        shutil.rmtree(self.dir, ignore_errors=True)


def netns_exec(ns: str, args: tuple[str, ...]) -> list[str]:
    """A probe's command line inside a namespace."""
    return ["ip", "netns", "exec", ns, sys.executable, str(PROBE), *args]


async def host_footprint() -> set[str]:
    """Our kinds of links and tables in the real host's namespace (tests must add none)."""
    found = {f"link {o.name}" for o in await links.list_owned_links()}
    for family, table in await nft.list_tables():
        if names.is_our_table(family, table):
            found.add(f"table {family} {table}")
    return found


@pytest.fixture
async def box() -> AsyncIterator[Sandbox]:
    """A sandbox for one test, always cleaned up."""
    if os.geteuid() != 0:
        pytest.fail("network namespaces need root (CI runs the suite as root)", pytrace=False)
    tag = f"stk{secrets.token_hex(3)}-"
    # Under /tmp and traversable by others: dnsmasq re-reads its files as nobody.
    work = Path(tempfile.mkdtemp(prefix=tag, dir="/tmp"))
    await asyncio.to_thread(work.chmod, 0o755)
    sandbox = Sandbox(tag, work)
    before = await host_footprint()
    try:
        yield sandbox
    finally:
        await sandbox.cleanup()
        leftovers = [n for n in await netns.list_namespaces() if n.startswith(tag)]
        assert not leftovers, f"namespaces left behind: {leftovers}"
        added = await host_footprint() - before
        assert not added, f"the test changed the real host: {sorted(added)}"


def new_id() -> str:
    """A random resource id."""
    return str(uuid.uuid4())


async def plug_guest(
    box: Sandbox,
    *,
    host: str,
    bridge: str,
    role: str,
    cidr: str,
    mac: str | None = None,
    gateway: str | None = None,
    port_id: str | None = None,
) -> tuple[str, str]:
    """A namespace standing for an instance, plugged into `bridge` in `host`: (namespace, tap)."""
    guest = await box.namespace(role)
    tap = names.tap_name(port_id or new_id())
    await links.ensure_veth(tap, "eth0", peer_netns=guest, netns=host, bridge=bridge, peer_mac=mac)
    await addresses.ensure_addresses("eth0", [cidr], netns=guest)
    if gateway:
        await addresses.ensure_routes([Route("default", via=gateway)], netns=guest)
    return guest, tap
