"""Does KVM actually work on this host? Boot a 512-byte guest under it and see.

/dev/kvm existing proves little: on some nested or paravirtualised hosts (KVM over
PVM, for one) real mode is emulated and works, and a guest then dies or hangs at
its first protected-mode interrupt return, which every boot loader reaches. The
probe guest therefore switches to 32-bit protected mode and executes an IRET
before it writes its marker to the serial port; KVM is used only if the marker
arrives, within a hard deadline, with the whole QEMU process group killed after.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import signal
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

LOG = logging.getLogger(__name__)

MARKER = b"KVMOK"
FAILURE = b"KVM internal error"
PROBE_TIMEOUT_S = 5.0
QEMU = "qemu-system-x86_64"
CACHE_FILE = "virt_type.json"
_LOAD_ADDRESS = 0x7C00
_GDT_OFFSET = 0x48


def _boot_sector_code(msg_address: int, gdt_descriptor: int) -> bytes:
    """Real mode -> protected mode -> IRET -> print the NUL-terminated string -> halt."""
    a = _LOAD_ADDRESS
    return b"".join(
        [
            # 16-bit real mode
            b"\xfa",  # cli
            b"\x31\xc0",  # xor ax, ax
            b"\x8e\xd8",  # mov ds, ax
            b"\x8e\xd0",  # mov ss, ax
            b"\xbc" + struct.pack("<H", a),  # mov sp, 0x7c00
            b"\x0f\x01\x16" + struct.pack("<H", gdt_descriptor),  # lgdt [gdt_descriptor]
            b"\x0f\x20\xc0",  # mov eax, cr0
            b"\x0c\x01",  # or al, 1 (PE)
            b"\x0f\x22\xc0",  # mov cr0, eax
            b"\xea" + struct.pack("<HH", a + 0x1C, 0x08),  # jmp 0x08:pm32 (offset 0x1c)
            # 32-bit protected mode (offset 0x1c)
            b"\x66\xb8\x10\x00",  # mov ax, 0x10 (flat data segment)
            b"\x8e\xd8",  # mov ds, ax
            b"\x8e\xc0",  # mov es, ax
            b"\x8e\xd0",  # mov ss, ax
            b"\xbc" + struct.pack("<I", a),  # mov esp, 0x7c00
            # The instruction broken KVM hosts cannot run: return to the next one via IRET.
            b"\x9c",  # pushfd
            b"\x6a\x08",  # push 0x08 (code segment)
            b"\x68" + struct.pack("<I", a + 0x34),  # push offset 0x34
            b"\xcf",  # iretd
            # offset 0x34: write the string to COM1
            b"\x66\xba\xf8\x03",  # mov dx, 0x3f8
            b"\xbe" + struct.pack("<I", msg_address),  # mov esi, msg
            b"\xac",  # lodsb
            b"\x84\xc0",  # test al, al
            b"\x74\x03",  # jz +3 (to hlt)
            b"\xee",  # out dx, al
            b"\xeb\xf8",  # jmp -8 (to lodsb)
            b"\xf4",  # hlt
            b"\xeb\xfd",  # jmp -3 (to hlt)
        ]
    )


def boot_sector(marker: bytes = MARKER) -> bytes:
    """A 512-byte MBR that prints `marker` on COM1 from 32-bit protected mode after an IRET."""
    gdt = struct.pack("<QQQ", 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF)  # null, code, data
    gdt_descriptor = _GDT_OFFSET + len(gdt)
    msg = gdt_descriptor + 6
    code = _boot_sector_code(_LOAD_ADDRESS + msg, _LOAD_ADDRESS + gdt_descriptor)
    assert len(code) <= _GDT_OFFSET, len(code)
    text = marker + b"\r\n\0"
    body = code.ljust(_GDT_OFFSET, b"\0") + gdt
    body += struct.pack("<HI", len(gdt) - 1, _LOAD_ADDRESS + _GDT_OFFSET) + text
    if len(body) > 510:
        raise ValueError("marker too long for a boot sector")
    return body.ljust(510, b"\0") + b"\x55\xaa"


def probe_argv(accel: str, image: Path) -> list[str]:
    """The QEMU command line that boots the probe sector under `accel`."""
    return [
        QEMU,
        "-accel",
        accel,
        "-machine",
        "pc",
        "-m",
        "16",
        "-nodefaults",
        "-nographic",
        "-no-reboot",
        "-serial",
        "stdio",
        "-display",
        "none",
        "-drive",
        f"file={image},format=raw,if=ide",
    ]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Whether the probe guest printed its marker, and what was seen instead."""

    ok: bool
    detail: str


