"""Libvirt domain XML: built with ElementTree from typed values, and read back.

User-supplied strings (display names, paths) only ever become element text or
attribute values, so ElementTree's escaping is all that stands between a hostile
instance name and the domain definition; characters XML cannot carry at all are
dropped first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from stackling.compute.drivers.base import DriverError, InstanceSpec, NicSpec, VolumeSpec

NAMESPACE = "https://stackling.dev/xmlns/compute/1"
PREFIX = "stackling"
VIRT_TYPES = ("kvm", "qemu")
# Image property hw_disk_bus -> the target device prefix libvirt expects for it.
DISK_BUSES = {"virtio": "vd", "scsi": "sd", "sata": "sd", "ide": "hd"}
VIF_MODELS = ("virtio", "e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet")
# The i440fx IDE controller has two channels of two devices.
MAX_IDE_DEVICES = 4
MAX_NAME_CHARS = 255
VOLUME_KINDS = ("file", "block")
VOLUME_FORMATS = ("qcow2", "raw")
# The <iotune> children libvirt knows, in the order its schema lists them.
IOTUNE_KEYS = (
    "total_bytes_sec",
    "read_bytes_sec",
    "write_bytes_sec",
    "total_iops_sec",
    "read_iops_sec",
    "write_iops_sec",
    "total_bytes_sec_max",
    "read_bytes_sec_max",
    "write_bytes_sec_max",
    "total_iops_sec_max",
    "read_iops_sec_max",
    "write_iops_sec_max",
    "size_iops_sec",
)
# Everything XML 1.0 can hold; the rest (NUL, most C0 controls, lone surrogates) is dropped.
_NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def domain_name(uuid: str) -> str:
    """The libvirt domain name of an instance."""
    return f"instance-{uuid}"


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 cannot represent."""
    return _NOT_XML_CHARS.sub("", text)


@dataclass(frozen=True, slots=True)
class Disk:
    """One block device of a domain."""

    path: Path
    format: str  # "qcow2" or "raw"
    bus: str  # a key of DISK_BUSES
    device: str = "disk"  # or "cdrom"
    readonly: bool = False
    boot: bool = False


@dataclass(frozen=True, slots=True)
class VolumeDisk:
    """A volume as the domain sees it, with the cache mode its storage allows."""

    spec: VolumeSpec
    cache: str = "none"  # "writeback" where the volume's file cannot take O_DIRECT


@dataclass(frozen=True, slots=True)
class DomainConfig:
    """Everything that decides a domain's XML."""

    uuid: str
    owner: str
    name: str
    virt_type: str
    vcpus: int
    memory_mb: int
    disks: tuple[Disk, ...]
    console_log: Path
    nics: tuple[NicSpec, ...] = ()
    volumes: tuple[VolumeDisk, ...] = ()
    vif_model: str | None = None  # overrides every NIC's model (image property hw_vif_model)
    root_gb: int = 0
    rescue: bool = False
    cache: str = "none"
    # Run QEMU as this uid:gid without relabelling files (None: libvirt's default user).
    run_as: tuple[int, int] | None = None


def disk_bus(spec: InstanceSpec) -> str:
    """The bus of the instance's disks: image property hw_disk_bus, virtio by default."""
    bus = spec.image_properties.get("hw_disk_bus", "virtio")
    if bus not in DISK_BUSES:
        raise DriverError(f"unsupported hw_disk_bus {bus!r} (supported: {', '.join(DISK_BUSES)})")
    return bus


def vif_model(spec: InstanceSpec) -> str | None:
    """The NIC model from image property hw_vif_model (None: each NIC's own)."""
    model = spec.image_properties.get("hw_vif_model")
    if model is not None and model not in VIF_MODELS:
        known = ", ".join(VIF_MODELS)
        raise DriverError(f"unsupported hw_vif_model {model!r} (supported: {known})")
    return model


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _targets(disks: tuple[Disk, ...], reserved: frozenset[str] = frozenset()) -> list[str]:
    """Device names in order on each bus: vda, vdb... hda, hdb... (a CD-ROM is on IDE).

    Names in `reserved` (the volumes' devices, chosen by the compute service) are skipped.
    """
    used: dict[str, int] = {}
    names = []
    for disk in disks:
        bus = "ide" if disk.device == "cdrom" else disk.bus
        prefix = DISK_BUSES[bus]
        index = used.get(prefix, 0)
        while prefix + chr(ord("a") + index) in reserved:
            index += 1
        used[prefix] = index + 1
        if bus == "ide" and index >= MAX_IDE_DEVICES:
            raise DriverError(f"more than {MAX_IDE_DEVICES} devices on the IDE bus")
        names.append(prefix + chr(ord("a") + index))
    return names


