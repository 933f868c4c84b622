"""Backup targets by name, as settings choose them."""

from __future__ import annotations

from pathlib import Path

from stackling.volume.backup.base import BackupTarget
from stackling.volume.backup.filesystem import FilesystemTarget


def make_target(root: Path) -> BackupTarget:
    """The filesystem target under `root` (the only target so far)."""
    return FilesystemTarget(root)
