"""A BIOS-bootable disk (MBR + one FAT partition booted by syslinux), made without mounting.

The FAT file system is built in its own file (mkfs.fat, syslinux and mtools all work on
plain files), then copied behind an MBR written here; no loop device, no root needed.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

from stackling.image.testimage.debs import run_tool
from stackling.image.testimage.errors import TestImageBuildError

SECTOR = 512
MIB = 1 << 20
PARTITION_START_SECTOR = 2048  # 1 MiB, the usual alignment
FAT16_LBA = 0x0E
MIN_PARTITION_MIB = 63
MBR_CANDIDATES = (Path("/usr/lib/syslinux/mbr/mbr.bin"), Path("/usr/share/syslinux/mbr.bin"))

# Debian package that provides each tool, for the error message.
TOOLS = {
    "mkfs.fat": "dosfstools",
    "syslinux": "syslinux",
    "mcopy": "mtools",
    "qemu-img": "qemu-utils",
}


def check_tools() -> None:
    """Fail early, naming the Debian packages to install, if a disk tool is missing."""
    missing = {tool: pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None}
    if _mbr_code_path() is None:
        missing["mbr.bin"] = "syslinux-common"
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        missing["apt-get/dpkg-deb"] = "apt"
    if missing:
        packages = " ".join(sorted(set(missing.values())))
        raise TestImageBuildError(
            f"missing {', '.join(sorted(missing))}: run `apt-get install {packages}` "
            "(or `make install`, which installs them)"
        )


def _mbr_code_path() -> Path | None:
    return next((p for p in MBR_CANDIDATES if p.is_file()), None)


def _chs(lba: int) -> bytes:
    # Legacy CHS for a 255-head, 63-sector geometry; clamped as every tool does past 8 GB.
    cylinder, rest = divmod(lba, 255 * 63)
    head, sector = divmod(rest, 63)
    if cylinder > 1023:
        cylinder, head, sector = 1023, 254, 62
    return bytes([head, ((sector + 1) & 0x3F) | ((cylinder >> 2) & 0xC0), cylinder & 0xFF])


def mbr(boot_code: bytes, start_sector: int, sectors: int, part_type: int = FAT16_LBA) -> bytes:
    """A 512-byte MBR: `boot_code` (at most 440 bytes) and one active partition."""
    if len(boot_code) > 440:
        boot_code = boot_code[:440]
    end = start_sector + sectors - 1
    entry = (
        b"\x80"
        + _chs(start_sector)
        + bytes([part_type])
        + _chs(end)
        + struct.pack("<II", start_sector, sectors)
    )
    # 0x5354434b ("STCK"): a fixed disk signature keeps the image reproducible.
    head = boot_code.ljust(440, b"\0") + struct.pack("<I", 0x5354434B) + b"\0\0"
    return head + entry + b"\0" * 48 + b"\x55\xaa"


def syslinux_config(append: str) -> str:
    """syslinux.cfg booting /vmlinuz with /initrd.gz at once, on the serial port too."""
    return (
        "SERIAL 0 115200\n"
        "DEFAULT linux\n"
        "PROMPT 0\n"
        "TIMEOUT 0\n"
        "LABEL linux\n"
        "  LINUX /vmlinuz\n"
        "  INITRD /initrd.gz\n"
        f"  APPEND {append}\n"
    )


def _sparse_copy(src: Path, dst: Path, offset: int) -> None:
    chunk = MIB
    zero = bytes(chunk)
    with src.open("rb") as fin, dst.open("r+b") as fout:
        position = offset
        while block := fin.read(chunk):
            if block != zero[: len(block)]:
                fout.seek(position)
                fout.write(block)
            position += len(block)


def build_disk(kernel: Path, initrd: Path, append: str, work: Path, output: Path) -> None:
    """Write a qcow2 at `output` that boots `kernel` + `initrd` with command line `append`."""
    check_tools()
    code_path = _mbr_code_path()
    assert code_path is not None  # check_tools made sure
    payload = kernel.stat().st_size + initrd.stat().st_size
    # Room for the payload and FAT overhead, at least a 64 MiB disk; free space costs
    # nothing in the qcow2 (qemu-img convert skips zeroes).
    part_mib = max(MIN_PARTITION_MIB, -(-(payload * 5 // 4 + 4 * MIB) // MIB))
    part_sectors = part_mib * MIB // SECTOR

    fat = work / "boot.fat"
    cfg = work / "syslinux.cfg"
    cfg.write_text(syslinux_config(append))
    run_tool(
        [
            "mkfs.fat",
            "-C",
            "-F",
            "16",
            "-n",
            "STACKLING",
            "-i",
            "5354434b",
            "-h",
            str(PARTITION_START_SECTOR),
            "--invariant",
            str(fat),
            str(part_sectors * SECTOR // 1024),
        ]
    )
    run_tool(["syslinux", "--install", str(fat)])
    for src, name in ((kernel, "vmlinuz"), (initrd, "initrd.gz"), (cfg, "syslinux.cfg")):
        run_tool(["mcopy", "-o", "-i", str(fat), str(src), f"::/{name}"])

    raw = work / "disk.raw"
    with raw.open("wb") as fh:
        fh.truncate((PARTITION_START_SECTOR + part_sectors) * SECTOR)
        fh.write(mbr(code_path.read_bytes(), PARTITION_START_SECTOR, part_sectors))
    _sparse_copy(fat, raw, PARTITION_START_SECTOR * SECTOR)
    run_tool(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(output)])
