"""A point-in-time copy of a volume file that a running libvirt guest has open.

qemu-img cannot read an image a running guest holds (QEMU's image lock, and the
guest's writes in flight would make the copy inconsistent anyway), so the copy
is made by the guest's own QEMU: a transient block-copy job mirrors the disk
into the destination, and aborting the job once it is ready (without pivoting)
leaves the destination as the disk was at that moment, the guest untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from stackling.volume.drivers.base import BackendError

if TYPE_CHECKING:
    import libvirt

URI = "qemu:///system"
TIMEOUT_S = 3600.0
POLL_S = 0.2


def _disk_target(domain_xml: str, path: Path) -> tuple[str, bool] | None:
    """The target dev of the file disk whose source is `path`, and whether its mirror is ready."""
    root = ET.fromstring(domain_xml)
    for disk in root.iterfind("./devices/disk"):
        source = disk.find("source")
        target = disk.find("target")
        if source is None or target is None or source.get("file") != str(path):
            continue
        mirror = disk.find("mirror")
        return target.get("dev", ""), mirror is not None and mirror.get("ready") == "yes"
    return None


def _copy(uri: str, source: Path, dest: Path, timeout_s: float) -> bool:
    """Blocking: copy through the guest holding `source`; False when no running guest does."""
    import libvirt

    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError:
        return False
    try:
        for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            found = _disk_target(dom.XMLDesc(0), source)
            if found is not None:
                _mirror(dom, found[0], source, dest, timeout_s)
                return True
        return False
    finally:
        conn.close()


def _mirror(dom: libvirt.virDomain, disk: str, source: Path, dest: Path, timeout_s: float) -> None:
    """Run the block-copy job until ready, then abort it, which keeps the copy as it is."""
    import libvirt

    dest_xml = (
        f"<disk type='file'><source file={quoteattr(str(dest))}/><driver type='qcow2'/></disk>"
    )
    try:
        dom.blockCopy(disk, dest_xml, flags=libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB)
    except libvirt.libvirtError as exc:
        raise BackendError(f"live copy of {source}: blockCopy failed: {exc}") from exc
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            info = dom.blockJobInfo(disk, 0)
            if not info:
                raise BackendError(f"live copy of {source}: the block job vanished")
            found = _disk_target(dom.XMLDesc(0), source)
            ready = found is not None and found[1]
            if ready and info.get("cur") == info.get("end"):
                break
            if time.monotonic() > deadline:
                raise BackendError(f"live copy of {source} timed out after {timeout_s:g}s")
            time.sleep(POLL_S)
    except BaseException:
        # Never leave a mirror running on the guest's disk.
        with contextlib.suppress(libvirt.libvirtError):
            dom.blockJobAbort(disk, 0)
        raise
    try:
        dom.blockJobAbort(disk, 0)
    except libvirt.libvirtError as exc:
        raise BackendError(f"live copy of {source}: blockJobAbort failed: {exc}") from exc


async def copy(source: Path, dest: Path, *, uri: str = URI, timeout_s: float = TIMEOUT_S) -> bool:
    """Copy `source` into `dest` (qcow2) through the running guest that has it open.

    False when no running guest on `uri` has it open (or libvirt is not there).
    """
    return await asyncio.to_thread(_copy, uri, source, dest, timeout_s)
