"""Volumes in the libvirt domain XML: hot-plug disks, boot volumes, QoS, read back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from stackling.compute.drivers.base import DriverError, InstanceSpec, VolumeSpec
from stackling.compute.drivers.libvirt import disks
from stackling.compute.drivers.libvirt.disks import InstanceFiles
from stackling.compute.drivers.libvirt.layout import domain_config, prepare_disks, volume_disk
from stackling.compute.drivers.libvirt.xml import (
    VolumeDisk,
    build_domain_xml,
    disk_at,
    parse_domain_xml,
    volume_xml,
)

UUID = "5f0c3f52-3c2b-4d59-9d0e-6b7b8c3a1e11"
VOL = "0b9a3c1e-7f41-4c5e-9a53-2d7c51e0f6aa"
FILES = InstanceFiles(Path("/var/lib/stackling/instances") / UUID)


def _volume(**overrides: Any) -> VolumeSpec:
    base = VolumeSpec(
        volume_id=VOL, target_dev="vdb", kind="file", path="/volumes/volume-1", format="qcow2"
    )
    return replace(base, **overrides)


def _spec(**overrides: Any) -> InstanceSpec:
    base = InstanceSpec(
        uuid=UUID, name="vm", vcpus=1, memory_mb=128, root_gb=1,
        image_path=Path("/images/base.qcow2"),
    )  # fmt: skip
    return replace(base, **overrides)


def _domain(spec: InstanceSpec, *, rescue: bool = False) -> ET.Element:
    cfg = domain_config(
        spec, FILES, owner="cloud-1", virt_type="qemu", cache="none", run_as=None, rescue=rescue
    )
    return ET.fromstring(build_domain_xml(cfg))


def _disk(volume: VolumeSpec, cache: str = "none") -> ET.Element:
    return ET.fromstring(volume_xml(VolumeDisk(volume, cache)))


def _targets(root: ET.Element) -> list[tuple[str, str]]:
    """(target dev, source file or device) of every disk, in the domain's order."""
    out = []
    for disk in root.iterfind("devices/disk"):
        source = disk.find("source")
        target = disk.find("target")
        assert source is not None and target is not None
        out.append((target.get("dev", ""), source.get("file") or source.get("dev") or ""))
    return out


def test_a_file_volume_is_a_qcow2_disk_with_its_serial() -> None:
    disk = _disk(_volume())
    assert disk.attrib == {"type": "file", "device": "disk"}
    driver = disk.find("driver")
    assert driver is not None
    assert driver.attrib == {"name": "qemu", "type": "qcow2", "cache": "none", "io": "native"}
    assert disk.find("source").attrib == {"file": "/volumes/volume-1"}  # type: ignore[union-attr]
    assert disk.find("target").attrib == {"dev": "vdb", "bus": "virtio"}  # type: ignore[union-attr]
    assert disk.findtext("serial") == VOL
    assert disk.find("readonly") is None and disk.find("iotune") is None
    assert disk.find("boot") is None


def test_writeback_cache_goes_without_native_io() -> None:
    driver = _disk(_volume(format="raw"), cache="writeback").find("driver")
    assert driver is not None
    assert driver.attrib == {"name": "qemu", "type": "raw", "cache": "writeback"}


def test_a_block_volume_is_a_raw_device() -> None:
    disk = _disk(_volume(kind="block", path="/dev/mapper/vg-volume--1", format="qcow2"))
    assert disk.get("type") == "block"
    assert disk.find("source").attrib == {"dev": "/dev/mapper/vg-volume--1"}  # type: ignore[union-attr]
    assert disk.find("driver").get("type") == "raw"  # type: ignore[union-attr]


def test_readonly_and_qos_limits() -> None:
    iotune = {"write_iops_sec": 200, "total_bytes_sec": 10_000_000, "read_iops_sec": 0}
    disk = _disk(_volume(readonly=True, iotune=iotune))
    assert disk.find("readonly") is not None
    limits = disk.find("iotune")
    assert limits is not None
    # In libvirt's own order, whatever order they came in.
    assert [(c.tag, c.text) for c in limits] == [
        ("total_bytes_sec", "10000000"),
        ("read_iops_sec", "0"),
        ("write_iops_sec", "200"),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "iscsi"},
        {"format": "vmdk"},
        {"bus": "ide", "target_dev": "hdb"},
        {"bus": "floppy"},
        {"target_dev": "sdb"},
        {"target_dev": "vd"},
        {"iotune": {"total_bytes_sec'/><evil": 1}},
        {"iotune": {"total_bytes_sec": -1}},
        {"iotune": {"total_bytes_sec": "1"}},
    ],
)
def test_bad_volumes_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(DriverError):
        volume_xml(VolumeDisk(_volume(**bad)))


