"""A gzip-compressed newc cpio archive (the initramfs format) written without root or tools.

Writing the archive ourselves lets every entry be owned by root with exact modes and
lets it hold device nodes, none of which an unprivileged `cpio -o` could produce.
"""

from __future__ import annotations

import gzip
import stat
from dataclasses import dataclass, field
from pathlib import PurePosixPath


@dataclass(frozen=True)
class _Entry:
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


@dataclass
class Initramfs:
    """An in-memory file tree, serialised as a newc cpio archive."""

    entries: dict[str, _Entry] = field(default_factory=dict)

    @staticmethod
    def _key(path: str) -> str:
        key = str(PurePosixPath("/", path)).lstrip("/")
        if not key or ".." in PurePosixPath(key).parts:
            raise ValueError(f"bad archive path: {path!r}")
        return key

    def _parents(self, key: str) -> None:
        for parent in reversed(PurePosixPath(key).parents[:-1]):
            self.entries.setdefault(str(parent), _Entry(stat.S_IFDIR | 0o755))

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        """Add a directory (and any missing parents, 0755)."""
        key = self._key(path)
        self._parents(key)
        self.entries[key] = _Entry(stat.S_IFDIR | mode)

    def add_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Add a regular file."""
        key = self._key(path)
        self._parents(key)
        self.entries[key] = _Entry(stat.S_IFREG | mode, data)

    def symlink(self, path: str, target: str) -> None:
        """Add a symbolic link to `target`."""
        key = self._key(path)
        self._parents(key)
        self.entries[key] = _Entry(stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        """Add a character device node."""
        key = self._key(path)
        self._parents(key)
        self.entries[key] = _Entry(stat.S_IFCHR | mode, rdev=(major, minor))

    def __contains__(self, path: str) -> bool:
        return self._key(path) in self.entries

    def to_cpio(self) -> bytes:
        """The uncompressed newc archive; parents come before their children."""
        out = bytearray()
        for ino, name in enumerate(sorted(self.entries), start=1):
            entry = self.entries[name]
            nlink = 2 if stat.S_ISDIR(entry.mode) else 1
            out += _record(name, entry.mode, entry.data, ino, nlink, entry.rdev)
        out += _record("TRAILER!!!", 0, b"", 0, 1, (0, 0))
        return bytes(out)

    def to_cpio_gz(self) -> bytes:
        """The archive gzip-compressed, byte-for-byte reproducible."""
        return gzip.compress(self.to_cpio(), compresslevel=9, mtime=0)


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def _record(
    name: str, mode: int, data: bytes, ino: int, nlink: int, rdev: tuple[int, int]
) -> bytes:
    encoded = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
    header = b"070701" + b"".join(b"%08X" % value for value in fields)
    return header + encoded + _pad4(len(header) + len(encoded)) + data + _pad4(len(data))
