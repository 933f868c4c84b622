"""The test-image builder's pieces: package resolution, ELF reading, cpio, MBR, caching."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import stat
import struct
import subprocess
from pathlib import Path

import pytest

from stackling.image.testimage import TestImageBuildError, builder, debs, disk
from stackling.image.testimage.cpio import Initramfs
from stackling.image.testimage.elf import ElfError, dynamic_info, modinfo

PACKAGE_DIR = Path(builder.__file__).parent


def test_kernel_package_is_the_versioned_cloud_kernel() -> None:
    depends = "linux-image-6.1.0-50-cloud-amd64 (= 6.1.176-1)"
    assert debs.kernel_package_from_depends(depends) == "linux-image-6.1.0-50-cloud-amd64"
    alternatives = (
        "kmod, linux-image-6.1.0-9-cloud-amd64-unsigned | linux-image-6.1.0-9-cloud-amd64"
    )
    assert debs.kernel_package_from_depends(alternatives) == "linux-image-6.1.0-9-cloud-amd64"


def test_kernel_metapackage_without_a_kernel_is_refused() -> None:
    with pytest.raises(TestImageBuildError, match="versioned cloud kernel"):
        debs.kernel_package_from_depends("linux-image-6.1.0-50-amd64 (= 6.1.176-1), kmod")


def test_recursive_depends_keeps_real_packages_once() -> None:
    output = (
        "dropbear-bin\n"
        "  Depends: libc6\n"
        "  Depends: <libz1>\n"
        "libc6\n"
        "  Depends: libgcc-s1\n"
        "<libz1>\n"
        "libgcc-s1:amd64\n"
        "libc6\n"
    )
    assert debs.parse_recursive_depends(output) == ["dropbear-bin", "libc6", "libgcc-s1"]


def test_deb822_records_and_continuations() -> None:
    text = (
        "Package: a\nVersion: 1:2.0-1\nDescription: short\n long line\n\nPackage: b\nVersion: 3\n"
    )
    records = debs.parse_deb822(text)
    assert [r["Package"] for r in records] == ["a", "b"]
    assert records[0]["Description"] == "short\nlong line"
    assert records[0]["Version"] == "1:2.0-1"


def test_cached_filename_matches_apt_get_download() -> None:
    package = debs.Package("busybox-static", "1:1.35.0-4+deb12u1", "amd64", "")
    assert package.filename == "busybox-static_1%3a1.35.0-4+deb12u1_amd64.deb"


def test_fetch_uses_verified_cache_and_drops_superseded_versions(tmp_path: Path) -> None:
    content = b"not really a deb"
    # A name apt has never heard of: any attempt to download it would fail the test.
    package = debs.Package(
        "stackling-no-such-package", "1.0", "amd64", hashlib.sha256(content).hexdigest()
    )
    (tmp_path / package.filename).write_bytes(content)
    stale = tmp_path / "stackling-no-such-package_0.9_amd64.deb"
    stale.write_bytes(b"old")

    assert debs.fetch([package], tmp_path) == [tmp_path / package.filename]
    assert not stale.exists()


def test_module_load_order_puts_dependencies_first() -> None:
    depends = {
        "virtio_net": ["virtio_ring", "virtio", "net_failover"],
        "net_failover": ["failover"],
        "failover": [],
        "virtio_ring": [],
        "virtio": [],
        "sr_mod": ["cdrom", "scsi_mod"],
        "cdrom": [],
    }
    order = builder.module_load_order(["virtio_net", "sr_mod"], depends, builtin={"scsi_mod"})
    assert sorted(order) == sorted(set(depends))
    for module, deps in depends.items():
        for dep in deps:
            if dep != "scsi_mod":
                assert order.index(dep) < order.index(module)


def test_module_load_order_refuses_unknown_and_cycles() -> None:
    with pytest.raises(TestImageBuildError, match="neither a module nor built in"):
        builder.module_load_order(["a"], {"a": ["missing"]}, builtin=set())
    with pytest.raises(TestImageBuildError, match="cycle"):
        builder.module_load_order(["a"], {"a": ["b"], "b": ["a"]}, builtin=set())


def test_module_names_use_underscores() -> None:
    assert builder.module_name("virtio-rng.ko") == "virtio_rng"
    assert builder.module_name("nls_cp437.ko.xz") == "nls_cp437"


def _relocatable(payload: bytes, section_name: bytes = b".modinfo") -> bytes:
    """A minimal ELF64 relocatable with sections: null, `section_name`, .shstrtab."""
    shstrtab = b"\0" + section_name + b"\0.shstrtab\0"
    payload_off = 64
    shstr_off = payload_off + len(payload)
    shoff = shstr_off + len(shstrtab)
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x28, shoff)
    struct.pack_into("<HHH", header, 0x3A, 64, 3, 2)

    def section(name: int, offset: int, size: int) -> bytes:
        return struct.pack("<IIQQQQIIQQ", name, 1, 0, 0, offset, size, 0, 0, 1, 0)

    return (
        bytes(header)
        + payload
        + shstrtab
        + section(0, 0, 0)
        + section(1, payload_off, len(payload))
        + section(len(section_name) + 2, shstr_off, len(shstrtab))
    )


def test_modinfo_reads_depends() -> None:
    data = _relocatable(b"license=GPL\0depends=virtio,virtio_ring\0name=virtio_net\0")
    info = modinfo(data)
    assert info["depends"] == "virtio,virtio_ring"
    assert info["name"] == "virtio_net"


def test_elf_reader_refuses_other_files() -> None:
    with pytest.raises(ElfError):
        dynamic_info(b"#!/bin/sh\n" + bytes(100))
    with pytest.raises(ElfError, match=r"no \.modinfo"):
        modinfo(_relocatable(b"depends=virtio\0", section_name=b".comment"))


def test_dynamic_info_of_a_host_program() -> None:
    info = dynamic_info(Path("/bin/true").read_bytes())
    assert info.interpreter is not None and info.interpreter.endswith("ld-linux-x86-64.so.2")
    assert "libc.so.6" in info.needed


def _read_newc(archive: bytes) -> list[tuple[str, int, bytes, tuple[int, int]]]:
    """An independent newc reader: (name, mode, data, rdev) of every entry."""
    entries = []
    pos = 0
    while True:
        assert archive[pos : pos + 6] == b"070701"
        fields = [int(archive[pos + 6 + 8 * i : pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name_start = pos + 110
        name = archive[name_start : name_start + namesize - 1].decode()
        data_start = name_start + namesize + (-(110 + namesize) % 4)
        data = archive[data_start : data_start + size]
        pos = data_start + size + (-size % 4)
        if name == "TRAILER!!!":
            assert pos == len(archive)
            return entries
        entries.append((name, mode, data, (fields[9], fields[10])))


def test_initramfs_archive_round_trips() -> None:
    image = Initramfs()
    image.add_file("usr/share/udhcpc/default.script", b"#!/bin/sh\n", 0o755)
    image.symlink("bin/sh", "busybox")
    image.char_device("dev/console", 5, 1)
    image.mkdir("tmp", 0o1777)
    entries = _read_newc(gzip.decompress(image.to_cpio_gz()))
    names = [e[0] for e in entries]
    # Every parent directory exists, before anything inside it.
    for name in names:
        if "/" in name:
            assert names.index(name.rsplit("/", 1)[0]) < names.index(name)
    by_name = {e[0]: e for e in entries}
    script = by_name["usr/share/udhcpc/default.script"]
    assert stat.S_ISREG(script[1]) and stat.S_IMODE(script[1]) == 0o755
    assert script[2] == b"#!/bin/sh\n"
    assert stat.S_ISLNK(by_name["bin/sh"][1]) and by_name["bin/sh"][2] == b"busybox"
    assert stat.S_ISCHR(by_name["dev/console"][1]) and by_name["dev/console"][3] == (5, 1)
    assert stat.S_IMODE(by_name["tmp"][1]) == 0o1777
    assert image.to_cpio_gz() == image.to_cpio_gz()  # reproducible


def test_initramfs_refuses_escaping_paths() -> None:
    with pytest.raises(ValueError):
        Initramfs().add_file("../etc/passwd", b"")


def test_mbr_has_one_active_partition_after_the_boot_code() -> None:
    code = bytes(range(256)) * 2
    sector = disk.mbr(code, 2048, 129024)
    assert len(sector) == 512
    assert sector[:440] == code[:440]
    assert sector[510:] == b"\x55\xaa"
    entry = sector[446:462]
    assert entry[0] == 0x80 and entry[4] == disk.FAT16_LBA
    assert entry[1:4] == bytes([32, 33, 0])  # CHS of LBA 2048 on 255 heads x 63 sectors
    assert struct.unpack("<II", entry[8:16]) == (2048, 129024)
    assert sector[462:510] == bytes(48)


def test_resolve_in_root_keeps_absolute_links_inside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "lib/x86_64-linux-gnu").mkdir(parents=True)
    (root / "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").write_bytes(b"ld")
    (root / "lib64").mkdir()
    (root / "lib64/ld-linux-x86-64.so.2").symlink_to("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    resolved = builder.resolve_in_root(root, "/lib64/ld-linux-x86-64.so.2")
    assert resolved == root / "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"


def test_stamp_decides_whether_the_cached_image_is_current(tmp_path: Path) -> None:
    image = tmp_path / "img.qcow2"
    assert not builder.is_current(image)
    image.write_bytes(b"qcow2")
    stamp = tmp_path / "img.qcow2.stamp"
    stamp.write_text(json.dumps({"stamp": "from an older builder"}))
    assert not builder.is_current(image)
    stamp.write_text(json.dumps({"stamp": builder.build_stamp()}))
    assert builder.is_current(image)


def test_default_path_follows_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    expected = tmp_path / "stackling/test-image/stackling-test-image.qcow2"
    assert builder.default_test_image_path() == expected


@pytest.mark.parametrize("script", ["init.sh", "udhcpc.sh"])
def test_guest_scripts_parse(script: str) -> None:
    path = PACKAGE_DIR / script
    assert path.read_bytes().startswith(b"#!/bin/sh\n")
    result = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_leftovers_of_dead_builds_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    mine = tmp_path / f"build-{os.getpid()}-abc"
    theirs = tmp_path / f"build-{dead.pid}-def"
    unrelated = tmp_path / "build-notes"
    for directory in (mine, theirs, unrelated):
        (directory / "root").mkdir(parents=True)
    builder._remove_stale(tmp_path, re.compile(r"build-(\d+)-.*"))
    assert mine.is_dir() and unrelated.is_dir()
    assert not theirs.exists()
