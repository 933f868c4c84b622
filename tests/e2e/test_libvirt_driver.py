"""The libvirt driver beyond the shared contract: NICs, disk buses, failures, reconnects.

Each test owns a unique owner tag and destroys all its domains afterwards, whatever
happens; bridges it creates are removed too.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import libvirt
import pytest

from stackling.compute.drivers.base import DriverError, NicSpec, PowerState
from stackling.compute.drivers.libvirt.virt_type import boot_sector
from stackling.image.testimage import ensure_test_image
from tests.support.compute import (
    LIBVIRT_URI,
    Harness,
    libvirt_domain_xml,
    started_driver,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def image() -> Path:
    """The cached test guest image."""
    return ensure_test_image()


@pytest.fixture
async def h(tmp_path: Path, image: Path) -> AsyncIterator[Harness]:
    """A started libvirt driver of a fresh owner."""
    async with started_driver("libvirt", tmp_path, image) as harness:
        yield harness


@pytest.fixture
def bridge() -> Iterator[str]:
    """A Linux bridge of our own for the test, removed after."""
    name = f"stkbr{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True, timeout=30)
    try:
        subprocess.run(["ip", "link", "set", name, "up"], check=True, timeout=30)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=False, timeout=30)


def _domain_id(uuid_: str) -> int:
    """libvirt's id of the running domain: a new QEMU process gets a new one."""
    conn = libvirt.open(LIBVIRT_URI)
    try:
        return int(conn.lookupByUUIDString(uuid_).ID())
    finally:
        conn.close()


def _pause_behind_the_drivers_back(uuid_: str) -> None:
    conn = libvirt.open(LIBVIRT_URI)
    try:
        conn.lookupByUUIDString(uuid_).suspend()
    finally:
        conn.close()


def _disconnect_our_clients() -> int:
    """Make libvirtd drop every connection of this process, as a daemon restart would."""
    listing = subprocess.run(
        ["virt-admin", "srv-clients-list", "libvirtd"], capture_output=True, text=True,
        check=True, timeout=30,
    ).stdout  # fmt: skip
    dropped = 0
    for line in listing.splitlines():
        client = line.split()[0] if line.split() else ""
        if not client.isdigit():
            continue
        info = subprocess.run(
            ["virt-admin", "client-info", "libvirtd", client], capture_output=True, text=True,
            timeout=30,
        ).stdout  # fmt: skip
        if f"unix_process_id: {os.getpid()}" in info:
            subprocess.run(
                ["virt-admin", "client-disconnect", "libvirtd", client], check=True, timeout=30
            )
            dropped += 1
    return dropped


def _link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def _sys(tap: str, attribute: str) -> str:
    path = Path("/sys/class/net") / tap / attribute
    return os.path.basename(os.readlink(path)) if path.is_symlink() else path.read_text().strip()


async def test_nic_is_a_tap_on_its_bridge_with_mtu(h: Harness, bridge: str) -> None:
    tap = f"stktap{uuid.uuid4().hex[:8]}"
    nic = NicSpec(port_id="p1", mac="fa:16:3e:12:34:56", bridge=bridge, tap=tap, mtu=1400)
    spec = h.spec(nics=(nic,))

    await h.driver.spawn(spec)

    assert _sys(tap, "master") == bridge
    assert _sys(tap, "mtu") == "1400"
    diag = await h.driver.diagnostics(spec.uuid)
    assert diag["num_nics"] == 1 and diag["nic_details"][0]["mac_address"] == nic.mac
    await h.driver.destroy(spec.uuid)
    assert not _link_exists(tap)


def _persistent_macs(uuid_: str) -> list[str]:
    conn = libvirt.open(LIBVIRT_URI)
    try:
        text = conn.lookupByUUIDString(uuid_).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    finally:
        conn.close()
    return re.findall(r"<mac address='([0-9a-f:]+)'", text)


async def test_nics_are_hot_plugged_and_unplugged(h: Harness, bridge: str) -> None:
    first = NicSpec(port_id="p1", mac="fa:16:3e:00:00:01", bridge=bridge, tap=_tap(), mtu=1400)
    spec = h.spec(nics=(first,))
    await h.driver.spawn(spec)
    await h.wait_ready(spec.uuid)
    second = NicSpec(port_id="p2", mac="fa:16:3e:00:00:02", bridge=bridge, tap=_tap(), mtu=1400)

    await h.driver.attach_interface(spec.uuid, second)
    await h.driver.attach_interface(spec.uuid, second)  # again: kept once

    assert _sys(second.tap, "master") == bridge
    live = libvirt_domain_xml(spec.uuid)
    assert live.count("<interface type='bridge'>") == 2 and "<model type='virtio'/>" in live
    assert _persistent_macs(spec.uuid) == [first.mac, second.mac]
    # The guest's own ACPI hot-unplug lets it go; the tap goes with it.
    await h.driver.detach_interface(spec.uuid, second)
    assert not _link_exists(second.tap)
    assert libvirt_domain_xml(spec.uuid).count("<interface type='bridge'>") == 1
    assert _persistent_macs(spec.uuid) == [first.mac]
    await h.driver.detach_interface(spec.uuid, second)  # absent: fine
    assert _link_exists(first.tap)


