"""Driver plumbing: the registry, the fake's qcow2, subprocess errors, daemon checks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from stackling.compute.drivers.base import DriverError
from stackling.compute.drivers.fake import FakeDriver, write_empty_qcow2
from stackling.compute.drivers.libvirt import daemons, disks
from stackling.compute.drivers.libvirt.driver import LibvirtDriver
from stackling.compute.drivers.registry import make_driver

GIB = 1 << 30


def test_registry_builds_each_driver_with_its_own_options(tmp_path: Path) -> None:
    common = {"instances_dir": tmp_path, "owner": "o1", "hostname": "h1"}
    # One settings object configures either driver: the other's options are ignored.
    libvirt_only = {"uri": "qemu:///system", "virt_type": "qemu", "shutdown_timeout_s": 5.0}
    fake = make_driver("fake", **common, **libvirt_only, vcpus=8)
    assert isinstance(fake, FakeDriver) and fake.name == "fake"
    real = make_driver("libvirt", **common, **libvirt_only, vcpus=8)
    assert isinstance(real, LibvirtDriver) and real.virt_type is None  # probed on start
    with pytest.raises(ValueError, match="unknown compute driver"):
        make_driver("xen", **common)
    with pytest.raises(TypeError):
        make_driver("fake", **common, bogus=1)
    with pytest.raises(ValueError):
        make_driver("libvirt", **common, virt_type="lxc")
    with pytest.raises(ValueError):
        make_driver("libvirt", **{**common, "owner": ""})


async def test_fake_hosts_are_independent() -> None:
    small = FakeDriver(hostname="a", vcpus=4, memory_mb=8192, disk_gb=100)
    big = FakeDriver(hostname="b")
    assert (await small.host_info()).vcpus == 4
    assert (await big.host_info()).hostname == "b"


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")
@pytest.mark.parametrize(("size", "rounded"), [(1, 512), (GIB, GIB), (3 * GIB + 5, 3 * GIB + 512)])
def test_fake_snapshot_qcow2_is_valid(tmp_path: Path, size: int, rounded: int) -> None:
    path = tmp_path / "snap.qcow2"
    write_empty_qcow2(path, size)
    check = subprocess.run(
        ["qemu-img", "check", "-f", "qcow2", str(path)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    info = subprocess.run(
        ["qemu-img", "info", "--output=json", str(path)], capture_output=True, text=True, timeout=60
    )
    assert f'"virtual-size": {rounded},' in info.stdout


async def test_failing_commands_report_their_stderr() -> None:
    with pytest.raises(DriverError, match="No such file") as caught:
        await disks.run(["qemu-img", "info", "/nonexistent/image.qcow2"])
    assert "qemu-img info /nonexistent/image.qcow2 failed" in str(caught.value)
    with pytest.raises(DriverError, match="timed out"):
        await disks.run(["sleep", "10"], timeout_s=0.1)
    with pytest.raises(DriverError, match="cannot run"):
        await disks.run(["/nonexistent/binary"])


async def test_overlay_grows_to_the_flavor_but_never_below_the_image(tmp_path: Path) -> None:
    base = tmp_path / "base.qcow2"
    write_empty_qcow2(base, 2 * GIB)
    small = tmp_path / "small"
    await disks.create_overlay(small, base, "qcow2", 1 * GIB)
    assert await disks.virtual_size(small) == 2 * GIB
    big = tmp_path / "big"
    await disks.create_overlay(big, base, "qcow2", 3 * GIB)
    assert await disks.virtual_size(big) == 3 * GIB
    info = await disks.image_info(big)
    assert info["backing-filename"] == str(base)
    await disks.grow(big, 2 * GIB)  # never shrinks
    assert await disks.virtual_size(big) == 3 * GIB
    # Nothing half-written is left beside the disks.
    assert sorted(os.listdir(tmp_path)) == ["base.qcow2", "big", "small"]


def test_console_tail(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    assert disks.read_tail(log, 10) == ""
    log.write_bytes(b"first\nsecond\xff\n")
    assert disks.read_tail(log, None) == "first\nsecond\ufffd\n"
    assert disks.read_tail(log, 8) == "second\ufffd\n"


def test_direct_io_probe_leaves_nothing(tmp_path: Path) -> None:
    assert disks.supports_direct_io(tmp_path) in (True, False)
    assert list(tmp_path.iterdir()) == []


def test_daemon_socket_check(tmp_path: Path) -> None:
    path = tmp_path / "sock"
    assert not daemons.answers(path)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen(1)
        assert daemons.answers(path)
    assert daemons.manages_local_daemons("qemu:///system")
    assert not daemons.manages_local_daemons("qemu+ssh://host/system")
    assert not daemons.manages_local_daemons("qemu:///session")


def test_kvm_device_fix_ignores_what_is_not_a_device(tmp_path: Path) -> None:
    plain = tmp_path / "kvm"
    plain.write_text("")
    plain.chmod(0o600)
    daemons.ensure_kvm_device_access(plain)
    assert plain.stat().st_mode & 0o777 == 0o600
    daemons.ensure_kvm_device_access(tmp_path / "absent")


def test_qemu_logs_of_one_domain_are_removed(tmp_path: Path) -> None:
    for name in ("instance-a.log", "instance-a.log.0", "instance-ab.log", "other.log"):
        (tmp_path / name).write_text("x")
    disks.remove_qemu_logs("instance-a", tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["instance-ab.log", "other.log"]
