"""What the compute agent needs from a hypervisor: a small typed Protocol.

The agent owns the decisions (states, retries, reconciliation); a driver only
does what it is told, idempotently, to the domains it owns. A driver never
reads the database. Every instance is named by its UUID, which is also the
hypervisor's handle (the libvirt domain UUID), so a restarted agent can match
what exists to its rows without a side table.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from stackling.compute.drivers.console import ConsoleStream


class PowerState(enum.IntEnum):
    """Nova's power states (the integers the API shows as `OS-EXT-STS:power_state`)."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


class DriverError(Exception):
    """A driver operation failed; the message is safe to show to the instance's owner."""


class InstanceNotFound(DriverError):
    """The hypervisor has no instance with this UUID (among those this cloud owns)."""


@dataclass(frozen=True, slots=True)
class HostInfo:
    """What a host offers, as reported to placement and `os-hypervisors`."""

    hostname: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    hypervisor_type: str  # "QEMU", "KVM", "fake"
    hypervisor_version: int  # e.g. 7002000 for 7.2.0, as Nova reports it
    cpu_info: dict[str, Any] = field(default_factory=dict)
    host_ip: str = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class NicSpec:
    """One virtual NIC: plugged into a Linux bridge through a tap named after its port."""

    port_id: str
    mac: str
    bridge: str
    tap: str
    mtu: int = 1500
    model: str = "virtio"


@dataclass(frozen=True, slots=True)
class VolumeSpec:
    """One volume as a guest disk: what the volume service's connection_info says to open."""

    volume_id: str
    # The guest device name Nova reserved ("vdb"; "vda" for a boot volume).
    target_dev: str
    # Cinder's connection_info["driver_volume_type"]: "file" (a qcow2/raw file) or "block".
    kind: str
    # A file path or a block device path.
    path: str
    format: str = "qcow2"
    bus: str = "virtio"
    readonly: bool = False
    # QoS limits from the volume type, as libvirt <iotune> element names to values
    # (total_bytes_sec, read_iops_sec...).
    iotune: dict[str, int] = field(default_factory=dict)
    # The guest's boot order for a boot volume, None for a data volume.
    boot_index: int | None = None


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """Everything a driver needs to create (or recreate) one instance's domain."""

    uuid: str
    name: str  # the server's display name (for the domain's description only)
    vcpus: int
    memory_mb: int
    root_gb: int  # 0: the root disk keeps the image's virtual size
    ephemeral_gb: int = 0
    swap_mb: int = 0
    # The cached base image the root disk is a copy-on-write overlay of.
    image_path: Path | None = None
    image_format: str = "qcow2"  # "qcow2" or "raw"
    # A prepared config drive (ISO9660, label config-2), attached read-only.
    config_drive: Path | None = None
    nics: tuple[NicSpec, ...] = ()
    # Image properties that change the virtual hardware (hw_disk_bus, hw_vif_model, ...).
    image_properties: dict[str, str] = field(default_factory=dict)
    # Flavor extra specs (hw:cpu_* and quota:* keys), for drivers that honour them.
    extra_specs: dict[str, str] = field(default_factory=dict)
    # Volumes attached at boot. One with boot_index 0 is the root disk: a server
    # booted from a volume has no image_path and no local root disk.
    volumes: tuple[VolumeSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    """An instance as the hypervisor sees it now."""

    uuid: str
    power_state: PowerState


# Called with (uuid, new power state) when the hypervisor reports a change.
PowerEventHandler = Callable[[str, PowerState], Awaitable[None]]


class ComputeDriver(Protocol):
    """One host's hypervisor. Every method is idempotent where the name allows it."""

    name: str
    # Whether guests read a config drive; the agent builds none for a driver that says no.
    reads_config_drive: bool

    async def start(self, on_power_event: PowerEventHandler) -> None:
        """Connect (starting local daemons if needed) and begin delivering power events."""
        ...

    async def stop(self) -> None:
        """Stop delivering events and disconnect; running instances keep running."""
        ...

    async def host_info(self) -> HostInfo:
        """What this host offers."""
        ...

    async def list_instances(self) -> list[InstanceInfo]:
        """Every instance this cloud owns on this host, whatever its state."""
        ...

    async def spawn(self, spec: InstanceSpec) -> None:
        """Create disks, config drive attachment and domain, and start it.

        Calling it again for an instance that already exists starts it if it is
        stopped and otherwise changes nothing.
        """
        ...

    async def destroy(self, uuid: str) -> None:
        """Stop the instance at once and remove its domain, disks and logs; absent is fine."""
        ...

    async def power_off(self, uuid: str, timeout_s: float = 60.0) -> None:
        """Ask the guest to shut down; force it off after `timeout_s`."""
        ...

    async def power_on(self, uuid: str) -> None:
        """Start a stopped instance (a suspended one is resumed)."""
        ...

    async def reboot(self, uuid: str, hard: bool) -> None:
        """Soft: ask the guest (falling back to hard after a timeout). Hard: reset it."""
        ...

    async def pause(self, uuid: str) -> None:
        """Freeze the vCPUs, keeping memory."""
        ...

    async def unpause(self, uuid: str) -> None:
        """Undo pause."""
        ...

    async def suspend(self, uuid: str) -> None:
        """Save memory to disk and stop (libvirt managed save)."""
        ...

    async def resume(self, uuid: str) -> None:
        """Restore a suspended instance."""
        ...

    async def power_state(self, uuid: str) -> PowerState:
        """The current power state; InstanceNotFound when absent."""
        ...

    async def console_output(self, uuid: str, max_bytes: int | None = None) -> str:
        """The serial console log so far (the last `max_bytes` of it)."""
        ...

    async def open_console(self, uuid: str) -> ConsoleStream:
        """An interactive stream to the running instance's serial port."""
        ...

    async def snapshot(self, uuid: str, dest: Path) -> str:
        """Write a standalone copy of the root disk to `dest`; returns its disk format."""
        ...

    async def resize(self, spec: InstanceSpec) -> None:
        """Redefine the stopped instance with the spec's vCPUs, memory and (larger) disk."""
        ...

    async def rescue(self, spec: InstanceSpec, rescue_image: Path, rescue_format: str) -> None:
        """Boot from a fresh copy of `rescue_image`, the original root disk attached second."""
        ...

    async def unrescue(self, spec: InstanceSpec) -> None:
        """Boot from the original root disk again."""
        ...

    async def diagnostics(self, uuid: str) -> dict[str, Any]:
        """Nova's server diagnostics (2.48 format: state, driver, cpu/nic/disk details...)."""
        ...

    async def attach_interface(self, uuid: str, nic: NicSpec) -> None:
        """Plug a NIC into the guest, running or not, for good; one already there is kept."""
        ...

    async def detach_interface(self, uuid: str, nic: NicSpec) -> None:
        """Unplug the NIC with `nic.mac` once the guest lets it go; an absent one is fine."""
        ...

    async def attach_volume(self, uuid: str, volume: VolumeSpec) -> None:
        """Hot-plug the volume as a disk, running or not, for good; one already there is kept."""
        ...

    async def detach_volume(self, uuid: str, volume: VolumeSpec) -> None:
        """Unplug the disk at `volume.target_dev` once the guest lets it go (DriverError on
        timeout, leaving it attached); an absent one is fine."""
        ...

    async def extend_volume(self, uuid: str, volume: VolumeSpec, new_size_bytes: int) -> None:
        """Tell the running guest its attached disk grew (libvirt blockResize)."""
        ...
