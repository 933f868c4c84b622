"""The libvirt domain XML: what goes in, escaped, and what the driver reads back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from stackling.compute.drivers.base import DriverError, InstanceSpec, NicSpec
from stackling.compute.drivers.libvirt.disks import InstanceFiles
from stackling.compute.drivers.libvirt.layout import domain_config
from stackling.compute.drivers.libvirt.xml import (
    NAMESPACE,
    Disk,
    DomainConfig,
    build_domain_xml,
    owner_from_metadata,
    parse_domain_xml,
)

UUID = "5f0c3f52-3c2b-4d59-9d0e-6b7b8c3a1e11"
FILES = InstanceFiles(Path("/var/lib/stackling/instances") / UUID)


def _spec(**overrides: Any) -> InstanceSpec:
    base = InstanceSpec(
        uuid=UUID,
        name="vm",
        vcpus=2,
        memory_mb=256,
        root_gb=1,
        image_path=Path("/images/base.qcow2"),
    )
    return replace(base, **overrides)


def _xml(spec: InstanceSpec, *, virt_type: str = "qemu", rescue: bool = False) -> ET.Element:
    cfg = domain_config(
        spec, FILES, owner="cloud-1", virt_type=virt_type, cache="none", run_as=(0, 0),
        rescue=rescue,
    )  # fmt: skip
    return ET.fromstring(build_domain_xml(cfg))


def _attr(parent: ET.Element, path: str, name: str) -> str | None:
    element = parent.find(path)
    assert element is not None, path
    return element.get(name)


def _disks(root: ET.Element) -> list[tuple[str, str, str, str]]:
    """(device, target dev, bus, source file) of every disk, in order."""
    out = []
    for disk in root.iterfind("devices/disk"):
        target = disk.find("target")
        source = disk.find("source")
        assert target is not None and source is not None
        out.append((disk.get("device", ""), target.get("dev", ""), target.get("bus", ""),
                    source.get("file", "")))  # fmt: skip
    return out


def test_identity_and_lifecycle_policy() -> None:
    root = _xml(_spec())
    assert root.get("type") == "qemu"
    assert root.findtext("name") == f"instance-{UUID}"
    assert root.findtext("uuid") == UUID
    assert root.findtext("memory") == "256" and _attr(root, "memory", "unit") == "MiB"
    assert root.findtext("vcpu") == "2"
    assert root.findtext("on_poweroff") == "destroy"
    assert root.findtext("on_reboot") == "restart"
    assert root.findtext("on_crash") == "destroy"
    assert root.find("features/acpi") is not None  # the power button needs it
    assert _attr(root, "os/type", "machine") == "pc"


@pytest.mark.parametrize(
    "name",
    [
        "</name><devices><disk type='file'><source file='/etc/shadow'/></disk></devices>",
        "a & b \"quoted\" 'single' <tag> ]]> --> <!--",
        "ctrl\x00\x01\x1b[31m\x7f chars",
        "日本語 ✓ 🙂",
    ],
)
def test_hostile_names_stay_text(name: str) -> None:
    root = _xml(_spec(name=name))
    expected = "".join(c for c in name if c not in "\x00\x01\x1b")
    assert root.findtext("description") == expected
    assert parse_domain_xml(ET.tostring(root, encoding="unicode")).name == expected
    # Nothing was injected: still exactly one disk, ours.
    assert [d[3] for d in _disks(root)] == [str(FILES.disk)]


def test_metadata_carries_the_owner_in_our_namespace() -> None:
    root = _xml(_spec(root_gb=3))
    instance = root.find(f"metadata/{{{NAMESPACE}}}instance")
    assert instance is not None
    assert instance.findtext(f"{{{NAMESPACE}}}owner") == "cloud-1"
    view = parse_domain_xml(ET.tostring(root, encoding="unicode"))
    assert (view.owner, view.root_gb, view.rescue) == ("cloud-1", 3, False)
    # libvirt's metadata API returns the element without its namespace.
    assert owner_from_metadata("<instance><owner>cloud-1</owner></instance>") == "cloud-1"
    assert owner_from_metadata("<other><owner>cloud-1</owner></other>") is None
    assert owner_from_metadata("not xml <") is None


def test_default_disks_are_virtio_with_extras_and_a_config_drive_cdrom() -> None:
    spec = _spec(ephemeral_gb=2, swap_mb=512, config_drive=Path("/drives/cd.iso"))
    root = _xml(spec)
    assert _disks(root) == [
        ("disk", "vda", "virtio", str(FILES.disk)),
        ("disk", "vdb", "virtio", str(FILES.ephemeral)),
        ("disk", "vdc", "virtio", str(FILES.swap)),
        ("cdrom", "hda", "ide", "/drives/cd.iso"),
    ]
    cdrom = root.findall("devices/disk")[3]
    assert cdrom.find("readonly") is not None
    root_disk = root.findall("devices/disk")[0]
    assert _attr(root_disk, "boot", "order") == "1"
    assert _attr(root_disk, "driver", "cache") == "none"
    assert _attr(root_disk, "driver", "type") == "qcow2"


def test_ide_bus_shares_the_channels_with_the_cdrom() -> None:
    spec = _spec(image_properties={"hw_disk_bus": "ide"}, config_drive=Path("/cd.iso"))
    assert [(d[1], d[2]) for d in _disks(_xml(spec))] == [("hda", "ide"), ("hdb", "ide")]
    full = replace(spec, ephemeral_gb=1, swap_mb=1)
    assert [d[1] for d in _disks(_xml(full))] == ["hda", "hdb", "hdc", "hdd"]


def test_more_than_four_ide_devices_is_refused() -> None:
    cfg = DomainConfig(
        uuid=UUID, owner="o", name="n", virt_type="qemu", vcpus=1, memory_mb=64,
        disks=tuple(Disk(Path(f"/d{i}"), "raw", "ide") for i in range(5)),
        console_log=FILES.console,
    )  # fmt: skip
    with pytest.raises(DriverError, match="IDE"):
        build_domain_xml(cfg)


def test_scsi_bus_adds_a_virtio_scsi_controller() -> None:
    root = _xml(_spec(image_properties={"hw_disk_bus": "scsi"}, ephemeral_gb=1))
    assert [(d[1], d[2]) for d in _disks(root)] == [("sda", "scsi"), ("sdb", "scsi")]
    [controller] = root.findall("devices/controller")
    assert controller.attrib == {"type": "scsi", "index": "0", "model": "virtio-scsi"}
    assert _xml(_spec()).find("devices/controller") is None


@pytest.mark.parametrize("prop", ["hw_disk_bus", "hw_vif_model"])
def test_unknown_hardware_is_refused(prop: str) -> None:
    with pytest.raises(DriverError, match=prop):
        _xml(_spec(image_properties={prop: "floppy'/><evil"}))


def test_nics_are_bridge_interfaces_on_their_taps() -> None:
    nics = (
        NicSpec(port_id="p1", mac="fa:16:3e:00:00:01", bridge="brq-net1", tap="tap1", mtu=1450),
        NicSpec(port_id="p2", mac="fa:16:3e:00:00:02", bridge="brq-net2", tap="tap2"),
    )
    root = _xml(_spec(nics=nics))
    interfaces = root.findall("devices/interface")
    assert [i.get("type") for i in interfaces] == ["bridge", "bridge"]
    first = interfaces[0]
    assert _attr(first, "mac", "address") == "fa:16:3e:00:00:01"
    assert _attr(first, "source", "bridge") == "brq-net1"
    assert _attr(first, "target", "dev") == "tap1"
    assert _attr(first, "model", "type") == "virtio"
    assert _attr(first, "mtu", "size") == "1450"
    view = parse_domain_xml(ET.tostring(root, encoding="unicode"))
    assert view.nics == (("fa:16:3e:00:00:01", "tap1"), ("fa:16:3e:00:00:02", "tap2"))
    e1000 = _xml(_spec(nics=nics, image_properties={"hw_vif_model": "e1000"}))
    assert {m.get("type") for m in e1000.iterfind("devices/interface/model")} == {"e1000"}


def test_tcg_gets_an_emulated_cpu_and_kvm_the_host_model() -> None:
    tcg = _xml(_spec(), virt_type="qemu")
    assert tcg.get("type") == "qemu"
    assert _attr(tcg, "cpu", "mode") == "custom"
    assert tcg.findtext("cpu/model") == "qemu64"
    kvm = _xml(_spec(), virt_type="kvm")
    assert kvm.get("type") == "kvm"
    assert _attr(kvm, "cpu", "mode") == "host-model"
    assert kvm.find("cpu/model") is None
    for root in (tcg, kvm):
        assert "host-passthrough" not in ET.tostring(root, encoding="unicode")
    with pytest.raises(DriverError):
        _xml(_spec(), virt_type="xen")


def test_rescue_boots_the_rescue_disk_with_the_root_disk_second() -> None:
    spec = _spec(ephemeral_gb=1, config_drive=Path("/cd.iso"))
    root = _xml(spec, rescue=True)
    assert [(d[1], d[3]) for d in _disks(root)] == [
        ("vda", str(FILES.rescue)),
        ("vdb", str(FILES.disk)),
        ("hda", "/cd.iso"),
    ]
    boots = [d.find("boot") is not None for d in root.iterfind("devices/disk")]
    assert boots == [True, False, False]
    assert parse_domain_xml(ET.tostring(root, encoding="unicode")).rescue is True


def test_console_graphics_rng_and_process_label() -> None:
    root = _xml(_spec())
    log = root.find("devices/serial/log")
    assert log is not None and log.attrib == {"file": str(FILES.console), "append": "on"}
    assert _attr(root, "devices/serial", "type") == "pty"
    assert _attr(root, "devices/console/target", "type") == "serial"
    graphics = root.find("devices/graphics")
    assert graphics is not None and graphics.get("type") == "vnc"
    assert graphics.get("listen") == "127.0.0.1" and graphics.get("autoport") == "yes"
    assert root.findtext("devices/rng/backend") == "/dev/urandom"
    label = root.find("seclabel")
    assert label is not None and label.get("relabel") == "no"
    assert label.findtext("label") == "+0:+0"


def test_a_bad_flavor_or_image_format_is_refused() -> None:
    with pytest.raises(DriverError):
        _xml(_spec(vcpus=0))
    with pytest.raises(DriverError):
        _xml(_spec(image_format="vmdk"))