async def test_a_stopped_guest_gets_the_nic_at_its_next_boot(h: Harness, bridge: str) -> None:
    spec = h.spec()
    await h.driver.spawn(spec)
    await h.driver.power_off(spec.uuid, timeout_s=0)
    nic = NicSpec(port_id="p1", mac="fa:16:3e:00:00:03", bridge=bridge, tap=_tap())

    await h.driver.attach_interface(spec.uuid, nic)

    assert _persistent_macs(spec.uuid) == [nic.mac] and not _link_exists(nic.tap)
    await h.driver.power_on(spec.uuid)
    assert _sys(nic.tap, "master") == bridge
    await h.driver.detach_interface(spec.uuid, NicSpec("x", "fa:16:3e:00:00:99", bridge, "none"))
    await h.driver.power_off(spec.uuid, timeout_s=0)
    await h.driver.detach_interface(spec.uuid, nic)
    assert _persistent_macs(spec.uuid) == []


def _tap() -> str:
    return f"stktap{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(("bus", "target"), [("ide", "hda"), ("scsi", "sda")])
async def test_guest_boots_from_other_disk_buses(h: Harness, bus: str, target: str) -> None:
    spec = h.spec(image_properties={"hw_disk_bus": bus})

    await h.driver.spawn(spec)

    await h.wait_ready(spec.uuid)
    assert f"<target dev='{target}' bus='{bus}'/>" in libvirt_domain_xml(spec.uuid)


async def test_failed_spawns_leave_no_domain_and_no_files(h: Harness, tmp_path: Path) -> None:
    missing = h.spec(image_path=tmp_path / "missing.qcow2")
    with pytest.raises(DriverError, match="qemu-img"):
        await h.driver.spawn(missing)
    # Disks made, domain defined, and then QEMU cannot start: far more memory than exists.
    unstartable = h.spec(memory_mb=1 << 40)
    with pytest.raises(DriverError):
        await h.driver.spawn(unstartable)

    assert await h.driver.list_instances() == []
    for spec in (missing, unstartable):
        assert not (h.instances_dir / spec.uuid).exists()


async def test_soft_reboot_and_power_off_fall_back_when_the_guest_ignores_acpi(
    tmp_path: Path, image: Path
) -> None:
    # A guest that never listens to the power button: the KVM probe's boot sector.
    deaf = tmp_path / "deaf.img"
    deaf.write_bytes(boot_sector().ljust(1 << 20, b"\0"))
    async with started_driver("libvirt", tmp_path, image, shutdown_timeout_s=1.0) as h:
        spec = h.spec(image_path=deaf, image_format="raw", root_gb=0, memory_mb=32)
        await h.driver.spawn(spec)
        await h.wait_console(spec.uuid, "KVMOK")
        first = _domain_id(spec.uuid)

        await h.driver.reboot(spec.uuid, hard=False)
        assert await h.driver.power_state(spec.uuid) == PowerState.RUNNING
        assert _domain_id(spec.uuid) != first  # recreated: the hard way
        await h.wait_console(spec.uuid, "KVMOK", count=2)

        await h.driver.power_off(spec.uuid, timeout_s=1)
        assert await h.driver.power_state(spec.uuid) == PowerState.SHUTDOWN


async def test_soft_reboot_of_a_ready_guest_keeps_its_qemu(h: Harness) -> None:
    spec = h.spec()
    await h.driver.spawn(spec)
    await h.wait_ready(spec.uuid)
    before = _domain_id(spec.uuid)

    await h.driver.reboot(spec.uuid, hard=False)

    await h.wait_ready(spec.uuid, boots=2)
    assert _domain_id(spec.uuid) == before


async def test_events_keep_coming_after_libvirtd_drops_the_connection(h: Harness) -> None:
    spec = h.spec()
    await h.driver.spawn(spec)
    await h.wait_event(spec.uuid, PowerState.RUNNING)

    assert await asyncio.to_thread(_disconnect_our_clients) >= 1
    await asyncio.to_thread(_pause_behind_the_drivers_back, spec.uuid)

    # Nothing calls the driver: it reconnects by itself and reports the change.
    await h.wait_event(spec.uuid, PowerState.PAUSED)
    assert await h.driver.power_state(spec.uuid) == PowerState.PAUSED
