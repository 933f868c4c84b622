"""LibvirtDriver: real guests through libvirtd, touching only the domains of its own cloud.

A domain is ours when its metadata carries our owner tag; every lookup checks it,
so several clouds (parallel test runs) can share one libvirtd safely. Domain UUID
= instance UUID, name `instance-<uuid>`, files under `instances_dir/<uuid>/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import libvirt

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
from stackling.compute.drivers.console import ConsoleStream, PtyConsole
from stackling.compute.drivers.libvirt import bridges, disks, domains, info, layout
from stackling.compute.drivers.libvirt.connection import Connection
from stackling.compute.drivers.libvirt.daemons import manages_local_daemons
from stackling.compute.drivers.libvirt.events import PowerEvents
from stackling.compute.drivers.libvirt.virt_type import detect_virt_type
from stackling.compute.drivers.libvirt.xml import (
    VolumeDisk,
    build_domain_xml,
    disk_at,
    domain_name,
    interface_models,
    interface_xml,
    parse_domain_xml,
    serial_pty,
    volume_xml,
    xml_safe,
)

LOG = logging.getLogger(__name__)

T = TypeVar("T")
VIRT_TYPES = ("auto", "kvm", "qemu")
POLL_S = 0.25
# A guest ignores ACPI until its OS listens (the test guest: until it is ready), so
# the request is repeated, as Nova does (every 10 s there; sooner here, for speed).
RESEND_SHUTDOWN_S = 5.0
# A NIC or disk leaves a running guest only when its OS lets go (ACPI hot-unplug); Nova waits
# and asks again too, then gives up with the device still attached.
DETACH_TIMEOUT_S = 30.0
RESEND_DETACH_S = 5.0

DomainOp = Callable[[libvirt.virDomain], None]
_CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG


@contextlib.contextmanager
def _failing(what: str) -> Iterator[None]:
    """Prefix a DriverError with what was being done (InstanceNotFound passes as it is)."""
    try:
        yield
    except InstanceNotFound:
        raise
    except DriverError as exc:
        raise DriverError(f"{what}: {exc}") from exc


class LibvirtDriver:
    """One host's QEMU guests through libvirt (KVM when it works here, else TCG)."""

    name = "libvirt"
    reads_config_drive = True

    def __init__(
        self,
        *,
        instances_dir: Path,
        owner: str,
        hostname: str,
        uri: str = "qemu:///system",
        virt_type: str = "auto",
        shutdown_timeout_s: float = 60.0,
        state_dir: Path | None = None,
    ) -> None:
        if not owner or xml_safe(owner) != owner or owner.strip() != owner:
            raise ValueError(f"invalid owner tag {owner!r}")
        if virt_type not in VIRT_TYPES:
            raise ValueError(f"virt_type must be one of {', '.join(VIRT_TYPES)}, not {virt_type!r}")
        self.instances_dir = instances_dir.absolute()
        self.owner = owner
        self.hostname = hostname
        self.uri = uri
        self.requested_virt_type = virt_type
        self.shutdown_timeout_s = shutdown_timeout_s
        self.state_dir = state_dir
        self.virt_type: str | None = None
        self._cache = "none"
        # Local guests run as our own user with no relabelling, so instance and image
        # files work wherever we can write them (libvirt's default user could not reach
        # a data dir under /root, and relabelling would chown our shared base images).
        local = manages_local_daemons(uri)
        self._run_as = (os.getuid(), os.getgid()) if local else None
        self._events = PowerEvents(self._settled_state, self._owned_uuids, hostname)
        self._conn = Connection(uri, self._events.on_libvirt_event, self._events.resync)

    # -- life cycle -----------------------------------------------------------------

    async def start(self, on_power_event: PowerEventHandler) -> None:
        """Probe the virt type, start the daemons if needed, connect, deliver events."""
        await asyncio.to_thread(self.instances_dir.mkdir, parents=True, exist_ok=True)
        if self.requested_virt_type == "auto":
            self.virt_type = await asyncio.to_thread(detect_virt_type, self.state_dir)
        else:
            self.virt_type = self.requested_virt_type
        direct = await asyncio.to_thread(disks.supports_direct_io, self.instances_dir)
        # cache=none needs O_DIRECT; Nova falls back to writeback where it is missing too.
        self._cache = "none" if direct else "writeback"
        await self._conn.open()
        self._events.start(on_power_event)

    async def stop(self) -> None:
        """Stop delivering events and disconnect; guests keep running."""
        await self._events.stop()
        await self._conn.close()

    async def host_info(self) -> HostInfo:
        """This host's CPUs, memory, instance disk space and QEMU version."""
        return await self._call(info.host_info, self.hostname, self.instances_dir)

    async def list_instances(self) -> list[InstanceInfo]:
        """Every domain of this cloud on this host."""

        def listing(conn: libvirt.virConnect) -> list[InstanceInfo]:
            out = []
            for dom in domains.owned(conn, self.owner):
                try:
                    out.append(InstanceInfo(dom.UUIDString(), domains.state_of(dom)))
                except libvirt.libvirtError as exc:
                    if not domains.is_gone(exc):
                        raise
            return out

        return await self._call(listing)

    # -- create and destroy -----------------------------------------------------------

    async def spawn(self, spec: InstanceSpec) -> None:
        """Create the disks and the persistent domain and start it; an existing one is started."""
        uuid = domains.canonical_uuid(spec.uuid)
        if uuid is None:
            raise DriverError(f"{spec.uuid!r} is not an instance UUID")
        await bridges.ensure_bridges(spec.nics)
        existing = await self._call(domains.find, uuid, self.owner)
        if existing is not None:
            await self._call(lambda _c: domains.start_if_stopped(existing))
            return
        files = self._files(uuid)
        created = not await asyncio.to_thread(files.dir.exists)
        try:
            await layout.prepare_disks(spec, files)
            xml = self._xml(spec, files, await layout.volume_disks(spec))
            await self._call(domains.define_and_start, uuid, xml, self.owner)
        except BaseException:
            if created:
                await asyncio.to_thread(shutil.rmtree, files.dir, ignore_errors=True)
            raise

    async def destroy(self, uuid: str) -> None:
        """Force the domain off, undefine it and remove its files; absent is fine.

        Volume files are the volume service's and stay: only the instance's own
        directory is removed, and undefining a domain never touches its sources.
        """
        canonical = domains.canonical_uuid(uuid)
        if canonical is None:
            return
        await self._call(domains.destroy_owned, canonical, self.owner)
        await asyncio.to_thread(shutil.rmtree, self._files(canonical).dir, ignore_errors=True)
        if self._run_as is not None:  # a local libvirtd: its per-domain QEMU log is ours too
            await asyncio.to_thread(disks.remove_qemu_logs, domain_name(canonical))
        self._events.forget(canonical)

    # -- power --------------------------------------------------------------------------

    async def power_off(self, uuid: str, timeout_s: float = 60.0) -> None:
        """ACPI shutdown, polled until off; forced off after `timeout_s`."""
        dom = await self._lookup(uuid)
        state = await self._call(lambda _c: domains.state_of(dom))
        if state == PowerState.SUSPENDED:
            # Powering off a suspended guest is pulling its plug: its saved memory goes.
            await self._call(lambda _c: dom.managedSaveRemove(0))
            return
        if not await self._call(lambda _c: dom.isActive()):
            return
        if state != PowerState.PAUSED and timeout_s > 0:
            if await self._graceful_shutdown(dom, timeout_s):
                return
            LOG.info("instance %s did not shut down within %gs: forcing it off", uuid, timeout_s)
        await self._call(lambda _c: domains.force_off(dom))

    async def power_on(self, uuid: str) -> None:
        """Start a stopped domain; a suspended one is restored from its saved memory."""
        dom = await self._lookup(uuid)
        await self._call(lambda _c: domains.start_if_stopped(dom))

    async def reboot(self, uuid: str, hard: bool) -> None:
        """Soft: ACPI reboot, hard if the guest has not reset within the shutdown timeout."""
        dom = await self._lookup(uuid)
        canonical = self._uuid(uuid)
        if not hard and await self._call(lambda _c: domains.state_of(dom)) == PowerState.RUNNING:
            with self._events.reset_of(canonical) as reset:
                deadline = time.monotonic() + self.shutdown_timeout_s
                # Pressed again while nothing happens (see RESEND_SHUTDOWN_S), but never once
                # it reset: libvirt would turn the guest's next own power-off into a reboot.
                while (left := deadline - time.monotonic()) > 0 and not reset.is_set():
                    await self._call(lambda _c: domains.request_reboot(dom))
                    try:
                        await asyncio.wait_for(reset.wait(), min(left, RESEND_SHUTDOWN_S))
                        return
                    except TimeoutError:
                        continue
                if reset.is_set():
                    return
            timeout = self.shutdown_timeout_s
            LOG.info("%s did not reboot within %gs: hard reboot", uuid, timeout)

        def hard_reboot(_c: libvirt.virConnect) -> None:
            domains.force_off(dom)
            if domains.has_save(dom):
                dom.managedSaveRemove(0)
            dom.create()

        await self._call(hard_reboot)

    async def pause(self, uuid: str) -> None:
        """Freeze the vCPUs."""
        await self._transition(
            uuid, "pause", PowerState.PAUSED, {PowerState.RUNNING: domains.suspend_vcpus}
        )

    async def unpause(self, uuid: str) -> None:
        """Thaw the vCPUs."""
        await self._transition(
            uuid, "unpause", PowerState.RUNNING, {PowerState.PAUSED: domains.resume_vcpus}
        )

    async def suspend(self, uuid: str) -> None:
        """Save the guest's memory to disk and stop it (managed save)."""
        ways = {PowerState.RUNNING: domains.managed_save, PowerState.PAUSED: domains.managed_save}
        await self._transition(uuid, "suspend", PowerState.SUSPENDED, ways)

    async def resume(self, uuid: str) -> None:
        """Restore a suspended guest (or start a stopped one, thaw a paused one)."""
        ways = {
            PowerState.SUSPENDED: domains.start_if_stopped,
            PowerState.SHUTDOWN: domains.start_if_stopped,
            PowerState.CRASHED: domains.start_if_stopped,
            PowerState.PAUSED: domains.resume_vcpus,
        }
        await self._transition(uuid, "resume", PowerState.RUNNING, ways)

    async def power_state(self, uuid: str) -> PowerState:
        """The domain's power state; InstanceNotFound when it is not ours or absent."""
        dom = await self._lookup(uuid)
        return await self._call(lambda _c: domains.state_of(dom))

    # -- data -----------------------------------------------------------------------------

    async def console_output(self, uuid: str, max_bytes: int | None = None) -> str:
        """The end of the serial console log ("" before the guest has written anything)."""
        await self._lookup(uuid)
        path = self._files(self._uuid(uuid)).console
        return await asyncio.to_thread(disks.read_tail, path, max_bytes)

    async def open_console(self, uuid: str) -> ConsoleStream:
        """The guest's serial port through the pseudo-terminal QEMU made for it."""
        dom = await self._lookup(uuid)
        if await self._call(lambda _c: domains.state_of(dom)) != PowerState.RUNNING:
            raise DriverError(f"instance {uuid} is not running")
        path = serial_pty(await self._call(lambda _c: dom.XMLDesc(0)))
        if path is None:
            raise DriverError(f"instance {uuid} has no serial terminal")
        try:
            return await PtyConsole(path).open()
        except OSError as exc:
            raise DriverError(f"the serial terminal of {uuid} cannot be opened: {exc}") from exc

    async def snapshot(self, uuid: str, dest: Path) -> str:
        """A standalone qcow2 of the root disk; a running guest is saved and restored around it."""
        dom = await self._lookup(uuid)
        files = self._files(self._uuid(uuid))
        if not await asyncio.to_thread(files.disk.exists):
            raise DriverError(f"instance {uuid} has no local root disk: snapshot its volume")
        was_active = await self._call(lambda _c: dom.isActive())
        if was_active:
            await self._call(lambda _c: dom.managedSave(0))
        try:
            await disks.convert(files.disk, "qcow2", await asyncio.to_thread(dest.absolute))
        finally:
            if was_active:
                await self._call(lambda _c: dom.create())
        return "qcow2"

    async def resize(self, spec: InstanceSpec) -> None:
        """Redefine the stopped domain with the new flavor; the root disk only grows."""
        uuid = self._uuid(spec.uuid)
        dom = await self._lookup(uuid)
        view = parse_domain_xml(await self._call(lambda _c: dom.XMLDesc(0)))
        if await self._call(lambda _c: domains.state_of(dom)) != PowerState.SHUTDOWN:
            raise DriverError(f"instance {uuid} must be stopped to be resized")
        if view.rescue:
            raise DriverError(f"instance {uuid} is rescued; unrescue it first")
        if 0 < spec.root_gb < view.root_gb:
            raise DriverError(
                f"cannot shrink the root disk of {uuid} from {view.root_gb} to {spec.root_gb} GiB"
            )
        files = self._files(uuid)
        if spec.root_gb and not layout.boots_from_volume(spec):
            await disks.grow(files.disk, spec.root_gb * disks.GIB)
        await layout.prepare_disks(spec, files)
        volumes = await layout.volume_disks(spec)
        xml = self._xml(spec, files, volumes, root_gb=max(spec.root_gb, view.root_gb))
        await self._call(lambda c: c.defineXML(xml))

    async def rescue(self, spec: InstanceSpec, rescue_image: Path, rescue_format: str) -> None:
        """Boot from a fresh overlay of `rescue_image`, the instance's root disk second."""
        uuid = self._uuid(spec.uuid)
        dom = await self._lookup(uuid)
        view = parse_domain_xml(await self._call(lambda _c: dom.XMLDesc(0)))
        if view.rescue:
            await self._call(lambda _c: domains.start_if_stopped(dom))
            return
        files = self._files(uuid)
        volumes = await layout.volume_disks(spec)
        # Refused before the guest is touched (a volume-backed guest cannot be rescued).
        xml = self._xml(spec, files, volumes, rescue=True, root_gb=max(spec.root_gb, view.root_gb))
        await self._call(lambda _c: domains.force_off(dom, drop_save=True))
        await asyncio.to_thread(files.rescue.unlink, missing_ok=True)
        await disks.create_overlay(files.rescue, rescue_image, rescue_format)
        await self._call(domains.define_and_start, uuid, xml, self.owner)

    async def unrescue(self, spec: InstanceSpec) -> None:
        """Boot from the instance's own root disk again; the rescue disk is removed."""
        uuid = self._uuid(spec.uuid)
        dom = await self._lookup(uuid)
        view = parse_domain_xml(await self._call(lambda _c: dom.XMLDesc(0)))
        files = self._files(uuid)
        if view.rescue:
            volumes = await layout.volume_disks(spec)
            xml = self._xml(spec, files, volumes, root_gb=max(spec.root_gb, view.root_gb))
            await self._call(lambda _c: domains.force_off(dom, drop_save=True))
            await self._call(domains.define_and_start, uuid, xml, self.owner)
        await asyncio.to_thread(files.rescue.unlink, missing_ok=True)

    async def diagnostics(self, uuid: str) -> dict[str, Any]:
        """Nova's server diagnostics (2.48 format)."""
        dom = await self._lookup(uuid)

        def collect(_c: libvirt.virConnect) -> dict[str, Any]:
            view = parse_domain_xml(dom.XMLDesc(0))
            return info.diagnostics(dom, view, self.virt_type or "qemu")

        return await self._call(collect)

    # -- NICs ---------------------------------------------------------------------------

    async def attach_interface(self, uuid: str, nic: NicSpec) -> None:
        """Hot-plug a bridge NIC into the live guest (if running) and its definition."""
        dom = await self._lookup(uuid)
        await bridges.ensure_bridges([nic])

        def plug(_c: libvirt.virConnect) -> None:
            live = bool(dom.isActive())
            flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
            if live:
                flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
            current = dom.XMLDesc(0)
            if any(mac == nic.mac for mac, _ in parse_domain_xml(current).nics):
                return
            # The guest's other NICs set the model (an image's hw_vif_model, say).
            models = interface_models(current)
            dom.attachDeviceFlags(interface_xml(nic, models[0] if models else nic.model), flags)

        try:
            await self._call(plug)
        except libvirt.libvirtError as exc:
            raise DriverError(f"cannot attach NIC {nic.mac} to {uuid}: {exc}") from exc

    async def detach_interface(self, uuid: str, nic: NicSpec) -> None:
        """Unplug the NIC from the running guest (waiting for it), then from the definition."""
        dom = await self._lookup(uuid)

        def present(flags: int) -> str | None:
            text = dom.XMLDesc(flags)
            for element in ET.fromstring(text).iterfind("devices/interface"):
                mac = element.find("mac")
                if mac is not None and mac.get("address") == nic.mac:
                    return ET.tostring(element, encoding="unicode")
            return None

        def unplug(flags: int) -> None:
            device = present(libvirt.VIR_DOMAIN_XML_INACTIVE if flags == _CONFIG else 0)
            if device is not None:
                dom.detachDeviceFlags(device, flags)

        try:
            if await self._call(lambda _c: dom.isActive()):
                deadline = time.monotonic() + DETACH_TIMEOUT_S
                while await self._call(lambda _c: present(0)) is not None:
                    if time.monotonic() >= deadline:
                        raise DriverError(
                            f"the guest of {uuid} did not release NIC {nic.mac} "
                            f"within {DETACH_TIMEOUT_S:g}s"
                        )
                    await self._call(lambda _c: unplug(libvirt.VIR_DOMAIN_AFFECT_LIVE))
                    left = deadline - time.monotonic()
                    await self._wait_gone(present, min(RESEND_DETACH_S, left))
            await self._call(lambda _c: unplug(_CONFIG))
        except libvirt.libvirtError as exc:
            if domains.is_gone(exc):
                raise InstanceNotFound(f"instance {uuid} is gone") from exc
            raise DriverError(f"cannot detach NIC {nic.mac} from {uuid}: {exc}") from exc

    # -- volumes ------------------------------------------------------------------------

    async def attach_volume(self, uuid: str, volume: VolumeSpec) -> None:
        """Hot-plug the volume into the live guest (if running) and its definition."""
        dom = await self._lookup(uuid)
        device = volume_xml(await layout.volume_disk(volume))

        def plug(_c: libvirt.virConnect) -> None:
            flags = _CONFIG
            if dom.isActive():
                flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
            found = disk_at(dom.XMLDesc(0), volume.target_dev)
            if found is None:
                dom.attachDeviceFlags(device, flags)
            elif found[1] != volume.volume_id:
                raise DriverError(f"device {volume.target_dev} is taken by another disk")

        with _failing(f"cannot attach volume {volume.volume_id} to {uuid}"):
            await self._call(plug)

    async def detach_volume(self, uuid: str, volume: VolumeSpec) -> None:
        """Unplug the disk from the running guest (waiting for it), then from the definition."""
        dom = await self._lookup(uuid)

        def present(flags: int) -> str | None:
            found = disk_at(dom.XMLDesc(flags), volume.target_dev)
            return None if found is None else found[0]

        def unplug(flags: int) -> None:
            device = present(libvirt.VIR_DOMAIN_XML_INACTIVE if flags == _CONFIG else 0)
            if device is not None:
                dom.detachDeviceFlags(device, flags)

        with _failing(f"cannot detach volume {volume.volume_id} from {uuid}"):
            if await self._call(lambda _c: dom.isActive()):
                deadline = time.monotonic() + DETACH_TIMEOUT_S
                while await self._call(lambda _c: present(0)) is not None:
                    if time.monotonic() >= deadline:
                        # Left attached, live and in the definition: the guest still uses it.
                        raise DriverError(
                            f"the guest did not release {volume.target_dev} "
                            f"within {DETACH_TIMEOUT_S:g}s"
                        )
                    await self._call(lambda _c: unplug(libvirt.VIR_DOMAIN_AFFECT_LIVE))
                    left = deadline - time.monotonic()
                    await self._wait_gone(present, min(RESEND_DETACH_S, left))
            await self._call(lambda _c: unplug(_CONFIG))

    async def extend_volume(self, uuid: str, volume: VolumeSpec, new_size_bytes: int) -> None:
        """Have QEMU grow the attached disk to `new_size_bytes` and tell the guest.

        QEMU holds the write lock of an attached image, so for qcow2 this call is
        what grows the image file (the volume service must not run `qemu-img resize`
        on an in-use volume); for raw files and block devices that already grew it
        makes QEMU read the new size. A stopped guest reads the size at its next
        boot, so there is nothing to do then; a disk already that large is kept.
        """
        dom = await self._lookup(uuid)

        def resize(_c: libvirt.virConnect) -> None:
            if not dom.isActive():
                return
            if disk_at(dom.XMLDesc(0), volume.target_dev) is None:
                raise DriverError(f"the guest has no disk {volume.target_dev}")
            capacity = dom.blockInfo(volume.target_dev, 0)[0]
            if capacity < new_size_bytes:
                dom.blockResize(
                    volume.target_dev, new_size_bytes, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES
                )

        with _failing(f"cannot extend volume {volume.volume_id} of {uuid}"):
            await self._call(resize)

    async def _wait_gone(self, present: Callable[[int], str | None], within_s: float) -> None:
        deadline = time.monotonic() + max(within_s, 0.0)
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)
            if await self._call(lambda _c: present(0)) is None:
                return

    # -- helpers --------------------------------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self.virt_type is None:
            raise DriverError("the libvirt driver has not been started")
        return await self._conn.call(fn, *args)

    def _uuid(self, uuid: str) -> str:
        canonical = domains.canonical_uuid(uuid)
        if canonical is None:
            raise InstanceNotFound(f"{uuid!r} is not an instance UUID")
        return canonical

    def _files(self, uuid: str) -> disks.InstanceFiles:
        return disks.InstanceFiles(self.instances_dir / uuid)

    async def _lookup(self, uuid: str) -> libvirt.virDomain:
        return await self._call(domains.lookup, self._uuid(uuid), self.owner)

    def _xml(
        self,
        spec: InstanceSpec,
        files: disks.InstanceFiles,
        volumes: tuple[VolumeDisk, ...],
        *,
        rescue: bool = False,
        root_gb: int | None = None,
    ) -> str:
        cfg = layout.domain_config(
            spec,
            files,
            owner=self.owner,
            virt_type=self.virt_type or "qemu",
            cache=self._cache,
            run_as=self._run_as,
            rescue=rescue,
            root_gb=root_gb,
            volumes=volumes,
        )
        return build_domain_xml(cfg)

    async def _graceful_shutdown(self, dom: libvirt.virDomain, timeout_s: float) -> bool:
        """Ask by ACPI (again every few seconds) until the guest is off; whether it went."""
        deadline = time.monotonic() + timeout_s
        next_request = 0.0
        while (now := time.monotonic()) < deadline:
            if now >= next_request:
                await self._call(lambda _c: domains.request_shutdown(dom))
                next_request = now + RESEND_SHUTDOWN_S
            await asyncio.sleep(min(POLL_S, max(deadline - now, 0)))
            if not await self._call(lambda _c: dom.isActive()):
                return True
        return False

    async def _transition(
        self, uuid: str, action: str, target: PowerState, ways: dict[PowerState, DomainOp]
    ) -> None:
        """Apply `ways[current state]` to the domain, unless it already is in `target`."""
        dom = await self._lookup(uuid)
        state = await self._call(lambda _c: domains.state_of(dom))
        if state == target:
            return
        op = ways.get(state)
        if op is None:
            raise DriverError(f"cannot {action} instance {uuid}: it is {state.name.lower()}")
        await self._call(lambda _c: op(dom))

    async def _settled_state(self, uuid: str) -> PowerState | None:
        """For events: the state of our domain `uuid`, None while it passes through a pause."""
        dom = await self._lookup(uuid)
        return await self._call(lambda _c: domains.settled_state(dom))

    async def _owned_uuids(self) -> list[str]:
        return [instance.uuid for instance in await self.list_instances()]
