"""What the host offers and how a guest is doing (blocking; run in worker threads)."""

from __future__ import annotations

import contextlib
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import libvirt

from stackling.compute.drivers.base import HostInfo, PowerState
from stackling.compute.drivers.libvirt.disks import GIB
from stackling.compute.drivers.libvirt.domains import has_save, to_power_state
from stackling.compute.drivers.libvirt.xml import DomainView

QEMU_PID_DIR = Path("/run/libvirt/qemu")
# Nova's names for power states in diagnostics (nova.compute.power_state.STATE_MAP).
STATE_NAMES = {
    PowerState.NOSTATE: "pending",
    PowerState.RUNNING: "running",
    PowerState.PAUSED: "paused",
    PowerState.SHUTDOWN: "shutdown",
    PowerState.CRASHED: "crashed",
    PowerState.SUSPENDED: "suspended",
}


def host_info(conn: libvirt.virConnect, hostname: str, instances_dir: Path) -> HostInfo:
    """The host's CPUs, memory and instance disk space, as libvirt and the filesystem see them."""
    _model, memory_mb, cpus, _mhz, cells, sockets, cores, threads = conn.getInfo()
    cpu = ET.fromstring(conn.getCapabilities()).find("host/cpu")
    cpu_info: dict[str, Any] = {
        "topology": {"cells": cells, "sockets": sockets, "cores": cores, "threads": threads}
    }
    if cpu is not None:
        cpu_info.update(
            arch=cpu.findtext("arch"),
            model=cpu.findtext("model"),
            vendor=cpu.findtext("vendor"),
            features=sorted(f.get("name", "") for f in cpu.iterfind("feature")),
        )
    return HostInfo(
        hostname=hostname,
        vcpus=cpus,
        memory_mb=memory_mb,
        disk_gb=shutil.disk_usage(instances_dir).total // GIB,
        # Nova reports libvirt's connection type, QEMU, for KVM and TCG guests alike.
        hypervisor_type=conn.getType(),
        hypervisor_version=conn.getVersion(),
        cpu_info=cpu_info,
    )


def _uptime(dom: libvirt.virDomain) -> int:
    """Seconds since the guest's QEMU process started (0 when that cannot be told)."""
    try:
        pid = int((QEMU_PID_DIR / f"{dom.name()}.pid").read_text().strip())
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        since_boot = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(int(since_boot - started), 0)


def _disk_stats(dom: libvirt.virDomain, target: str, active: bool) -> dict[str, int]:
    stats = (0, 0, 0, 0, 0)
    if active:
        # An empty CD-ROM drive has no statistics.
        with contextlib.suppress(libvirt.libvirtError):
            stats = dom.blockStats(target)
    rd_req, rd_bytes, wr_req, wr_bytes, errors = stats
    return {
        "read_bytes": rd_bytes,
        "read_requests": rd_req,
        "write_bytes": wr_bytes,
        "write_requests": wr_req,
        "errors_count": max(errors, 0),
    }


def _nic_stats(dom: libvirt.virDomain, mac: str, tap: str, active: bool) -> dict[str, Any]:
    stats = (0, 0, 0, 0, 0, 0, 0, 0)
    if active and tap:
        with contextlib.suppress(libvirt.libvirtError):
            stats = dom.interfaceStats(tap)
    rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop = stats
    return {
        "mac_address": mac,
        "rx_octets": rx_bytes,
        "rx_errors": rx_errs,
        "rx_drop": rx_drop,
        "rx_packets": rx_packets,
        "rx_rate": None,
        "tx_octets": tx_bytes,
        "tx_errors": tx_errs,
        "tx_drop": tx_drop,
        "tx_packets": tx_packets,
        "tx_rate": None,
    }


def diagnostics(dom: libvirt.virDomain, view: DomainView, virt_type: str) -> dict[str, Any]:
    """Nova's server diagnostics (microversion 2.48 format) of a domain."""
    state, max_kib, used_kib, num_cpus, _cpu_time = dom.info()
    active = bool(dom.isActive())
    power = to_power_state(state, not active and has_save(dom))
    cpu_details = []
    if active:
        vcpus, _pinning = dom.vcpus()
        cpu_details = [{"id": n, "time": t, "utilisation": None} for n, _s, t, _c in vcpus]
    disk_details = [_disk_stats(dom, target, active) for target, _, _ in view.disks]
    nic_details = [_nic_stats(dom, mac, tap, active) for mac, tap in view.nics]
    return {
        "state": STATE_NAMES.get(power, "pending"),
        "driver": "libvirt",
        "hypervisor": virt_type,
        "hypervisor_os": "linux",
        "uptime": _uptime(dom) if active else 0,
        "config_drive": any(device == "cdrom" and src for _, device, src in view.disks),
        "num_cpus": num_cpus,
        "num_disks": len(disk_details),
        "num_nics": len(nic_details),
        "memory_details": {"maximum": max_kib // 1024, "used": used_kib // 1024 if active else 0},
        "cpu_details": cpu_details,
        "nic_details": nic_details,
        "disk_details": disk_details,
    }
