"""Image inspection against real images made by qemu-img and genisoimage."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import pytest

from stackling.image.inspect import (
    ImageRefused,
    Inspection,
    _refuse_external_references,
    inspect_image,
)

MIB = 1 << 20
# A stored file name that cannot occur in a reason by chance, so leaks are caught.
STORED = "stored-7f3a9c"


def qemu_img(*args: str | Path) -> None:
    subprocess.run(["qemu-img", *map(str, args)], check=True, capture_output=True)


def create(tmp_path: Path, name: str, fmt: str, *options: str, size: int = MIB) -> Path:
    path = tmp_path / name
    qemu_img("create", "-f", fmt, *options, path, str(size))
    return path


def count_files(directory: Path) -> int:
    return len(list(directory.iterdir()))


def make_iso(tmp_path: Path) -> Path:
    content = tmp_path / "iso-content"
    content.mkdir()
    (content / "hello.txt").write_text("hello\n")
    path = tmp_path / "disk.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-o", str(path), str(content)], check=True, capture_output=True
    )
    return path


async def refused(path: Path, declared: str | None, tmp_path: Path) -> str:
    """Inspect expecting a refusal; return the reason after checking it leaks no server path."""
    with pytest.raises(ImageRefused) as caught:
        await inspect_image(path, declared)
    reason = caught.value.reason
    assert str(tmp_path) not in reason
    assert str(tmp_path) not in str(caught.value)
    assert path.name not in reason
    return reason


# (disk_format, qemu-img format, create options, expected virtual size)
VALID = [
    ("raw", "raw", [], MIB),
    ("qcow2", "qcow2", [], MIB),
    ("vmdk", "vmdk", ["-o", "subformat=monolithicSparse"], MIB),
    ("vmdk", "vmdk", ["-o", "subformat=streamOptimized"], MIB),
    ("vdi", "vdi", [], MIB),
    # VHD rounds the size up to whole CHS geometry.
    ("vhd", "vpc", [], 1079296),
    ("vhdx", "vhdx", [], MIB),
    ("ploop", "parallels", [], MIB),
]


@pytest.mark.parametrize(
    ("disk_format", "qemu_format", "options", "virtual_size"),
    VALID,
    ids=["raw", "qcow2", "vmdk-sparse", "vmdk-stream", "vdi", "vhd", "vhdx", "ploop"],
)
@pytest.mark.parametrize("declare", [True, False], ids=["declared", "undeclared"])
async def test_valid_images_are_accepted_with_their_virtual_size(
    tmp_path: Path,
    disk_format: str,
    qemu_format: str,
    options: list[str],
    virtual_size: int,
    declare: bool,
) -> None:
    path = create(tmp_path, STORED, qemu_format, *options)
    result = await inspect_image(path, disk_format if declare else None)
    assert result == Inspection(format=disk_format, virtual_size=virtual_size)


async def test_stream_optimized_vmdk_converted_from_data_is_accepted(tmp_path: Path) -> None:
    raw = tmp_path / "data.raw"
    raw.write_bytes(b"\x5a" * MIB)
    path = tmp_path / STORED
    qemu_img("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, path)
    assert await inspect_image(path, "vmdk") == Inspection("vmdk", MIB)


async def test_iso_is_accepted_and_recognised(tmp_path: Path) -> None:
    path = make_iso(tmp_path)
    size = path.stat().st_size
    assert await inspect_image(path, "iso") == Inspection("iso", size)
    assert await inspect_image(path, None) == Inspection("iso", size)


async def test_iso_declared_raw_is_accepted(tmp_path: Path) -> None:
    path = make_iso(tmp_path)
    assert await inspect_image(path, "raw") == Inspection("iso", path.stat().st_size)


@pytest.mark.parametrize("disk_format", ["ami", "ari", "aki", "RAW"])
async def test_raw_like_formats_accept_raw_data(tmp_path: Path, disk_format: str) -> None:
    path = create(tmp_path, STORED, "raw")
    assert await inspect_image(path, disk_format) == Inspection("raw", MIB)


async def test_unverifiable_format_is_accepted_when_qemu_sees_no_other_format(
    tmp_path: Path,
) -> None:
    path = create(tmp_path, STORED, "raw")
    assert await inspect_image(path, "some-future-format") == Inspection("raw", MIB)


async def test_unverifiable_format_is_refused_when_qemu_sees_another_format(
    tmp_path: Path,
) -> None:
    path = create(tmp_path, STORED, "qcow2")
    reason = await refused(path, "some-future-format", tmp_path)
    assert reason == "Image is declared some-future-format but its data is qcow2"


@pytest.mark.parametrize("declared", ["qcow2", "vmdk", "vdi", "vhd", "vhdx", "ploop"])
async def test_raw_data_declared_structured_is_refused(tmp_path: Path, declared: str) -> None:
    path = create(tmp_path, STORED, "raw")
    assert await refused(path, declared, tmp_path) == (
        f"Image is declared {declared} but its data is raw"
    )


@pytest.mark.parametrize(
    ("qemu_format", "detected"),
    [("qcow2", "qcow2"), ("vmdk", "vmdk"), ("vdi", "vdi"), ("vpc", "vhd"), ("vhdx", "vhdx")],
)
@pytest.mark.parametrize("declared", ["raw", "ami", "iso"])
async def test_structured_data_declared_raw_or_iso_is_refused(
    tmp_path: Path, qemu_format: str, detected: str, declared: str
) -> None:
    path = create(tmp_path, STORED, qemu_format)
    assert await refused(path, declared, tmp_path) == (
        f"Image is declared {declared} but its data is {detected}"
    )


async def test_qcow2_declared_vmdk_is_refused(tmp_path: Path) -> None:
    path = create(tmp_path, STORED, "qcow2")
    assert await refused(path, "vmdk", tmp_path) == "Image is declared vmdk but its data is qcow2"


async def test_raw_declared_iso_is_refused(tmp_path: Path) -> None:
    path = create(tmp_path, STORED, "raw")
    assert await refused(path, "iso", tmp_path) == "Image is declared iso but its data is raw"


@pytest.mark.parametrize("declared", ["qcow2", "raw", None])
async def test_qcow2_with_backing_file_is_refused(tmp_path: Path, declared: str | None) -> None:
    path = create(tmp_path, STORED, "qcow2", "-b", "/etc/passwd", "-F", "raw", "-u")
    reason = await refused(path, declared, tmp_path)
    assert reason == "qcow2 image has a backing file; images must not reference other files"
    assert "/etc/passwd" not in reason


async def test_qcow2_with_relative_backing_file_is_refused(tmp_path: Path) -> None:
    create(tmp_path, "base", "raw")
    path = create(tmp_path, STORED, "qcow2", "-b", "base", "-F", "raw")
    reason = await refused(path, "qcow2", tmp_path)
    assert reason == "qcow2 image has a backing file; images must not reference other files"


async def test_qed_with_backing_file_is_refused(tmp_path: Path) -> None:
    # Not caught by our own header check: this is qemu-img's report doing the work.
    path = create(tmp_path, STORED, "qed", "-b", "/etc/passwd", "-F", "raw", "-u")
    reason = await refused(path, None, tmp_path)
    assert reason == "qed image has a backing file; images must not reference other files"


async def test_qcow2_with_external_data_file_is_refused(tmp_path: Path) -> None:
    data_file = tmp_path / "data.raw"
    path = create(tmp_path, STORED, "qcow2", "-o", f"data_file={data_file}")
    reason = await refused(path, "qcow2", tmp_path)
    assert reason == (
        "qcow2 image has an external data file; images must not reference other files"
    )


@pytest.mark.parametrize("subformat", ["monolithicFlat", "twoGbMaxExtentSparse"])
async def test_vmdk_descriptor_with_separate_extents_is_refused(
    tmp_path: Path, subformat: str
) -> None:
    path = create(tmp_path, "image.vmdk", "vmdk", "-o", f"subformat={subformat}")
    assert count_files(tmp_path) > 1  # the descriptor and its extent file(s)
    reason = await refused(path, "vmdk", tmp_path)
    assert reason.startswith("vmdk descriptor files keep their data in other files")
    # Declared as something else it is still refused, never inspected as raw.
    await refused(path, "raw", tmp_path)


async def test_hand_written_vmdk_descriptor_naming_a_host_file_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / STORED
    path.write_text(
        "# Disk DescriptorFile\n"
        "version=1\n"
        "CID=fffffffe\n"
        "parentCID=ffffffff\n"
        'createType="monolithicFlat"\n'
        'RW 2048 FLAT "/etc/passwd" 0\n'
    )
    reason = await refused(path, "vmdk", tmp_path)
    assert "/etc/passwd" not in reason
    assert reason.startswith("vmdk descriptor files keep their data in other files")


@pytest.mark.parametrize(
    ("qemu_format", "options", "reason"),
    [
        ("qcow2", ["-b", "/etc/passwd", "-F", "raw", "-u"], "qcow2 image has a backing file"),
        ("qcow2", ["-o", "data_file={tmp}/data.raw"], "qcow2 image has an external data file"),
        ("vmdk", ["-o", "subformat=monolithicFlat"], "vmdk images of type monolithicFlat"),
        ("vmdk", ["-o", "subformat=twoGbMaxExtentFlat"], "vmdk images of type twoGbMaxExtentFlat"),
    ],
)
def test_qemu_img_report_alone_refuses_external_references(
    tmp_path: Path, qemu_format: str, options: list[str], reason: str
) -> None:
    # The header check normally refuses these first; this layer must hold on its own
    # in case a header trick gets past it.
    path = create(tmp_path, STORED, qemu_format, *(o.format(tmp=tmp_path) for o in options))
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", str(path)], check=True, capture_output=True
        ).stdout
    )
    with pytest.raises(ImageRefused, match=f"^{reason}"):
        _refuse_external_references(info["format"], info)


def test_qemu_img_report_refuses_vmdk_extents_in_other_files() -> None:
    info = {
        "filename": "/srv/images/x",
        "format": "vmdk",
        "format-specific": {
            "type": "vmdk",
            "data": {
                "create-type": "monolithicSparse",
                "extents": [{"filename": "/srv/images/x"}, {"filename": "/etc/shadow"}],
            },
        },
    }
    with pytest.raises(ImageRefused) as caught:
        _refuse_external_references("vmdk", info)
    assert caught.value.reason == (
        "vmdk image has extents in other files; images must not reference other files"
    )


async def test_qcow2_magic_followed_by_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / STORED
    path.write_bytes(b"QFI\xfb" + bytes(range(256)) * 64)
    reason = await refused(path, "qcow2", tmp_path)
    assert reason.startswith("Image is declared qcow2 but could not be read: ")
    assert "Unsupported qcow2 version" in reason


async def test_qcow2_with_tables_past_its_end_is_refused(tmp_path: Path) -> None:
    path = create(tmp_path, STORED, "qcow2")
    data = bytearray(path.read_bytes())
    data[48:56] = struct.pack(">Q", 1 << 50)  # refcount_table_offset
    path.write_bytes(bytes(data))
    assert await refused(path, "qcow2", tmp_path) == "qcow2 image is corrupt"


async def test_truncated_qcow2_is_refused(tmp_path: Path) -> None:
    path = create(tmp_path, STORED, "qcow2")
    path.write_bytes(path.read_bytes()[:512])
    assert await refused(path, "qcow2", tmp_path) == "qcow2 image is corrupt"


async def test_qcow2_that_is_also_an_iso_is_refused(tmp_path: Path) -> None:
    path = create(tmp_path, STORED, "qcow2")
    data = bytearray(path.read_bytes())
    data[0x8001:0x8006] = b"CD001"
    path.write_bytes(bytes(data))
    for declared in ("qcow2", "iso", None):
        reason = await refused(path, declared, tmp_path)
        assert reason == "Image data matches more than one format (iso and qcow2)"


async def test_missing_qemu_img_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = create(tmp_path, STORED, "raw")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match="install qemu-utils"):
        await inspect_image(path, "raw")


async def test_slow_inspection_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No real image is slow enough to wait for; a zero budget exercises the kill path.
    monkeypatch.setattr("stackling.image.inspect._TIMEOUT_S", 0)
    path = create(tmp_path, STORED, "qcow2")
    assert await refused(path, "qcow2", tmp_path) == "Image inspection took too long"