def _metadata(parent: ET.Element, cfg: DomainConfig) -> None:
    # The namespace is declared on our element itself: libvirt keeps each metadata
    # child as a standalone tree, so a declaration on <domain> would be lost.
    meta = _sub(_sub(parent, "metadata"), f"{PREFIX}:instance", **{f"xmlns:{PREFIX}": NAMESPACE})
    _sub(meta, f"{PREFIX}:owner", cfg.owner)
    _sub(meta, f"{PREFIX}:name", xml_safe(cfg.name)[:MAX_NAME_CHARS])
    _sub(meta, f"{PREFIX}:root_gb", str(cfg.root_gb))
    if cfg.rescue:
        _sub(meta, f"{PREFIX}:rescue", "true")


def _cpu(parent: ET.Element, virt_type: str) -> None:
    if virt_type == "kvm":
        _sub(parent, "cpu", mode="host-model")
        return
    # TCG cannot pass the host CPU through; qemu64 is what every TCG build emulates.
    cpu = _sub(parent, "cpu", mode="custom", match="exact", check="none")
    _sub(cpu, "model", "qemu64", fallback="forbid")


def _disks(devices: ET.Element, cfg: DomainConfig) -> None:
    reserved = frozenset(v.spec.target_dev for v in cfg.volumes)
    if len(reserved) != len(cfg.volumes):
        raise DriverError("two volumes of the instance share a device name")
    # Virtio disks are named in the guest by PCI slot, which follows this order: the boot
    # volume first (the guest's vda, as a root disk would be), data volumes last.
    boot = [v for v in cfg.volumes if v.spec.boot_index == 0]
    data = sorted((v for v in cfg.volumes if v.spec.boot_index != 0), key=_device_order)
    for volume in boot:
        _volume(devices, volume)
    for disk, target in zip(cfg.disks, _targets(cfg.disks, reserved), strict=True):
        element = _sub(devices, "disk", type="file", device=disk.device)
        driver = {"name": "qemu", "type": disk.format}
        if disk.device == "disk":
            driver["cache"] = cfg.cache
        _sub(element, "driver", **driver)
        _sub(element, "source", file=str(disk.path))
        _sub(element, "target", dev=target, bus="ide" if disk.device == "cdrom" else disk.bus)
        if disk.readonly:
            _sub(element, "readonly")
        if disk.boot:
            _sub(element, "boot", order="1")
    for volume in data:
        _volume(devices, volume)
    buses = [d.bus for d in cfg.disks] + [v.spec.bus for v in cfg.volumes]
    if "scsi" in buses:
        _sub(devices, "controller", type="scsi", index="0", model="virtio-scsi")


def _device_order(volume: VolumeDisk) -> tuple[int, str]:
    """vdb before vdc, vdz before vdaa."""
    return len(volume.spec.target_dev), volume.spec.target_dev