def test_hostile_ids_and_paths_stay_text() -> None:
    evil = "x'/><disk type='block'><source dev='/dev/sda'/>"
    disk = _disk(_volume(volume_id=evil, path=f"/volumes/{evil}"))
    assert disk.findtext("serial") == evil
    assert disk.find("source").get("file") == f"/volumes/{evil}"  # type: ignore[union-attr]
    assert len(list(disk.iter("source"))) == 1


def test_a_scsi_volume_adds_the_controller() -> None:
    root = _domain(_spec(volumes=(_volume(bus="scsi", target_dev="sdb"),)))
    assert _targets(root)[-1] == ("sdb", "/volumes/volume-1")
    assert root.find("devices/controller[@model='virtio-scsi']") is not None


def test_data_volumes_follow_the_local_disks_which_skip_their_names() -> None:
    volumes = (
        _volume(volume_id="v-c", target_dev="vdc", path="/volumes/c"),
        _volume(volume_id="v-b", target_dev="vdb", path="/volumes/b"),
    )
    root = _domain(_spec(ephemeral_gb=1, volumes=volumes))
    assert _targets(root) == [
        ("vda", str(FILES.disk)),
        ("vdd", str(FILES.ephemeral)),
        ("vdb", "/volumes/b"),
        ("vdc", "/volumes/c"),
    ]
    boots = [d.find("boot") is not None for d in root.iterfind("devices/disk")]
    assert boots == [True, False, False, False]


def test_a_boot_volume_replaces_the_local_root_disk() -> None:
    boot = _volume(target_dev="vda", path="/volumes/root", boot_index=0)
    data = _volume(volume_id="v-data", target_dev="vdb", path="/volumes/data")
    spec = _spec(image_path=None, volumes=(data, boot), swap_mb=64)
    root = _domain(spec)
    assert _targets(root) == [
        ("vda", "/volumes/root"),
        ("vdc", str(FILES.swap)),
        ("vdb", "/volumes/data"),
    ]
    orders = [d.find("boot") for d in root.iterfind("devices/disk")]
    assert orders[0] is not None and orders[0].get("order") == "1"
    assert orders[1] is None and orders[2] is None


def test_a_boot_volume_cannot_be_rescued() -> None:
    boot = _volume(target_dev="vda", boot_index=0)
    with pytest.raises(DriverError, match="rescued"):
        _domain(_spec(image_path=None, volumes=(boot,)), rescue=True)


def test_rescue_keeps_data_volumes_on_their_devices() -> None:
    root = _domain(_spec(volumes=(_volume(target_dev="vda"),)), rescue=True)
    assert _targets(root) == [
        ("vdb", str(FILES.rescue)),
        ("vdc", str(FILES.disk)),
        ("vda", "/volumes/volume-1"),
    ]


def test_two_volumes_on_one_device_are_refused() -> None:
    volumes = (_volume(), _volume(volume_id="other", path="/volumes/other"))
    with pytest.raises(DriverError, match="device"):
        _domain(_spec(volumes=volumes))


def test_volumes_read_back_by_device() -> None:
    block = _volume(volume_id="v-block", target_dev="vdc", kind="block", path="/dev/vg/lv")
    text = build_domain_xml(
        domain_config(
            _spec(volumes=(_volume(), block)), FILES, owner="o", virt_type="qemu",
            cache="none", run_as=None,
        )
    )  # fmt: skip
    found = disk_at(text, "vdb")
    assert found is not None and found[1] == VOL
    assert ET.fromstring(found[0]).find("source").get("file") == "/volumes/volume-1"  # type: ignore[union-attr]
    assert disk_at(text, "vdz") is None
    assert ("vdc", "disk", "/dev/vg/lv") in parse_domain_xml(text).disks


async def test_no_local_root_disk_is_made_for_a_boot_volume(tmp_path: Path) -> None:
    files = InstanceFiles(tmp_path / UUID)
    boot = _volume(target_dev="vda", boot_index=0)
    await prepare_disks(_spec(image_path=None, volumes=(boot,)), files)
    assert files.dir.is_dir() and not files.disk.exists()
    with pytest.raises(DriverError, match="no image"):
        await prepare_disks(_spec(image_path=None), files)


async def test_the_cache_mode_follows_the_volume_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "volume"
    path.write_bytes(b"\0" * 8192)
    chosen = await volume_disk(_volume(path=str(path)))
    assert chosen.cache == ("none" if disks.reads_direct(path) else "writeback")
    monkeypatch.setattr(disks, "reads_direct", lambda _path: False)
    assert (await volume_disk(_volume(path=str(path)))).cache == "writeback"
    # A block device always takes O_DIRECT.
    assert (await volume_disk(_volume(kind="block", path="/dev/null"))).cache == "none"
