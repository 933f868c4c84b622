"""Volumes in real guests through the libvirt driver: hot-plug, data, extend, QoS, boot.

The volume files are made here with qemu-img, as the file volume backend makes
them; the guests (the busybox test image under QEMU) are driven over their serial
consoles. Each test owns a unique owner tag: its domains are destroyed afterwards,
whatever happens, and its files live in the test's tmp_path.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import libvirt
import pytest

from stackling.compute.drivers.base import PowerState, VolumeSpec
from stackling.compute.drivers.console import ConsoleStream
from stackling.image.testimage import ensure_test_image
from tests.support.compute import (
    LIBVIRT_URI,
    Harness,
    libvirt_domain_xml,
    qemu_img_info,
    started_driver,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

GIB = 1 << 30
SECTOR = 512
COMMAND_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def image() -> Path:
    """The cached test guest image."""
    return ensure_test_image()


@pytest.fixture
async def h(tmp_path: Path, image: Path) -> AsyncIterator[Harness]:
    """A started libvirt driver of a fresh owner."""
    async with started_driver("libvirt", tmp_path, image) as harness:
        yield harness


def _qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True, timeout=120)


def _new_volume(directory: Path, fmt: str = "qcow2", size: int = GIB) -> Path:
    path = directory / f"volume-{secrets.token_hex(4)}"
    _qemu_img("create", "-q", "-f", fmt, str(path), str(size))
    return path


def _spec_of(path: Path, target: str, fmt: str = "qcow2", **extra: object) -> VolumeSpec:
    return VolumeSpec(
        volume_id=f"{secrets.token_hex(4)}-4c5e-9a53-{secrets.token_hex(6)}",
        target_dev=target,
        kind="file",
        path=str(path),
        format=fmt,
        **extra,  # type: ignore[arg-type]
    )


def _first_sector(path: Path, fmt: str, tmp: Path) -> bytes:
    """The volume's first 512 bytes, read on the host."""
    out = tmp / f"sector-{secrets.token_hex(4)}"
    _qemu_img("dd", "-f", fmt, "-O", "raw", "bs=512", "count=1", f"if={path}", f"of={out}")
    try:
        return out.read_bytes()[:SECTOR]
    finally:
        out.unlink(missing_ok=True)


