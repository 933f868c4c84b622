"""The ComputeDriver contract, run against the fake and the libvirt driver.

The libvirt runs boot the real test guest under QEMU (TCG here) and judge by what
the guest prints on its serial console, so a driver that only pretends fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from stackling.compute.drivers.base import (
    DriverError,
    InstanceInfo,
    InstanceNotFound,
    PowerState,
)
from tests.support.compute import (
    BOOT_BANNER,
    Harness,
    libvirt_domain_xml,
    make_config_drive,
    new_owner,
    partial_files,
    qemu_img_info,
    qemu_logs,
    started_driver,
)

# Generous: the first libvirt test may have to build the guest image.
pytestmark = pytest.mark.timeout(600)

GIB = 1 << 30
POWER_DOWN = "reboot: Power down"
DIAGNOSTICS_KEYS = {
    "state", "driver", "hypervisor", "hypervisor_os", "uptime", "config_drive", "num_cpus",
    "num_disks", "num_nics", "memory_details", "cpu_details", "nic_details", "disk_details",
}  # fmt: skip


@pytest.fixture(scope="session")
def test_image() -> Path:
    """The guest image (built once and cached; only the libvirt runs boot it)."""
    from stackling.image.testimage import ensure_test_image

    return ensure_test_image()


@pytest.fixture(params=["fake", pytest.param("libvirt", marks=pytest.mark.e2e)])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """A started driver of each kind, with a unique owner cleaned up after the test."""
    kind = request.param
    image = request.getfixturevalue("test_image") if kind == "libvirt" else tmp_path / "img"
    async with started_driver(kind, tmp_path, image) as h:
        yield h


async def _running(h: Harness, *, ready: bool = True) -> str:
    """Spawn an instance and wait until its guest is up (or has only begun booting)."""
    spec = h.spec()
    await h.driver.spawn(spec)
    if ready:
        await h.wait_ready(spec.uuid)
    else:
        await h.wait_boots(spec.uuid, 1)
    return spec.uuid


async def test_host_info_describes_the_host(harness: Harness) -> None:
    info = await harness.driver.host_info()
    assert info.hostname == f"{harness.kind}-host"
    assert info.vcpus > 0 and info.memory_mb > 0 and info.disk_gb > 0
    assert info.hypervisor_type == ("fake" if harness.kind == "fake" else "QEMU")
    assert info.hypervisor_version > 0


async def test_spawn_boots_the_guest_with_its_config_drive(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    drive = make_config_drive(tmp_path, {"uuid": "x", "hostname": "contract-host", "name": "c"})
    spec = h.spec(config_drive=drive, ephemeral_gb=1, swap_mb=64, name="boot <&> 'test'")

    await h.driver.spawn(spec)

    assert await h.driver.power_state(spec.uuid) == PowerState.RUNNING
    assert InstanceInfo(spec.uuid, PowerState.RUNNING) in await h.driver.list_instances()
    await h.wait_event(spec.uuid, PowerState.RUNNING)
    console = await h.wait_ready(spec.uuid)
    assert "metadata=config-drive" in console
    if h.kind == "libvirt":
        # The guest really read the ISO: the hostname comes from its meta_data.json.
        assert "metadata=config-drive hostname=contract-host" in console

    # Spawning again changes nothing: same instance, still running, not rebooted.
    await h.driver.spawn(spec)
    assert [i.uuid for i in await h.driver.list_instances()] == [spec.uuid]
    assert await h.driver.power_state(spec.uuid) == PowerState.RUNNING

    diag = await h.driver.diagnostics(spec.uuid)
    assert set(diag) == DIAGNOSTICS_KEYS
    # "libvirt" for the fake too: the 2.48 schema only knows real drivers' names.
    assert diag["driver"] == "libvirt" and diag["state"] == "running"
    assert diag["num_cpus"] == 1 and diag["num_disks"] == 4 and diag["config_drive"] is True
    assert diag["memory_details"]["maximum"] == 128


async def test_power_off_is_clean_and_power_on_boots_again(harness: Harness) -> None:
    h = harness
    uuid_ = await _running(h)

    await h.driver.power_off(uuid_, timeout_s=60)

    assert await h.driver.power_state(uuid_) == PowerState.SHUTDOWN
    await h.wait_event(uuid_, PowerState.SHUTDOWN)
    # The guest powered itself off on the ACPI request (it was not pulled).
    assert POWER_DOWN in await h.console(uuid_)
    await h.driver.power_off(uuid_)  # already off: nothing to do

    await h.driver.power_on(uuid_)
    assert await h.driver.power_state(uuid_) == PowerState.RUNNING
    await h.wait_boots(uuid_, 2)


async def test_reboot_soft_and_hard_boot_the_guest_again(harness: Harness) -> None:
    h = harness
    uuid_ = await _running(h)

    await h.driver.reboot(uuid_, hard=False)
    assert await h.driver.power_state(uuid_) == PowerState.RUNNING
    console = await h.wait_boots(uuid_, 2)
    # Soft: the guest shut down cleanly before it came back.
    assert console.count(POWER_DOWN) == 1

    await h.driver.reboot(uuid_, hard=True)
    assert await h.driver.power_state(uuid_) == PowerState.RUNNING
    console = await h.wait_boots(uuid_, 3)
    assert console.count(POWER_DOWN) == 1  # hard: reset, no shutdown


async def test_pause_and_unpause(harness: Harness) -> None:
    h = harness
    uuid_ = await _running(h, ready=False)

    await h.driver.pause(uuid_)
    assert await h.driver.power_state(uuid_) == PowerState.PAUSED
    await h.wait_event(uuid_, PowerState.PAUSED)
    await h.driver.pause(uuid_)  # idempotent

    await h.driver.unpause(uuid_)
    assert await h.driver.power_state(uuid_) == PowerState.RUNNING
    await h.driver.unpause(uuid_)


async def test_suspend_and_resume_keep_the_guest_memory(harness: Harness) -> None:
    h = harness
    uuid_ = await _running(h)

    await h.driver.suspend(uuid_)
    assert await h.driver.power_state(uuid_) == PowerState.SUSPENDED
    assert InstanceInfo(uuid_, PowerState.SUSPENDED) in await h.driver.list_instances()
    with pytest.raises(DriverError):
        await h.driver.pause(uuid_)

    await h.driver.resume(uuid_)
    assert await h.driver.power_state(uuid_) == PowerState.RUNNING
    # Restored, not rebooted: it still listens to the power button, as only a guest
    # that finished booting does, and has booted once.
    await h.driver.power_off(uuid_, timeout_s=60)
    console = await h.console(uuid_)
    assert POWER_DOWN in console and console.count(BOOT_BANNER) == 1


async def test_snapshot_writes_a_standalone_qcow2(harness: Harness, tmp_path: Path) -> None:
    h = harness
    uuid_ = await _running(h, ready=False)

    running = tmp_path / "snap-running.qcow2"
    assert await h.driver.snapshot(uuid_, running) == "qcow2"
    assert await h.driver.power_state(uuid_) == PowerState.RUNNING
    await h.driver.power_off(uuid_, timeout_s=0)
    stopped = tmp_path / "snap-stopped.qcow2"
    assert await h.driver.snapshot(uuid_, stopped) == "qcow2"
    assert await h.driver.power_state(uuid_) == PowerState.SHUTDOWN

    for path in (running, stopped):
        info = qemu_img_info(path)
        assert info["format"] == "qcow2"
        assert "backing-filename" not in info  # flattened: usable without the base image
        assert info["virtual-size"] >= GIB
    assert partial_files(tmp_path) == []


async def test_resize_only_when_stopped_and_never_shrinks(harness: Harness) -> None:
    h = harness
    spec = h.spec()
    await h.driver.spawn(spec)
    bigger = h.spec(uuid=spec.uuid, vcpus=2, memory_mb=192, root_gb=2)
    with pytest.raises(DriverError):
        await h.driver.resize(bigger)

    await h.driver.power_off(spec.uuid, timeout_s=0)
    await h.driver.resize(bigger)

    diag = await h.driver.diagnostics(spec.uuid)
    assert diag["num_cpus"] == 2 and diag["memory_details"]["maximum"] == 192
    if h.kind == "libvirt":
        disk = qemu_img_info(h.instances_dir / spec.uuid / "disk")
        assert disk["virtual-size"] == 2 * GIB
    with pytest.raises(DriverError):
        await h.driver.resize(h.spec(uuid=spec.uuid, root_gb=1))
    boots = (await h.console(spec.uuid)).count(BOOT_BANNER)
    await h.driver.power_on(spec.uuid)
    assert await h.driver.power_state(spec.uuid) == PowerState.RUNNING
    await h.wait_boots(spec.uuid, boots + 1)


async def test_rescue_boots_the_rescue_image_and_unrescue_reverts(harness: Harness) -> None:
    h = harness
    spec = h.spec()
    await h.driver.spawn(spec)
    await h.wait_boots(spec.uuid, 1)
    rescue_disk = h.instances_dir / spec.uuid / "disk.rescue"

    await h.driver.rescue(spec, h.image, "qcow2")
    assert await h.driver.power_state(spec.uuid) == PowerState.RUNNING
    await h.wait_boots(spec.uuid, 2)
    if h.kind == "libvirt":
        assert rescue_disk.exists()
        xml = libvirt_domain_xml(spec.uuid)
        assert xml.index(str(rescue_disk)) < xml.index(f"{spec.uuid}/disk'")

    await h.driver.unrescue(spec)
    assert await h.driver.power_state(spec.uuid) == PowerState.RUNNING
    await h.wait_boots(spec.uuid, 3)
    assert not rescue_disk.exists()
    if h.kind == "libvirt":
        assert "disk.rescue" not in libvirt_domain_xml(spec.uuid)


async def test_destroy_removes_everything_and_is_idempotent(harness: Harness) -> None:
    h = harness
    spec = h.spec()
    await h.driver.spawn(spec)

    await h.driver.destroy(spec.uuid)

    assert await h.driver.list_instances() == []
    with pytest.raises(InstanceNotFound):
        await h.driver.power_state(spec.uuid)
    assert not (h.instances_dir / spec.uuid).exists()
    if h.kind == "libvirt":
        assert not qemu_logs(spec.uuid)  # libvirt's own log of the domain goes too
    await h.driver.destroy(spec.uuid)
    await h.driver.destroy("not-a-uuid")


@pytest.mark.parametrize(
    "call",
    [
        "power_state", "power_off", "power_on", "reboot", "pause", "unpause", "suspend",
        "resume", "console_output", "snapshot", "diagnostics", "resize", "rescue", "unrescue",
    ],
)  # fmt: skip
async def test_unknown_instances_are_not_found(harness: Harness, call: str, tmp_path: Path) -> None:
    h = harness
    spec = h.spec()
    args: dict[str, tuple[Any, ...]] = {
        "reboot": (spec.uuid, True),
        "snapshot": (spec.uuid, tmp_path / "s.qcow2"),
        "resize": (spec,),
        "rescue": (spec, h.image, "qcow2"),
        "unrescue": (spec,),
    }
    with pytest.raises(InstanceNotFound):
        await getattr(h.driver, call)(*args.get(call, (spec.uuid,)))
    with pytest.raises(InstanceNotFound):
        await h.driver.power_state("../../etc")


async def test_another_clouds_instances_are_invisible(harness: Harness, tmp_path: Path) -> None:
    h = harness
    async with started_driver(h.kind, tmp_path, h.image, owner=new_owner()) as other:
        theirs = other.spec()
        await other.driver.spawn(theirs)
        mine = h.spec()
        await h.driver.spawn(mine)

        assert [i.uuid for i in await h.driver.list_instances()] == [mine.uuid]
        with pytest.raises(InstanceNotFound):
            await h.driver.power_state(theirs.uuid)
        with pytest.raises(InstanceNotFound):
            await h.driver.power_off(theirs.uuid, timeout_s=0)
        await h.driver.destroy(theirs.uuid)  # "absent" for us: must not touch it
        assert await other.driver.power_state(theirs.uuid) == PowerState.RUNNING
        assert (theirs.uuid, PowerState.RUNNING) not in h.events


async def test_spawn_rejects_what_it_cannot_build(harness: Harness) -> None:
    with pytest.raises(DriverError):
        await harness.driver.spawn(harness.spec(uuid="not-a-uuid"))
    assert await harness.driver.list_instances() == []
