"""Config drives built with the real tools and read back with isoinfo."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from stackling.compute.metadata.configdrive import ConfigDriveError, build_config_drive
from stackling.compute.metadata.tree import config_drive_files
from tests.unit.compute.metadata.sources import BINARY_USER_DATA, UUID, make_source

XORRISO = ("xorriso", "-as", "mkisofs")


def isoinfo(*args: str | Path) -> bytes:
    return subprocess.run(
        ["isoinfo", *map(str, args)], check=True, capture_output=True, timeout=60
    ).stdout


def listing(iso: Path, *mode: str) -> set[str]:
    return set(isoinfo(*mode, "-f", "-i", iso).decode().split())


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def extract(iso: Path, path: str, mode: str = "-R") -> bytes:
    return isoinfo(mode, "-x", path, "-i", iso)


@pytest.fixture
def files() -> dict[str, bytes]:
    return config_drive_files(make_source(user_data=BINARY_USER_DATA, admin_pass="Pa55"))


@pytest.mark.parametrize("command", [None, XORRISO], ids=["default", "xorriso"])
async def test_drive_reads_back(
    tmp_path: Path, files: dict[str, bytes], command: tuple[str, ...] | None
) -> None:
    if command is not None and shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is not installed")
    iso = tmp_path / "disk.config"
    await build_config_drive(files, iso, command=command)

    info = isoinfo("-d", "-i", iso).decode()
    assert "Volume id: config-2" in info
    assert "Rock Ridge signatures version" in info
    assert "Joliet" in info

    # Rock Ridge and Joliet both keep the long lower-case names guests look for.
    expected = {"/" + path for path in files}
    assert expected <= listing(iso, "-R")
    assert expected <= listing(iso, "-J")

    for path, content in files.items():
        assert extract(iso, "/" + path) == content, path
    meta = json.loads(extract(iso, "/openstack/latest/meta_data.json", mode="-J"))
    assert meta["uuid"] == UUID
    assert meta["admin_pass"] == "Pa55"
    assert extract(iso, "/openstack/latest/user_data") == BINARY_USER_DATA


async def test_drive_replaces_an_older_one_and_leaves_no_temp(tmp_path: Path) -> None:
    iso = tmp_path / "disk.config"
    iso.write_bytes(b"old")
    await build_config_drive({"openstack/latest/meta_data.json": b"{}"}, iso)
    assert extract(iso, "/openstack/latest/meta_data.json") == b"{}"
    assert names(tmp_path) == ["disk.config"]


async def test_tool_failure_reports_stderr_and_keeps_old_drive(tmp_path: Path) -> None:
    iso = tmp_path / "disk.config"
    iso.write_bytes(b"old")
    failing = ("sh", "-c", "echo mkisofs broke >&2; exit 3", "sh")
    with pytest.raises(ConfigDriveError, match=r"exit 3.*mkisofs broke"):
        await build_config_drive({"a": b"x"}, iso, command=failing)
    assert iso.read_bytes() == b"old"
    assert names(tmp_path) == ["disk.config"]


async def test_tool_that_never_finishes_is_stopped(tmp_path: Path) -> None:
    iso = tmp_path / "disk.config"
    hanging = ("sh", "-c", "exec sleep 300", "sh")
    with pytest.raises(ConfigDriveError, match="took longer"):
        await build_config_drive({"a": b"x"}, iso, command=hanging, timeout=0.5)
    assert names(tmp_path) == []


async def test_missing_tool(tmp_path: Path) -> None:
    with pytest.raises(ConfigDriveError, match="Could not run"):
        await build_config_drive({"a": b"x"}, tmp_path / "d", command=("/nonexistent/genisoimage",))


async def test_missing_destination_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigDriveError, match="Could not write"):
        await build_config_drive({"a": b"x"}, tmp_path / "absent" / "disk.config")


@pytest.mark.parametrize("path", ["/etc/passwd", "../escape", "openstack/../../x", ""])
async def test_paths_outside_the_drive_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ConfigDriveError, match="relative"):
        await build_config_drive({path: b"x"}, tmp_path / "disk.config")
    assert names(tmp_path) == []
