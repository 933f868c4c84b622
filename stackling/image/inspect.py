"""Image safety inspection: is the data what its disk_format says, and is it self-contained?

Glance's format inspector and Nova's image checks exist because a disk image is
not just bytes: a qcow2 can name a backing file or an external data file and a
vmdk descriptor can name extents, and a hypervisor that opens such an image
reads those host files for the guest. A file uploaded as `raw` but really
qcow2 is the classic way in. So before an image becomes `active` we:

1. read its first bytes ourselves and refuse qcow2 headers that name a backing
   or data file and vmdk text descriptors (they only ever point at other
   files), so that qemu-img never even opens what they name;
2. run `qemu-img info` with format probing, under memory/CPU limits and a
   timeout (qemu-img parsing hostile input is a known attack surface), and
   refuse anything it reports as referring outside the file;
3. compare what the data is with the declared disk_format;
4. run `qemu-img check` on formats that have metadata to check, because
   `qemu-img info` happily describes a qcow2 whose tables point past its end.

Reasons given to users never contain server paths: the stored file's path is
ours, not theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

# Nova's QEMU_IMG_LIMITS: enough for any honest header, too little for a
# crafted one to take the host down.
_ADDRESS_SPACE = 1 << 30
_CPU_SECONDS = 30
# Wall clock on top of CPU time: a process blocked on I/O uses no CPU.
_TIMEOUT_S = 60.0

# Enough for every header we parse and for the ISO 9660 volume descriptor at 32 KiB.
_HEAD_BYTES = 64 * 1024

# qemu's names for the formats Glance spells differently.
_QEMU_TO_GLANCE = {"vpc": "vhd", "parallels": "ploop"}
_GLANCE_TO_QEMU = {glance: qemu for qemu, glance in _QEMU_TO_GLANCE.items()}

# Glance formats whose content is a plain byte-for-byte disk (or kernel/ramdisk).
_RAW_LIKE = frozenset({"raw", "ami", "ari", "aki"})
# Glance formats qemu-img detects by their own magic, so the data must match exactly.
_STRUCTURED = frozenset({"qcow2", "vmdk", "vdi", "vhd", "vhdx", "ploop"})
# Formats `qemu-img check` can verify (vpc has no checker: it exits 63).
_CHECKABLE = frozenset({"qcow2", "vmdk", "vdi", "vhdx", "ploop", "qed"})

# The only vmdk layouts that keep all their data in the one file.
_VMDK_SELF_CONTAINED = frozenset({"monolithicSparse", "streamOptimized"})

# ISO 9660 primary volume descriptor ("CD001") or a UDF volume recognition
# sequence ("BEA01"), both at byte 1 of sector 16 (2 KiB sectors).
_ISO_SIGNATURE_OFFSET = 0x8001
_ISO_SIGNATURES = (b"CD001", b"BEA01")

_ABSOLUTE_PATH = re.compile(r"(^|[\s'\"(=])/")

_QCOW_MAGIC = b"QFI\xfb"
_QCOW2_INCOMPAT_DATA_FILE = 1 << 2

_QEMU_IMG_CHECK_LEAKS_ONLY = 3
_QEMU_IMG_CHECK_CORRUPT = 2
_QEMU_IMG_CHECK_UNSUPPORTED = 63


@dataclass(frozen=True, slots=True)
class Inspection:
    """What an image's data really is."""

    format: str  # in Glance disk_format terms: raw, qcow2, vmdk, vdi, vhd, vhdx, iso, ...
    virtual_size: int | None


class ImageRefused(Exception):
    """The image is unsafe or not what it claims to be; `reason` is safe to show the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def inspect_image(path: Path, declared_format: str | None) -> Inspection:
    """Inspect the image at path, refusing it unless it is safe and matches declared_format."""
    declared = declared_format.lower() if declared_format else None
    head = await asyncio.to_thread(_read_head, path)
    _refuse_dangerous_headers(head)

    info = await _qemu_img_info(path, declared)
    detected = _QEMU_TO_GLANCE.get(str(info.get("format")), str(info.get("format")))
    _refuse_external_references(detected, info)

    iso = _has_iso_signature(head)
    if iso and detected != "raw":
        # An ISO's 32 KiB system area can hold another format's header: such a
        # polyglot is one thing to a checker and another to whoever boots it.
        raise ImageRefused(f"Image data matches more than one format (iso and {detected})")
    actual = "iso" if iso else detected
    _check_declared(declared, actual)

    if actual in _CHECKABLE:
        await _qemu_img_check(path, actual)
    size = info.get("virtual-size")
    return Inspection(format=actual, virtual_size=size if isinstance(size, int) else None)


def _read_head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(_HEAD_BYTES)


def _refuse_dangerous_headers(head: bytes) -> None:
    """Refuse, from the raw bytes, images whose opening would make qemu-img open other files."""
    if head.startswith(_QCOW_MAGIC) and len(head) >= 20:
        version, backing_offset = struct.unpack_from(">IQ", head, 4)
        # Versions beyond 3 do not exist; qemu-img refuses them and we report that.
        if version in (1, 2, 3):
            name = "qcow" if version == 1 else "qcow2"
            if backing_offset:
                raise _references(name, "a backing file")
            if version == 3 and len(head) >= 80:
                (incompatible,) = struct.unpack_from(">Q", head, 72)
                if incompatible & _QCOW2_INCOMPAT_DATA_FILE:
                    raise _references(name, "an external data file")
    if _is_vmdk_descriptor(head):
        raise ImageRefused(
            "vmdk descriptor files keep their data in other files; "
            "upload a monolithicSparse or streamOptimized vmdk"
        )


def _is_vmdk_descriptor(head: bytes) -> bool:
    """Mirror qemu's vmdk probe: the first line that is not a comment or blank is version=1|2|3."""
    # qemu only probes the first 2 KiB, so a descriptor it would detect starts there.
    for raw_line in head[:2048].split(b"\n"):
        line = raw_line.rstrip(b"\r")
        if line.startswith(b"#") or not line.strip(b" "):
            continue
        return line in (b"version=1", b"version=2", b"version=3")
    return False


