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

from stackling.compute.drivers.base import DriverError, InstanceSpec, NicSpec

NAMESPACE = "https://stackling.dev/xmlns/compute/1"
PREFIX = "stackling"
VIRT_TYPES = ("kvm", "qemu")
# Image property hw_disk_bus -> the target device prefix libvirt expects for it.
DISK_BUSES = {"virtio": "vd", "scsi": "sd", "sata": "sd", "ide": "hd"}
VIF_MODELS = ("virtio", "e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet")
# The i440fx IDE controller has two channels of two devices.
MAX_IDE_DEVICES = 4
MAX_NAME_CHARS = 255
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


def _targets(disks: tuple[Disk, ...]) -> list[str]:
    """Device names in order on each bus: vda, vdb... hda, hdb... (a CD-ROM is on IDE)."""
    used: dict[str, int] = {}
    names = []
    for disk in disks:
        bus = "ide" if disk.device == "cdrom" else disk.bus
        prefix = DISK_BUSES[bus]
        index = used.get(prefix, 0)
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
    for disk, target in zip(cfg.disks, _targets(cfg.disks), strict=True):
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
    if any(d.bus == "scsi" for d in cfg.disks):
        _sub(devices, "controller", type="scsi", index="0", model="virtio-scsi")


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


def serial_pty(text: str) -> str | None:
    """The pseudo-terminal of a running domain's first serial port (live XML only)."""
    source = ET.fromstring(text).find("devices/serial[@type='pty']/source")
    return None if source is None else source.get("path")


def parse_domain_xml(text: str) -> DomainView:
    """Our metadata, disks and NICs of a domain's XML description."""
    root = ET.fromstring(text)
    owner, name, root_gb, rescue = read_metadata(root.find(f"metadata/{{{NAMESPACE}}}instance"))
    disks = tuple(
        (_attr(disk, "target", "dev"), disk.get("device", "disk"), _attr(disk, "source", "file"))
        for disk in root.iterfind("devices/disk")
    )
    nics = tuple(
        (_attr(nic, "mac", "address"), _attr(nic, "target", "dev"))
        for nic in root.iterfind("devices/interface")
    )
    return DomainView(owner, name, root_gb, rescue, disks, nics)