def _check_volume(volume: VolumeSpec) -> None:
    if volume.kind not in VOLUME_KINDS:
        raise DriverError(f"unsupported volume type {volume.kind!r} of volume {volume.volume_id}")
    if volume.kind == "file" and volume.format not in VOLUME_FORMATS:
        raise DriverError(f"unsupported format {volume.format!r} of volume {volume.volume_id}")
    if volume.bus not in DISK_BUSES or volume.bus == "ide":
        # IDE has no hot-plug, and its four slots belong to the local disks.
        raise DriverError(f"unsupported bus {volume.bus!r} of volume {volume.volume_id}")
    if not volume.target_dev.startswith(DISK_BUSES[volume.bus]) or not volume.target_dev[2:]:
        raise DriverError(f"device {volume.target_dev!r} is not on the {volume.bus} bus")
    for key, value in volume.iotune.items():
        if key not in IOTUNE_KEYS:
            raise DriverError(f"unsupported QoS limit {key!r} of volume {volume.volume_id}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DriverError(f"QoS limit {key} of volume {volume.volume_id} must be >= 0")


def _volume(parent: ET.Element | None, volume: VolumeDisk) -> ET.Element:
    spec = volume.spec
    _check_volume(spec)
    attrs = {"type": spec.kind, "device": "disk"}
    element = ET.Element("disk", attrs) if parent is None else _sub(parent, "disk", **attrs)
    driver = {"name": "qemu", "type": spec.format if spec.kind == "file" else "raw"}
    driver["cache"] = volume.cache
    # Native AIO needs O_DIRECT, which only cache=none gives.
    if volume.cache == "none":
        driver["io"] = "native"
    _sub(element, "driver", **driver)
    if spec.kind == "file":
        _sub(element, "source", file=spec.path)
    else:
        _sub(element, "source", dev=spec.path)
    _sub(element, "target", dev=spec.target_dev, bus=spec.bus)
    # The guest names the disk by it: /dev/disk/by-id/virtio-<first 20 characters>.
    _sub(element, "serial", xml_safe(spec.volume_id))
    if spec.readonly:
        _sub(element, "readonly")
    if spec.iotune:
        iotune = _sub(element, "iotune")
        for key in IOTUNE_KEYS:
            if key in spec.iotune:
                _sub(iotune, key, str(spec.iotune[key]))
    if spec.boot_index is not None and spec.boot_index >= 0:
        _sub(element, "boot", order=str(spec.boot_index + 1))
    return element


def volume_xml(volume: VolumeDisk) -> str:
    """One <disk> for hot-plugging a volume, as the domain definition has it."""
    return ET.tostring(_volume(None, volume), encoding="unicode")


def _interface(parent: ET.Element | None, nic: NicSpec, model: str) -> ET.Element:
    if model not in VIF_MODELS:
        raise DriverError(f"unsupported NIC model {model!r}")
    if parent is None:
        element = ET.Element("interface", type="bridge")
    else:
        element = _sub(parent, "interface", type="bridge")
    _sub(element, "mac", address=nic.mac)
    _sub(element, "source", bridge=nic.bridge)
    _sub(element, "target", dev=nic.tap)
    _sub(element, "model", type=model)
    _sub(element, "mtu", size=str(nic.mtu))
    return element


def _nics(devices: ET.Element, cfg: DomainConfig) -> None:
    for nic in cfg.nics:
        _interface(devices, nic, cfg.vif_model or nic.model)


def interface_xml(nic: NicSpec, model: str) -> str:
    """One <interface> for hot-plugging `nic`, as the domain definition has it."""
    return ET.tostring(_interface(None, nic, model), encoding="unicode")


def interface_models(text: str) -> list[str]:
    """The NIC models of a domain's XML, in order."""
    root = ET.fromstring(text)
    return [m.get("type", "") for m in root.iterfind("devices/interface/model")]


def build_domain_xml(cfg: DomainConfig) -> str:
    """The domain definition for `cfg`."""
    if cfg.virt_type not in VIRT_TYPES:
        raise DriverError(f"unknown virt type {cfg.virt_type!r}")
    domain = ET.Element("domain", type=cfg.virt_type)
    _sub(domain, "name", domain_name(cfg.uuid))
    _sub(domain, "uuid", cfg.uuid)
    _sub(domain, "description", xml_safe(cfg.name)[:MAX_NAME_CHARS])
    _metadata(domain, cfg)
    _sub(domain, "memory", str(cfg.memory_mb), unit="MiB")
    _sub(domain, "vcpu", str(cfg.vcpus))
    # i440fx: it still has the IDE controller that CD-ROM config drives sit on.
    _sub(_sub(domain, "os"), "type", "hvm", arch="x86_64", machine="pc")
    features = _sub(domain, "features")
    _sub(features, "acpi")  # without it there is no power button, so no clean shutdown
    _sub(features, "apic")
    _cpu(domain, cfg.virt_type)
    _sub(domain, "clock", offset="utc")
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")
    devices = _sub(domain, "devices")
    _disks(devices, cfg)
    _nics(devices, cfg)
    serial = _sub(devices, "serial", type="pty")
    # virtlogd writes the log, so it survives QEMU restarts and is rotated for us.
    _sub(serial, "log", file=str(cfg.console_log), append="on")
    _sub(serial, "target", port="0")
    _sub(_sub(devices, "console", type="pty"), "target", type="serial", port="0")
    graphics = _sub(devices, "graphics", type="vnc", autoport="yes", listen="127.0.0.1")
    _sub(graphics, "listen", type="address", address="127.0.0.1")
    _sub(_sub(devices, "rng", model="virtio"), "backend", "/dev/urandom", model="random")
    _sub(_sub(devices, "memballoon", model="virtio"), "stats", period="10")
    if cfg.run_as is not None:
        uid, gid = cfg.run_as
        label = _sub(domain, "seclabel", type="static", model="dac", relabel="no")
        _sub(label, "label", f"+{uid}:+{gid}")
    return ET.tostring(domain, encoding="unicode")


# -- reading domains back ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DomainView:
    """What the driver needs to know about a defined domain."""

    owner: str | None
    name: str
    root_gb: int
    rescue: bool
    disks: tuple[tuple[str, str, str], ...]  # (target dev, device kind, source file)
    nics: tuple[tuple[str, str], ...]  # (mac, tap)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_metadata(element: ET.Element | None) -> tuple[str | None, str, int, bool]:
    """(owner, name, root_gb, rescue) from our metadata element (namespaced or not)."""
    if element is None:
        return None, "", 0, False
    fields = {_local(child.tag): (child.text or "") for child in element}
    owner = fields.get("owner", "").strip() or None
    root_gb = fields.get("root_gb", "0").strip()
    return (
        owner,
        fields.get("name", ""),
        int(root_gb) if root_gb.isdigit() else 0,
        fields.get("rescue", "").strip() == "true",
    )


def owner_from_metadata(text: str) -> str | None:
    """The owner in what libvirt's metadata API returns for our namespace.

    libvirt hands the element back without its namespace (it was asked for ours).
    """
    try:
        element = ET.fromstring(text)
    except ET.ParseError:
        return None
    if _local(element.tag) != "instance":
        return None
    return read_metadata(element)[0]


def _attr(parent: ET.Element, path: str, name: str) -> str:
    element = parent.find(path)
    return "" if element is None else element.get(name, "")


def _source(disk: ET.Element) -> str:
    """A disk's file, or its device for a block volume."""
    return _attr(disk, "source", "file") or _attr(disk, "source", "dev")


def disk_at(text: str, target_dev: str) -> tuple[str, str] | None:
    """(the <disk> element, its serial) at `target_dev` in a domain's XML; None if absent."""
    for disk in ET.fromstring(text).iterfind("devices/disk"):
        if _attr(disk, "target", "dev") == target_dev:
            return ET.tostring(disk, encoding="unicode"), disk.findtext("serial") or ""
    return None


def serial_pty(text: str) -> str | None:
    """The pseudo-terminal of a running domain's first serial port (live XML only)."""
    source = ET.fromstring(text).find("devices/serial[@type='pty']/source")
    return None if source is None else source.get("path")


def parse_domain_xml(text: str) -> DomainView:
    """Our metadata, disks and NICs of a domain's XML description."""
    root = ET.fromstring(text)
    owner, name, root_gb, rescue = read_metadata(root.find(f"metadata/{{{NAMESPACE}}}instance"))
    disks = tuple(
        (_attr(disk, "target", "dev"), disk.get("device", "disk"), _source(disk))
        for disk in root.iterfind("devices/disk")
    )
    nics = tuple(
        (_attr(nic, "mac", "address"), _attr(nic, "target", "dev"))
        for nic in root.iterfind("devices/interface")
    )
    return DomainView(owner, name, root_gb, rescue, disks, nics)