def _refuse_external_references(fmt: str, info: dict[str, Any]) -> None:
    """Refuse what qemu-img reports as reading data from outside the image file."""
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise _references(fmt, "a backing file")
    specific = info.get("format-specific")
    data = specific.get("data") if isinstance(specific, dict) else None
    data = data if isinstance(data, dict) else {}
    if data.get("data-file"):
        raise _references(fmt, "an external data file")
    if fmt != "vmdk":
        return
    create_type = data.get("create-type")
    if create_type not in _VMDK_SELF_CONTAINED:
        raise ImageRefused(
            f"vmdk images of type {_printable(create_type)} are not accepted; "
            "upload a monolithicSparse or streamOptimized vmdk"
        )
    extents = data.get("extents")
    if not isinstance(extents, list) or not extents:
        raise ImageRefused("vmdk image extents could not be verified")
    own_name = info.get("filename")
    for extent in extents:
        if not isinstance(extent, dict) or extent.get("filename") != own_name:
            raise _references("vmdk", "extents in other files")


def _check_declared(declared: str | None, actual: str) -> None:
    """Refuse data that is not what the declared disk_format says."""
    if declared is None:
        return
    if declared in _RAW_LIKE:
        # A raw disk that happens to be an ISO is still a faithful raw disk.
        ok = actual in ("raw", "iso")
    elif declared == "iso" or declared in _STRUCTURED:
        ok = actual == declared
    else:
        # A format qemu-img cannot recognise is opaque to us: qemu sees it as
        # raw. Accept it then, since it will be handed to tools that know it,
        # but never when qemu recognises it as something else, because
        # something else is then how qemu would open it.
        ok = actual == "raw"
    if not ok:
        raise ImageRefused(f"Image is declared {declared} but its data is {actual}")


async def _qemu_img_info(path: Path, declared: str | None) -> dict[str, Any]:
    # No -f: we want qemu's own opinion of the data, not to be told what it is.
    rc, out, err = await _run_qemu_img("info", "--output=json", "--force-share", str(path))
    if rc != 0:
        LOG.info("qemu-img info refused %s: %s", path, err.strip())
        reason = _qemu_reason(err, path)
        if declared in _STRUCTURED:
            raise ImageRefused(f"Image is declared {declared} but could not be read: {reason}")
        raise ImageRefused(f"Image could not be read: {reason}")
    try:
        info = json.loads(out)
    except ValueError:
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("format"), str):
        raise ImageRefused("Image could not be inspected")
    return info


async def _qemu_img_check(path: Path, fmt: str) -> None:
    qemu_fmt = _GLANCE_TO_QEMU.get(fmt, fmt)
    rc, _, err = await _run_qemu_img("check", "--force-share", "-f", qemu_fmt, str(path))
    if rc in (0, _QEMU_IMG_CHECK_LEAKS_ONLY, _QEMU_IMG_CHECK_UNSUPPORTED):
        # Leaked clusters waste space but read correctly.
        return
    LOG.info("qemu-img check refused %s (exit %d): %s", path, rc, err.strip())
    if rc == _QEMU_IMG_CHECK_CORRUPT:
        raise ImageRefused(f"{fmt} image is corrupt")
    raise ImageRefused(f"{fmt} image could not be checked: {_qemu_reason(err, path)}")


async def _run_qemu_img(*args: str) -> tuple[int, str, str]:
    """Run qemu-img with fixed arguments, no shell, under resource limits and a timeout."""
    qemu_img = shutil.which("qemu-img")
    if qemu_img is None:
        raise RuntimeError("qemu-img not found: install qemu-utils to inspect images")
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        raise RuntimeError("prlimit not found: install util-linux to inspect images")
    # prlimit rather than a preexec_fn: preexec_fn is unsafe once threads exist.
    argv = [prlimit, f"--as={_ADDRESS_SPACE}", f"--cpu={_CPU_SECONDS}", "--", qemu_img, *args]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(_TIMEOUT_S):
            out, err = await proc.communicate()
    except TimeoutError:
        raise ImageRefused("Image inspection took too long") from None
    finally:
        # Timed out or cancelled: never leave qemu-img running behind us.
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    rc = proc.returncode
    assert rc is not None
    if rc < 0:
        # Killed by a signal: the CPU limit (SIGXCPU/SIGKILL) or a crash.
        raise ImageRefused("Image inspection exceeded its resource limits")
    return rc, out.decode(errors="replace"), err.decode(errors="replace")


def _qemu_reason(stderr: str, path: Path) -> str:
    """qemu-img's reason for an error, without the file name it is wrapped in."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    # qemu-img: Could not open '<path>': <reason>
    reason = lines[-1].rsplit("': ", 1)[-1].strip()
    # Anything that looks like an absolute path may be one of ours.
    if str(path.parent) in reason or _ABSOLUTE_PATH.search(reason):
        return "unreadable image data"
    return reason


def _has_iso_signature(head: bytes) -> bool:
    at = _ISO_SIGNATURE_OFFSET
    return head[at : at + 5] in _ISO_SIGNATURES


def _references(fmt: str, what: str) -> ImageRefused:
    return ImageRefused(f"{fmt} image has {what}; images must not reference other files")


def _printable(value: object) -> str:
    """Echo a header field back only if it cannot carry anything surprising."""
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", value):
        return value
    return "unknown"
