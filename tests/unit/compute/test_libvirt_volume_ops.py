"""The libvirt driver's volume calls against a stand-in domain: flags, idempotence, timeouts."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libvirt
import pytest

from stackling.compute.drivers.base import DriverError, VolumeSpec
from stackling.compute.drivers.libvirt import driver as driver_module
from stackling.compute.drivers.libvirt.driver import LibvirtDriver

UUID = "5f0c3f52-3c2b-4d59-9d0e-6b7b8c3a1e11"
LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG


def _volume(volume_id: str = "vol-1", target: str = "vdb") -> VolumeSpec:
    return VolumeSpec(volume_id=volume_id, target_dev=target, kind="file", path="/v/" + volume_id)


class _Domain:
    """A virDomain holding its disks as XML, live and persistent."""

    def __init__(self, active: bool = True, releases: bool = True) -> None:
        self.active = active
        self.releases = releases  # whether the guest lets a hot-unplugged disk go
        self.live: list[str] = []
        self.config: list[str] = []
        self.calls: list[tuple[str, int]] = []
        self.capacity = 1 << 30
        self.resized: list[tuple[str, int, int]] = []

    def isActive(self) -> int:
        return int(self.active)

    def XMLDesc(self, flags: int) -> str:
        disks = (
            self.config if flags & libvirt.VIR_DOMAIN_XML_INACTIVE or not self.active else self.live
        )
        return f"<domain><devices>{''.join(disks)}</devices></domain>"

    def attachDeviceFlags(self, xml: str, flags: int) -> None:
        self.calls.append(("attach", flags))
        if flags & LIVE:
            self.live.append(xml)
        if flags & CONFIG:
            self.config.append(xml)

    def detachDeviceFlags(self, xml: str, flags: int) -> None:
        self.calls.append(("detach", flags))
        target = ET.fromstring(xml).find("target").get("dev")  # type: ignore[union-attr]

        def without(disks: list[str]) -> list[str]:
            return [d for d in disks if ET.fromstring(d).find("target").get("dev") != target]  # type: ignore[union-attr]

        if flags & LIVE and self.releases:
            self.live = without(self.live)
        if flags & CONFIG:
            self.config = without(self.config)

    def blockInfo(self, target: str, flags: int) -> list[int]:
        return [self.capacity, self.capacity, self.capacity]

    def blockResize(self, target: str, size: int, flags: int) -> None:
        self.resized.append((target, size, flags))


class _Conn:
    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, None, *args)


@pytest.fixture
def dom() -> _Domain:
    return _Domain()


@pytest.fixture
def drv(tmp_path: Path, dom: _Domain, monkeypatch: pytest.MonkeyPatch) -> LibvirtDriver:
    driver = LibvirtDriver(instances_dir=tmp_path, owner="cloud-1", hostname="h")
    driver.virt_type = "qemu"
    monkeypatch.setattr(driver, "_conn", _Conn())

    async def lookup(_uuid: str) -> _Domain:
        return dom

    monkeypatch.setattr(driver, "_lookup", lookup)
    monkeypatch.setattr(driver_module, "DETACH_TIMEOUT_S", 0.5)
    monkeypatch.setattr(driver_module, "RESEND_DETACH_S", 0.1)
    monkeypatch.setattr(driver_module, "POLL_S", 0.01)
    return driver


async def test_attach_to_a_running_guest_is_live_and_persistent_once(
    drv: LibvirtDriver, dom: _Domain
) -> None:
    await drv.attach_volume(UUID, _volume())
    await drv.attach_volume(UUID, _volume())

    assert dom.calls == [("attach", LIVE | CONFIG)]
    assert len(dom.live) == 1 and len(dom.config) == 1
    assert ET.fromstring(dom.live[0]).findtext("serial") == "vol-1"
    with pytest.raises(DriverError, match="vdb is taken"):
        await drv.attach_volume(UUID, _volume("vol-2"))


async def test_attach_to_a_stopped_guest_changes_only_its_definition(
    drv: LibvirtDriver, dom: _Domain
) -> None:
    dom.active = False
    await drv.attach_volume(UUID, _volume())
    assert dom.calls == [("attach", CONFIG)] and dom.live == []


async def test_detach_waits_for_the_guest_then_drops_the_definition(
    drv: LibvirtDriver, dom: _Domain
) -> None:
    await drv.attach_volume(UUID, _volume())
    await drv.detach_volume(UUID, _volume())
    assert dom.live == [] and dom.config == []
    assert dom.calls[1:] == [("detach", LIVE), ("detach", CONFIG)]
    await drv.detach_volume(UUID, _volume())  # absent: fine, nothing asked
    assert len(dom.calls) == 3


async def test_a_guest_that_keeps_the_disk_is_asked_again_then_it_stays(
    drv: LibvirtDriver, dom: _Domain
) -> None:
    dom.releases = False
    await drv.attach_volume(UUID, _volume())

    with pytest.raises(DriverError, match=r"did not release vdb within 0.5s"):
        await drv.detach_volume(UUID, _volume())

    live_requests = [c for c in dom.calls if c == ("detach", LIVE)]
    assert len(live_requests) >= 2
    assert ("detach", CONFIG) not in dom.calls
    assert len(dom.live) == 1 and len(dom.config) == 1


async def test_extend_resizes_a_running_guest_disk_in_bytes_once(
    drv: LibvirtDriver, dom: _Domain
) -> None:
    await drv.attach_volume(UUID, _volume())
    await drv.extend_volume(UUID, _volume(), 2 << 30)
    assert dom.resized == [("vdb", 2 << 30, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)]
    dom.capacity = 2 << 30
    await drv.extend_volume(UUID, _volume(), 2 << 30)
    assert len(dom.resized) == 1
    with pytest.raises(DriverError, match="no disk vdc"):
        await drv.extend_volume(UUID, _volume(target="vdc"), 2 << 30)


async def test_extend_of_a_stopped_guest_has_nothing_to_tell(
    drv: LibvirtDriver, dom: _Domain
) -> None:
    dom.active = False
    await drv.extend_volume(UUID, _volume(target="vdz"), 2 << 30)
    assert dom.resized == []