def _persistent_xml(uuid_: str) -> str:
    conn = libvirt.open(LIBVIRT_URI)
    try:
        return str(conn.lookupByUUIDString(uuid_).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    finally:
        conn.close()


class Shell:
    """The root shell on a guest's serial port: run a command, get its output and status."""

    def __init__(self, stream: ConsoleStream) -> None:
        self.stream = stream
        self.seen = ""

    async def run(self, command: str, timeout_s: float = COMMAND_TIMEOUT_S) -> tuple[int, str]:
        """(exit status, output) of `command`; fails the test after `timeout_s`."""
        tag = secrets.token_hex(6)
        # printf puts the markers together only in its output, never in the echoed input.
        line = f"printf '%s-B\\n' {tag}; {command}; printf '%s-E%d\\n' {tag} $?\n"
        await self.stream.write(line.encode())
        done = re.compile(rf"{tag}-B\r?\n(.*?){tag}-E(\d+)", re.S)
        deadline = time.monotonic() + timeout_s
        while (match := done.search(self.seen)) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no answer to {command!r} in {timeout_s}s:\n{self.seen[-2000:]}")
            try:
                chunk = await asyncio.wait_for(self.stream.read(), left)
            except TimeoutError:
                continue
            if not chunk:
                pytest.fail(f"the console closed during {command!r}:\n{self.seen[-2000:]}")
            self.seen += chunk.decode(errors="replace")
        self.seen = self.seen[match.end() :]
        return int(match.group(2)), match.group(1).replace("\r", "")

    async def check(self, command: str) -> str:
        """The output of `command`, which must succeed."""
        status, out = await self.run(command)
        assert status == 0, f"{command!r} exited {status}: {out}"
        return out


@contextlib.asynccontextmanager
async def _shell(h: Harness, uuid_: str, boots: int = 1) -> AsyncIterator[Shell]:
    """The guest's shell, once it is ready; the console is closed after."""
    await h.wait_ready(uuid_, boots)
    stream = await h.driver.open_console(uuid_)
    try:
        shell = Shell(stream)
        # Kernel messages (hot-plug notices) would interleave with command output.
        await shell.check("dmesg -n 1")
        yield shell
    finally:
        await stream.close()


def _wait_for(device: str, attribute: str, value: str) -> str:
    """A guest loop: wait until /sys/block/<device>/<attribute> reads `value` (or 60 s)."""
    path = f"/sys/block/{device}/{attribute}"
    return (
        f'for i in $(seq 40); do [ "$(cat {path} 2>/dev/null)" = {value} ] && break; '
        f"sleep 1; done; cat {path}"
    )


def _wait_gone(device: str) -> str:
    return (
        f"for i in $(seq 40); do [ -e /sys/block/{device} ] || break; sleep 1; done; "
        f"[ ! -e /sys/block/{device} ]"
    )


async def _device_of(shell: Shell, volume: VolumeSpec) -> str:
    """The guest's name of the volume's disk, found by its serial (waiting up to 40 s).

    The guest names virtio disks in the order it finds them; libvirt's target
    name is only a hint, so the serial is what identifies a volume.
    """
    serial = volume.volume_id[:20]
    out = await shell.check(
        "for i in $(seq 40); do for d in /sys/block/vd*; do "
        f'[ "$(cat $d/serial 2>/dev/null)" = {serial} ] && echo ${{d##*/}} && break 2; '
        "done; sleep 1; done"
    )
    assert out.strip(), f"no disk with serial {serial} in the guest"
    return out.strip()


async def test_a_volume_moves_between_guests_with_its_data_and_grows_online(
    h: Harness, tmp_path: Path
) -> None:
    path = _new_volume(tmp_path)
    volume = _spec_of(path, "vdb")
    first, second = h.spec(), h.spec()
    await h.driver.spawn(first)
    await h.driver.spawn(second)
    pattern = f"stackling-data-{secrets.token_hex(4)}"

    async with _shell(h, first.uuid) as shell:
        await h.driver.attach_volume(first.uuid, volume)
        await h.driver.attach_volume(first.uuid, volume)  # again: kept once

        live = libvirt_domain_xml(first.uuid)
        assert live.count(f"<source file='{path}'") == 1
        assert f"<serial>{volume.volume_id}</serial>" in live
        assert f"<source file='{path}'" in _persistent_xml(first.uuid)
        dev = await _device_of(shell, volume)
        sectors = await shell.check(f"cat /sys/block/{dev}/size")
        assert sectors.strip() == str(GIB // SECTOR)
        await shell.check(
            f"echo {pattern} | dd of=/dev/{dev} bs=512 count=1 conv=sync 2>/dev/null && sync"
        )

        await h.driver.detach_volume(first.uuid, volume)

        await shell.check(_wait_gone(dev))
    assert str(path) not in libvirt_domain_xml(first.uuid)
    assert str(path) not in _persistent_xml(first.uuid)
    await h.driver.detach_volume(first.uuid, volume)  # absent: fine
    assert _first_sector(path, "qcow2", tmp_path).startswith(f"{pattern}\n".encode())

    async with _shell(h, second.uuid) as shell:
        await h.driver.attach_volume(second.uuid, volume)
        dev = await _device_of(shell, volume)
        read = await shell.check(f"dd if=/dev/{dev} bs=512 count=1 2>/dev/null | head -n 1")
        assert read.strip() == pattern

        # Online extend: QEMU itself grows the qcow2 it holds locked.
        await h.driver.extend_volume(second.uuid, volume, 2 * GIB)
        await h.driver.extend_volume(second.uuid, volume, 2 * GIB)  # again: nothing to do

        sectors = await shell.check(_wait_for(dev, "size", str(2 * GIB // SECTOR)))
        assert sectors.strip() == str(2 * GIB // SECTOR)
        assert qemu_img_info(path)["virtual-size"] == 2 * GIB
        read = await shell.check(f"dd if=/dev/{dev} bs=512 count=1 2>/dev/null | head -n 1")
        assert read.strip() == pattern

    # Destroying a guest never takes its volumes with it.
    await h.driver.destroy(second.uuid)
    assert path.exists()
    assert _first_sector(path, "qcow2", tmp_path).startswith(f"{pattern}\n".encode())


async def test_qos_limits_and_readonly_reach_the_live_guest(h: Harness, tmp_path: Path) -> None:
    path = _new_volume(tmp_path, fmt="raw")
    iotune = {"total_bytes_sec": 10_485_760, "read_iops_sec": 500, "write_iops_sec": 200}
    volume = _spec_of(path, "vdc", fmt="raw", iotune=iotune, readonly=True)
    spec = h.spec()
    await h.driver.spawn(spec)

    async with _shell(h, spec.uuid) as shell:
        await h.driver.attach_volume(spec.uuid, volume)

        live = libvirt_domain_xml(spec.uuid)
        assert "<total_bytes_sec>10485760</total_bytes_sec>" in live
        assert "<read_iops_sec>500</read_iops_sec>" in live
        assert "<write_iops_sec>200</write_iops_sec>" in live
        # QEMU applies them, not only libvirt's XML.
        conn = libvirt.open(LIBVIRT_URI)
        try:
            params = conn.lookupByUUIDString(spec.uuid).blockIoTune("vdc", 0)
        finally:
            conn.close()
        assert params["total_bytes_sec"] == 10_485_760 and params["write_iops_sec"] == 200
        dev = await _device_of(shell, volume)
        assert (await shell.check(f"cat /sys/block/{dev}/ro")).strip() == "1"
        status, _ = await shell.run(f"echo x | dd of=/dev/{dev} bs=512 count=1 conv=sync 2>&1")
        assert status != 0


async def test_a_stopped_guest_gets_the_volume_at_its_next_boot(h: Harness, tmp_path: Path) -> None:
    path = _new_volume(tmp_path)
    volume = _spec_of(path, "vdb")
    spec = h.spec()
    await h.driver.spawn(spec)
    await h.wait_ready(spec.uuid)
    await h.driver.power_off(spec.uuid, timeout_s=0)

    await h.driver.attach_volume(spec.uuid, volume)
    await h.driver.extend_volume(spec.uuid, volume, 2 * GIB)  # stopped: nothing to tell

    assert f"<source file='{path}'" in _persistent_xml(spec.uuid)
    await h.driver.power_on(spec.uuid)
    async with _shell(h, spec.uuid, boots=2) as shell:
        dev = await _device_of(shell, volume)
        assert (await shell.check(f"cat /sys/block/{dev}/size")).strip() == str(GIB // SECTOR)
    await h.driver.power_off(spec.uuid, timeout_s=0)
    await h.driver.detach_volume(spec.uuid, volume)
    assert str(path) not in _persistent_xml(spec.uuid)


async def test_a_guest_boots_from_a_volume_and_keeps_it(
    h: Harness, tmp_path: Path, image: Path
) -> None:
    path = tmp_path / f"volume-boot-{secrets.token_hex(4)}"
    _qemu_img("convert", "-q", "-O", "qcow2", str(image), str(path))
    boot = _spec_of(path, "vda", boot_index=0)
    spec = h.spec(image_path=None, volumes=(boot,))

    await h.driver.spawn(spec)

    await h.wait_ready(spec.uuid)
    live = libvirt_domain_xml(spec.uuid)
    assert f"<source file='{path}'" in live and "<boot order='1'/>" in live
    assert not (h.instances_dir / spec.uuid / "disk").exists()
    # A hard reboot rebuilds the guest from its definition: the volume stays its root.
    await h.driver.reboot(spec.uuid, hard=True)
    await h.wait_ready(spec.uuid, boots=2)
    assert await h.driver.power_state(spec.uuid) == PowerState.RUNNING
    assert f"<source file='{path}'" in libvirt_domain_xml(spec.uuid)

    await h.driver.destroy(spec.uuid)

    assert path.exists() and qemu_img_info(path)["format"] == "qcow2"
    assert not (h.instances_dir / spec.uuid).exists()
