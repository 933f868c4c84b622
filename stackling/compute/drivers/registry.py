"""Compute drivers by name, as settings choose them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stackling.compute.drivers.base import ComputeDriver

DRIVERS = ("libvirt", "fake")
# Options that only one driver understands; the other ignores them, so that one
# settings object can configure whichever driver is chosen.
_OPTIONS = {
    "libvirt": {"uri", "virt_type", "shutdown_timeout_s", "state_dir"},
    "fake": {"vcpus", "memory_mb", "disk_gb", "fail_spawn"},
}


def make_driver(
    name: str, *, instances_dir: Path, owner: str, hostname: str, **options: Any
) -> ComputeDriver:
    """The driver called `name` for one host of the cloud tagged `owner`."""
    if name not in DRIVERS:
        raise ValueError(f"unknown compute driver {name!r} (known: {', '.join(DRIVERS)})")
    foreign = set().union(*(keys for driver, keys in _OPTIONS.items() if driver != name))
    mine = {k: v for k, v in options.items() if k not in foreign or k in _OPTIONS[name]}
    if name == "libvirt":
        # Imported here: the libvirt bindings are only needed when real guests are wanted.
        from stackling.compute.drivers.libvirt.driver import LibvirtDriver

        return LibvirtDriver(instances_dir=instances_dir, owner=owner, hostname=hostname, **mine)
    from stackling.compute.drivers.fake import FakeDriver

    return FakeDriver(instances_dir=instances_dir, owner=owner, hostname=hostname, **mine)
