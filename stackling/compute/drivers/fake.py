"""A fake hypervisor for tests and scale simulation: instances are entries in memory.

It is never the default and runs no guest. It keeps the libvirt driver's rules
(state transitions, InstanceNotFound, idempotent destroy, power events delivered
after the call that caused them), so the agent behaves the same over it, and many
fake hosts (one FakeDriver per hostname) can run in one process to simulate a
large cloud.

Test hooks: an instance whose display name contains `fail-spawn`, or whose UUID is
in `fail_spawn`, fails to spawn with DriverError, so tests can exercise build
failures.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import struct
import time
import uuid as uuidlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackling.compute.drivers.base import (
    DriverError,
    HostInfo,
    InstanceInfo,
    InstanceNotFound,
    InstanceSpec,
    NicSpec,
    PowerEventHandler,
    PowerState,
    VolumeSpec,
)
from stackling.compute.drivers.console import ConsoleStream, EchoConsole

LOG = logging.getLogger(__name__)

FAIL_SPAWN_MARKER = "fail-spawn"
GIB = 1 << 30
# A fake console keeps its last lines only: thousands of simulated guests stay cheap.
CONSOLE_MAX_LINES = 500
_CLUSTER = 1 << 16


def write_empty_qcow2(path: Path, virtual_size: int) -> None:
    """Write a valid, empty qcow2 (version 3, 64 KiB clusters) of `virtual_size` bytes.

    Four clusters: header, refcount table, one refcount block (covering these four
    clusters) and the L1 table, which has no L2 tables yet: every read gives zeros.
    The size is rounded up to whole 512-byte sectors, as qemu-img does.
    """
    virtual_size = max(-(-virtual_size // 512) * 512, 512)
    l1_entries = max(1, -(-virtual_size // (_CLUSTER * (_CLUSTER // 8))))
    if l1_entries * 8 > _CLUSTER:
        raise ValueError("virtual size too large for a one-cluster L1 table")
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        b"QFI\xfb",
        3,  # version
        0,  # backing file offset
        0,  # backing file name length
        16,  # cluster bits
        virtual_size,
        0,  # no encryption
        l1_entries,
        3 * _CLUSTER,  # L1 table offset
        _CLUSTER,  # refcount table offset
        1,  # refcount table clusters
        0,  # snapshots
        0,  # snapshots offset
        0,  # incompatible features
        0,  # compatible features
        0,  # autoclear features
        4,  # refcount order: 16-bit refcounts
        104,  # header length
    )
    refcount_table = struct.pack(">Q", 2 * _CLUSTER)
    refcount_block = struct.pack(">4H", 1, 1, 1, 1)
    with path.open("wb") as f:
        for cluster in (header, refcount_table, refcount_block, b""):
            f.write(cluster.ljust(_CLUSTER, b"\0"))


@dataclass(slots=True)
class _Guest:
    uuid: str
    spec: InstanceSpec
    state: PowerState = PowerState.SHUTDOWN
    console: list[str] = field(default_factory=list)
    rescued: bool = False
    root_gb: int = 0
    booted_at: float = 0.0


class FakeDriver:
    """In-memory instances on one simulated host (for tests and scale simulation only)."""

    name = "fake"
    # No guest runs, so nothing would read it: simulated boots skip building the ISO.
    reads_config_drive = False

    def __init__(
        self,
        *,
        hostname: str,
        vcpus: int = 64,
        memory_mb: int = 131072,
        disk_gb: int = 2048,
        instances_dir: Path | None = None,
        owner: str = "fake",
        fail_spawn: Collection[str] = (),
    ) -> None:
        self.hostname = hostname
        self.owner = owner
        self.instances_dir = instances_dir  # unused: a fake instance has no files
        self.fail_spawn = set(fail_spawn)
        self._resources = (vcpus, memory_mb, disk_gb)
        self._guests: dict[str, _Guest] = {}
        self._handler: PowerEventHandler | None = None
        self._events: asyncio.Queue[tuple[str, PowerState]] | None = None
        self._pump: asyncio.Task[None] | None = None

    # -- life cycle -----------------------------------------------------------------

    async def start(self, on_power_event: PowerEventHandler) -> None:
        """Begin delivering power events to `on_power_event`."""
        self._handler = on_power_event
        self._events = asyncio.Queue()
        self._pump = asyncio.create_task(self._deliver(), name=f"fake-events:{self.hostname}")

    async def stop(self) -> None:
        """Stop delivering events; the fake guests stay, as real ones would."""
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        self._pump = self._events = self._handler = None

    async def host_info(self) -> HostInfo:
        """The simulated host's size."""
        vcpus, memory_mb, disk_gb = self._resources
        return HostInfo(
            hostname=self.hostname,
            vcpus=vcpus,
            memory_mb=memory_mb,
            disk_gb=disk_gb,
            hypervisor_type="fake",
            hypervisor_version=1000,
            cpu_info={"arch": "x86_64", "model": "fake", "vendor": "fake", "features": []},
        )

    async def list_instances(self) -> list[InstanceInfo]:
        """Every fake instance of this host."""
        return [InstanceInfo(uuid, g.state) for uuid, g in self._guests.items()]

    # -- create and destroy -----------------------------------------------------------

    async def spawn(self, spec: InstanceSpec) -> None:
        """Create the instance running; an existing stopped one is started."""
        uuid = _canonical(spec.uuid)
        if uuid is None:
            raise DriverError(f"{spec.uuid!r} is not an instance UUID")
        guest = self._guests.get(uuid)
        if guest is not None:
            if guest.state in (PowerState.SHUTDOWN, PowerState.CRASHED, PowerState.SUSPENDED):
                self._boot(guest, resumed=guest.state == PowerState.SUSPENDED)
            return
        if FAIL_SPAWN_MARKER in spec.name or uuid in self.fail_spawn:
            raise DriverError(f"the fake hypervisor refused to spawn {spec.name!r} (test hook)")
        guest = self._guests[uuid] = _Guest(uuid, spec, root_gb=spec.root_gb)
        self._boot(guest)

    async def destroy(self, uuid: str) -> None:
        """Forget the instance; absent is fine."""
        canonical = _canonical(uuid)
        if canonical is not None:
            self._guests.pop(canonical, None)

    # -- power --------------------------------------------------------------------------

    async def power_off(self, uuid: str, timeout_s: float = 60.0) -> None:
        """Off at once (a suspended instance loses its saved memory)."""
        guest = self._guest(uuid)
        if guest.state in (PowerState.RUNNING, PowerState.PAUSED):
            self._say(guest, "reboot: Power down")
        self._set(guest, PowerState.SHUTDOWN)

    async def power_on(self, uuid: str) -> None:
        """Start a stopped instance; a suspended one resumes."""
        guest = self._guest(uuid)
        if guest.state in (PowerState.SHUTDOWN, PowerState.CRASHED, PowerState.SUSPENDED):
            self._boot(guest, resumed=guest.state == PowerState.SUSPENDED)

    async def reboot(self, uuid: str, hard: bool) -> None:
        """A fresh boot on the console; running afterwards whatever the state before."""
        guest = self._guest(uuid)
        if guest.state == PowerState.RUNNING and not hard:
            # What the test guest prints: its ACPI power-off, which libvirt turns into a reset.
            self._say(guest, "reboot: Power down")
        self._boot(guest)

    async def pause(self, uuid: str) -> None:
        """Paused (only a running instance can be)."""
        self._transition(uuid, "pause", PowerState.PAUSED, (PowerState.RUNNING,))

    async def unpause(self, uuid: str) -> None:
        """Running again."""
        self._transition(uuid, "unpause", PowerState.RUNNING, (PowerState.PAUSED,))

    async def suspend(self, uuid: str) -> None:
        """Suspended (a running or paused instance)."""
        ways = (PowerState.RUNNING, PowerState.PAUSED)
        self._transition(uuid, "suspend", PowerState.SUSPENDED, ways)

    async def resume(self, uuid: str) -> None:
        """Running again (restored, started or thawed)."""
        guest = self._guest(uuid)
        if guest.state == PowerState.PAUSED:
            self._set(guest, PowerState.RUNNING)
        elif guest.state != PowerState.RUNNING:
            self._boot(guest, resumed=guest.state == PowerState.SUSPENDED)

    async def power_state(self, uuid: str) -> PowerState:
        """The instance's state; InstanceNotFound when absent."""
        return self._guest(uuid).state

    # -- data -----------------------------------------------------------------------------

    async def console_output(self, uuid: str, max_bytes: int | None = None) -> str:
        """The simulated serial console log."""
        data = "".join(line + "\n" for line in self._guest(uuid).console).encode()
        if max_bytes is not None:
            data = data[-max_bytes:] if max_bytes > 0 else b""
        return data.decode(errors="replace")

    async def open_console(self, uuid: str) -> ConsoleStream:
        """An echo of what is typed, which also lands in the console log."""
        guest = self._guest(uuid)
        if guest.state != PowerState.RUNNING:
            raise DriverError(f"instance {uuid} is not running")
        return EchoConsole(functools.partial(self._say, guest))

    async def snapshot(self, uuid: str, dest: Path) -> str:
        """An empty qcow2 of the root disk's size, standing for the root disk."""
        guest = self._guest(uuid)
        size = (guest.root_gb or 1) * GIB
        partial = dest.with_name(f".{dest.name}.partial")
        await asyncio.to_thread(write_empty_qcow2, partial, size)
        await asyncio.to_thread(os.replace, partial, dest)
        return "qcow2"

    async def resize(self, spec: InstanceSpec) -> None:
        """The stopped instance takes the new flavor; the root disk never shrinks."""
        guest = self._guest(spec.uuid)
        if guest.state != PowerState.SHUTDOWN:
            raise DriverError(f"instance {spec.uuid} must be stopped to be resized")
        if guest.rescued:
            raise DriverError(f"instance {spec.uuid} is rescued; unrescue it first")
        if 0 < spec.root_gb < guest.root_gb:
            raise DriverError(
                f"cannot shrink the root disk of {spec.uuid} "
                f"from {guest.root_gb} to {spec.root_gb} GiB"
            )
        guest.spec = spec
        guest.root_gb = max(guest.root_gb, spec.root_gb)

    async def rescue(self, spec: InstanceSpec, rescue_image: Path, rescue_format: str) -> None:
        """Running from the rescue image."""
        guest = self._guest(spec.uuid)
        if guest.rescued:
            await self.power_on(spec.uuid)
            return
        guest.rescued = True
        self._say(guest, f"booting the rescue image ({rescue_format})")
        self._boot(guest)

    async def unrescue(self, spec: InstanceSpec) -> None:
        """Running from its own disk again."""
        guest = self._guest(spec.uuid)
        if guest.rescued:
            guest.rescued = False
            self._boot(guest)

    async def diagnostics(self, uuid: str) -> dict[str, Any]:
        """Plausible diagnostics in Nova's 2.48 shape (all counters zero)."""
        guest = self._guest(uuid)
        spec = guest.spec
        running = guest.state in (PowerState.RUNNING, PowerState.PAUSED)
        disks = 1 + (spec.ephemeral_gb > 0) + (spec.swap_mb > 0) + (spec.config_drive is not None)
        zero_disk = dict.fromkeys(
            ("read_bytes", "read_requests", "write_bytes", "write_requests", "errors_count"), 0
        )
        nic_counters = ("rx_octets", "rx_errors", "rx_drop", "rx_packets")
        nic_counters += ("tx_octets", "tx_errors", "tx_drop", "tx_packets")
        return {
            "state": _STATE_NAMES[guest.state],
            # Nova's fake driver also reports itself as libvirt here: the 2.48 schema
            # only knows real drivers' names, and clients validate against it.
            "driver": "libvirt",
            "hypervisor": "fake",
            "hypervisor_os": "linux",
            "uptime": int(time.monotonic() - guest.booted_at) if running else 0,
            "config_drive": spec.config_drive is not None,
            "num_cpus": spec.vcpus,
            "num_disks": disks,
            "num_nics": len(spec.nics),
            "memory_details": {"maximum": spec.memory_mb, "used": spec.memory_mb if running else 0},
            "cpu_details": [{"id": n, "time": 0, "utilisation": None} for n in range(spec.vcpus)]
            if running
            else [],
            "nic_details": [
                {"mac_address": nic.mac, "rx_rate": None, "tx_rate": None}
                | dict.fromkeys(nic_counters, 0)
                for nic in spec.nics
            ],
            "disk_details": [dict(zero_disk) for _ in range(disks)],
        }

    async def attach_interface(self, uuid: str, nic: NicSpec) -> None:
        """Add the NIC to the simulated guest (kept once by MAC)."""
        guest = self._guest(uuid)
        if all(n.mac != nic.mac for n in guest.spec.nics):
            guest.spec = dataclasses.replace(guest.spec, nics=(*guest.spec.nics, nic))

    async def detach_interface(self, uuid: str, nic: NicSpec) -> None:
        """Drop the NIC with that MAC from the simulated guest."""
        guest = self._guest(uuid)
        kept = tuple(n for n in guest.spec.nics if n.mac != nic.mac)
        guest.spec = dataclasses.replace(guest.spec, nics=kept)

    async def attach_volume(self, uuid: str, volume: VolumeSpec) -> None:
        """Add the disk to the simulated guest (kept if its device is taken by it already)."""
        guest = self._guest(uuid)
        if any(v.target_dev == volume.target_dev for v in guest.spec.volumes):
            return
        guest.spec = dataclasses.replace(guest.spec, volumes=(*guest.spec.volumes, volume))

    async def detach_volume(self, uuid: str, volume: VolumeSpec) -> None:
        """Drop the disk at that device from the simulated guest."""
        guest = self._guest(uuid)
        kept = tuple(v for v in guest.spec.volumes if v.target_dev != volume.target_dev)
        guest.spec = dataclasses.replace(guest.spec, volumes=kept)

    async def extend_volume(self, uuid: str, volume: VolumeSpec, new_size_bytes: int) -> None:
        """Nothing to tell a simulated guest; the instance must exist."""
        self._guest(uuid)

    # -- helpers --------------------------------------------------------------------------

    def _guest(self, uuid: str) -> _Guest:
        canonical = _canonical(uuid)
        guest = self._guests.get(canonical) if canonical else None
        if guest is None:
            raise InstanceNotFound(f"instance {uuid} not found on this host")
        return guest

    def _transition(
        self, uuid: str, action: str, target: PowerState, allowed: tuple[PowerState, ...]
    ) -> None:
        guest = self._guest(uuid)
        if guest.state == target:
            return
        if guest.state not in allowed:
            raise DriverError(f"cannot {action} instance {uuid}: it is {guest.state.name.lower()}")
        self._set(guest, target)

    def _boot(self, guest: _Guest, *, resumed: bool = False) -> None:
        """Running, with what the test image prints on its console (unless restored)."""
        if not resumed:
            spec = guest.spec
            source = "config-drive" if spec.config_drive is not None else "none"
            nics = " ".join(f"eth{i}=none" for i in range(max(1, len(spec.nics))))
            for line in (
                "[    0.000000] Linux version 6.1.0-fake (Stackling fake hypervisor)",
                "stackling-guest[0.40]: drivers loaded",
                "stackling-guest[1.20]: network configured",
                f"stackling-guest[1.30]: metadata={source} hostname=stackling-guest keys=0",
                "stackling-guest[1.50]: up",
                f"STACKLING-GUEST-READY {nics}",
            ):
                self._say(guest, line)
            guest.booted_at = time.monotonic()
        self._set(guest, PowerState.RUNNING)

    def _say(self, guest: _Guest, line: str) -> None:
        guest.console.append(line)
        del guest.console[:-CONSOLE_MAX_LINES]

    def _set(self, guest: _Guest, state: PowerState) -> None:
        if guest.state == state:
            return
        guest.state = state
        if self._events is not None:
            self._events.put_nowait((guest.uuid, state))

    async def _deliver(self) -> None:
        assert self._events is not None
        while True:
            uuid, state = await self._events.get()
            if self._handler is None:
                continue
            try:
                await self._handler(uuid, state)
            except Exception:
                LOG.exception("power event handler failed for %s", uuid)


_STATE_NAMES = {
    PowerState.NOSTATE: "pending",
    PowerState.RUNNING: "running",
    PowerState.PAUSED: "paused",
    PowerState.SHUTDOWN: "shutdown",
    PowerState.CRASHED: "crashed",
    PowerState.SUSPENDED: "suspended",
}


def _canonical(uuid: str) -> str | None:
    try:
        return str(uuidlib.UUID(uuid))
    except (ValueError, TypeError, AttributeError):
        return None
