"""Just enough ELF reading to pack a guest: shared-library needs and kernel-module modinfo."""

from __future__ import annotations

import struct
from dataclasses import dataclass

_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_NEEDED, _DT_STRTAB = 0, 1, 5


class ElfError(ValueError):
    """The bytes are not a 64-bit little-endian ELF file we can read."""


@dataclass(frozen=True)
class DynamicInfo:
    """What the dynamic loader needs to run a program."""

    interpreter: str | None
    needed: tuple[str, ...]


def _check_header(data: bytes) -> None:
    if len(data) < 64 or data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ElfError("only 64-bit little-endian ELF is supported")


def _cstring(data: bytes, offset: int) -> str:
    end = data.index(b"\0", offset)
    return data[offset:end].decode()


def dynamic_info(data: bytes) -> DynamicInfo:
    """The interpreter and DT_NEEDED libraries of an ELF executable or shared object."""
    _check_header(data)
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    interpreter: str | None = None
    dynamic: tuple[int, int] | None = None
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize
        )
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_INTERP:
            interpreter = data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode()
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return DynamicInfo(interpreter, ())

    needed_offsets: list[int] = []
    strtab_vaddr: int | None = None
    offset, size = dynamic
    for pos in range(offset, offset + size, 16):
        tag, value = struct.unpack_from("<qQ", data, pos)
        if tag == _DT_NULL:
            break
        if tag == _DT_NEEDED:
            needed_offsets.append(value)
        elif tag == _DT_STRTAB:
            strtab_vaddr = value
    if strtab_vaddr is None:
        raise ElfError("dynamic section without a string table")
    # DT_STRTAB holds a virtual address: find the segment that maps it into the file.
    for vaddr, file_offset, filesz in loads:
        if vaddr <= strtab_vaddr < vaddr + filesz:
            strtab = file_offset + (strtab_vaddr - vaddr)
            break
    else:
        raise ElfError("string table is not mapped by any segment")
    return DynamicInfo(interpreter, tuple(_cstring(data, strtab + n) for n in needed_offsets))


def modinfo(data: bytes) -> dict[str, str]:
    """The `.modinfo` key=value pairs of a kernel module (first value wins for repeated keys)."""
    _check_header(data)
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections: list[tuple[int, int, int]] = []  # (name offset, file offset, size)
    for i in range(shnum):
        name, _type, _flags, _addr, sh_offset, sh_size = struct.unpack_from(
            "<IIQQQQ", data, shoff + i * shentsize
        )
        sections.append((name, sh_offset, sh_size))
    names_offset = sections[shstrndx][1]
    for name, sh_offset, sh_size in sections:
        if _cstring(data, names_offset + name) == ".modinfo":
            info: dict[str, str] = {}
            for item in data[sh_offset : sh_offset + sh_size].split(b"\0"):
                key, sep, value = item.decode(errors="replace").partition("=")
                if sep:
                    info.setdefault(key, value)
            return info
    raise ElfError("no .modinfo section: not a kernel module")