def run_probe(accel: str = "kvm", timeout_s: float = PROBE_TIMEOUT_S) -> ProbeResult:
    """Boot the probe guest under `accel`; blocking, never longer than about `timeout_s`."""
    with tempfile.TemporaryDirectory(prefix="stackling-kvm-probe-") as tmp:
        image = Path(tmp) / "boot.img"
        image.write_bytes(boot_sector())
        try:
            proc = subprocess.Popen(
                probe_argv(accel, image),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as a whole
            )
        except OSError as exc:
            return ProbeResult(False, f"cannot run {QEMU}: {exc}")
        seen = b""
        try:
            assert proc.stdout is not None
            deadline = time.monotonic() + timeout_s
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)
                while MARKER not in seen and (left := deadline - time.monotonic()) > 0:
                    if not sel.select(left):
                        continue
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    seen += chunk
                    if FAILURE in seen:
                        # QEMU stops the guest but stays up: the register dump is all to come.
                        deadline = min(deadline, time.monotonic() + 0.3)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
    if MARKER in seen:
        return ProbeResult(True, "the probe guest ran")
    lines = [line.strip() for line in seen.decode(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "failure" in line.lower()]
    why = "; ".join(errors[:2] or lines[-2:]) or "no output"
    if FAILURE in seen:
        return ProbeResult(False, f"the probe guest failed: {why}")
    if proc.returncode is not None and proc.returncode > 0:
        return ProbeResult(False, f"qemu exited with {proc.returncode}: {why}")
    return ProbeResult(False, f"no marker within {timeout_s:g}s: {why}")


def _host_key() -> str:
    """Identifies this boot of this host: a cached answer is good until the next reboot."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


_lock = threading.Lock()
_cached: dict[str, str] = {}


def _load(state_dir: Path | None) -> str | None:
    if state_dir is None:
        return None
    try:
        data = json.loads((state_dir / CACHE_FILE).read_text())
    except (OSError, ValueError):
        return None
    if data.get("host") == _host_key() and data.get("virt_type") in ("kvm", "qemu"):
        return str(data["virt_type"])
    return None


def _save(state_dir: Path | None, virt_type: str, reason: str) -> None:
    if state_dir is None:
        return
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        tmp = state_dir / f".{CACHE_FILE}.tmp"
        tmp.write_text(json.dumps({"host": _host_key(), "virt_type": virt_type, "why": reason}))
        tmp.replace(state_dir / CACHE_FILE)
    except OSError as exc:
        LOG.warning("cannot cache the virt type in %s: %s", state_dir, exc)


def detect_virt_type(state_dir: Path | None = None) -> str:
    """ "kvm" if a KVM guest really runs here, else "qemu" (TCG); probed once per process."""
    with _lock:
        if "auto" in _cached:
            return _cached["auto"]
        virt_type = _load(state_dir)
        if virt_type is not None:
            LOG.info("virt type %s (probed earlier this boot, cached in %s)", virt_type, state_dir)
        elif not os.access("/dev/kvm", os.R_OK | os.W_OK):
            virt_type = "qemu"
            LOG.info("virt type qemu (TCG): /dev/kvm is not usable")
            _save(state_dir, virt_type, "/dev/kvm is not usable")
        else:
            result = run_probe("kvm")
            virt_type = "kvm" if result.ok else "qemu"
            reason = result.detail
            LOG.info("virt type %s: KVM probe: %s", "kvm" if result.ok else "qemu (TCG)", reason)
            _save(state_dir, virt_type, reason)
        _cached["auto"] = virt_type
        return virt_type
