"""The KVM probe: its boot sector, its verdict under TCG, and its per-boot cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stackling.compute.drivers.libvirt import virt_type
from stackling.compute.drivers.libvirt.virt_type import MARKER, boot_sector, run_probe


def test_boot_sector_is_one_bootable_sector_carrying_the_marker() -> None:
    sector = boot_sector()
    assert len(sector) == 512
    assert sector[-2:] == b"\x55\xaa"
    assert MARKER + b"\r\n\0" in sector
    assert sector[0] == 0xFA  # cli: nothing may interrupt the mode switch
    # The IRET the probe exists for, in the 32-bit part.
    assert b"\x9c\x6a\x08\x68" in sector and b"\xcf" in sector


def test_boot_sector_refuses_a_marker_that_does_not_fit() -> None:
    with pytest.raises(ValueError):
        boot_sector(b"x" * 500)


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs QEMU")
def test_probe_guest_runs_under_tcg() -> None:
    # TCG always works, so this proves the guest code itself is right: a failing KVM
    # probe then means KVM, not the probe.
    result = run_probe("tcg", timeout_s=20)
    assert result.ok, result.detail


def test_cached_answer_is_used_for_the_same_boot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(virt_type, "_cached", {})
    (tmp_path / virt_type.CACHE_FILE).write_text(
        json.dumps({"host": virt_type._host_key(), "virt_type": "kvm", "why": "test"})
    )
    assert virt_type.detect_virt_type(tmp_path) == "kvm"
    # Answered once per process: the file is not read again.
    (tmp_path / virt_type.CACHE_FILE).unlink()
    assert virt_type.detect_virt_type(tmp_path) == "kvm"


def test_a_cached_answer_from_another_boot_is_ignored(tmp_path: Path) -> None:
    (tmp_path / virt_type.CACHE_FILE).write_text(
        json.dumps({"host": "another-boot", "virt_type": "kvm"})
    )
    assert virt_type._load(tmp_path) is None
    virt_type._save(tmp_path, "qemu", "test")
    assert virt_type._load(tmp_path) == "qemu"
