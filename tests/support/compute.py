"""Compute driver harness for tests: a started driver of a unique owner, cleaned up after.

The cleanup does not trust the driver under test: for libvirt it also goes to
libvirtd directly and destroys every domain carrying the test's owner tag (and
only those), so a failing test never leaves guests behind nor touches others'.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from stackling.compute.drivers.base import ComputeDriver, InstanceSpec, PowerState
from stackling.compute.drivers.registry import make_driver
from stackling.image.testimage import TEST_IMAGE_MIN_RAM_MB, TEST_IMAGE_READY_MARKER

READY_TIMEOUT_S = 120.0
# The guest kernel's first line: one per boot, seconds before the guest is ready.
BOOT_BANNER = "Linux version"
EVENT_TIMEOUT_S = 15.0
LIBVIRT_URI = "qemu:///system"


@dataclass
class Harness:
    """A started driver, the power events it reported, and spec/wait helpers."""

    kind: str
    driver: ComputeDriver
    owner: str
    instances_dir: Path
    image: Path
    events: list[tuple[str, PowerState]] = field(default_factory=list)

    def spec(self, **overrides: Any) -> InstanceSpec:
        """A spec for the test image (128 MiB: the guest kernel needs it), with overrides."""
        base = InstanceSpec(
            uuid=str(uuid.uuid4()),
            name="contract-vm",
            vcpus=1,
            memory_mb=TEST_IMAGE_MIN_RAM_MB,
            root_gb=1,
            image_path=self.image,
            image_format="qcow2",
        )
        return replace(base, **overrides)

    async def console(self, uuid: str) -> str:
        """The instance's console so far."""
        return await self.driver.console_output(uuid)

    async def wait_console(self, uuid: str, text: str, count: int = 1) -> str:
        """Wait until `text` appears `count` times on the console; the console."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        console = ""
        while time.monotonic() < deadline:
            console = await self.console(uuid)
            if console.count(text) >= count:
                return console
            await asyncio.sleep(0.2)
        pytest.fail(
            f"{text!r} x{count} not on the console in {READY_TIMEOUT_S}s:\n{console[-3000:]}"
        )

    async def wait_ready(self, uuid: str, boots: int = 1) -> str:
        """Wait for the guest's `boots`-th ready line; the console."""
        return await self.wait_console(uuid, TEST_IMAGE_READY_MARKER, boots)

    async def wait_boots(self, uuid: str, boots: int) -> str:
        """Wait until the guest kernel has started `boots` times; the console."""
        return await self.wait_console(uuid, BOOT_BANNER, boots)

    async def wait_event(self, uuid: str, state: PowerState) -> None:
        """Wait until the driver has reported `state` for `uuid`."""
        deadline = time.monotonic() + EVENT_TIMEOUT_S
        while (uuid, state) not in self.events:
            if time.monotonic() > deadline:
                pytest.fail(f"no {state.name} event for {uuid}; got {self.events}")
            await asyncio.sleep(0.05)


def new_owner() -> str:
    """A unique owner tag, so that parallel runs sharing libvirtd never meet."""
    return f"test-{uuid.uuid4().hex[:12]}"


def build_driver(kind: str, instances_dir: Path, owner: str, **options: Any) -> ComputeDriver:
    """An unstarted driver of `kind` for tests (a short shutdown timeout for libvirt)."""
    if kind == "libvirt":
        options.setdefault("shutdown_timeout_s", 30.0)
        options.setdefault("uri", LIBVIRT_URI)
    return make_driver(
        kind, instances_dir=instances_dir, owner=owner, hostname=f"{kind}-host", **options
    )


@asynccontextmanager
async def started_driver(
    kind: str, tmp_path: Path, image: Path, owner: str | None = None, **options: Any
) -> AsyncIterator[Harness]:
    """A started driver of a fresh owner; everything of that owner is destroyed after."""
    owner = owner or new_owner()
    instances_dir = tmp_path / f"instances-{owner}"
    driver = build_driver(kind, instances_dir, owner, **options)
    harness = Harness(kind, driver, owner, instances_dir, image)

    async def record(uuid: str, state: PowerState) -> None:
        harness.events.append((uuid, state))

    try:
        await driver.start(record)
        yield harness
    finally:
        with contextlib.suppress(Exception):
            for instance in await driver.list_instances():
                await driver.destroy(instance.uuid)
        with contextlib.suppress(Exception):
            await driver.stop()
        if kind == "libvirt":
            await asyncio.to_thread(purge_libvirt_owner, owner)
        shutil.rmtree(instances_dir, ignore_errors=True)


def purge_libvirt_owner(owner: str) -> list[str]:
    """Destroy and undefine every libvirt domain tagged with `owner`; their names."""
    import libvirt

    from stackling.compute.drivers.libvirt import domains

    conn = libvirt.open(LIBVIRT_URI)
    removed = []
    try:
        for dom in domains.owned(conn, owner):
            with contextlib.suppress(libvirt.libvirtError):
                if dom.isActive():
                    dom.destroy()
            with contextlib.suppress(libvirt.libvirtError):
                dom.undefineFlags(domains.UNDEFINE_FLAGS)
            removed.append(dom.name())
    finally:
        conn.close()
    return removed


def libvirt_domain_xml(uuid: str) -> str:
    """The live XML of a domain, straight from libvirtd (for checks the API does not show)."""
    import libvirt

    conn = libvirt.open(LIBVIRT_URI)
    try:
        return str(conn.lookupByUUIDString(uuid).XMLDesc(0))
    finally:
        conn.close()


def make_config_drive(directory: Path, meta: dict[str, Any], user_data: str | None = None) -> Path:
    """An ISO 9660 config drive (label config-2) holding openstack/latest/meta_data.json."""
    tree = directory / "config-drive"
    latest = tree / "openstack" / "latest"
    latest.mkdir(parents=True)
    (latest / "meta_data.json").write_text(json.dumps(meta))
    if user_data is not None:
        (latest / "user_data").write_text(user_data)
    iso = directory / "config-drive.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-o", str(iso), "-V", "config-2", "-J", "-R", str(tree)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return iso


def partial_files(directory: Path) -> list[Path]:
    """Half-written files (`.<name>.partial`) left in `directory`."""
    return sorted(directory.glob(".*.partial"))


def qemu_logs(uuid: str) -> list[Path]:
    """libvirt's QEMU logs of the instance's domain."""
    return sorted(Path("/var/log/libvirt/qemu").glob(f"instance-{uuid}.log*"))


def qemu_img_info(path: Path) -> dict[str, Any]:
    """`qemu-img info` of a file; fails the test if qemu-img does not accept it."""
    done = subprocess.run(
        ["qemu-img", "info", "--force-share", "--output=json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    info: dict[str, Any] = json.loads(done.stdout)
    return info
