"""libvirt domain states as Nova power states."""

from __future__ import annotations

import libvirt
import pytest

from stackling.compute.drivers.base import PowerState
from stackling.compute.drivers.libvirt.domains import (
    canonical_uuid,
    settled_state,
    to_power_state,
)


@pytest.mark.parametrize(
    ("state", "managed_save", "expected"),
    [
        (libvirt.VIR_DOMAIN_NOSTATE, False, PowerState.NOSTATE),
        (libvirt.VIR_DOMAIN_RUNNING, False, PowerState.RUNNING),
        (libvirt.VIR_DOMAIN_BLOCKED, False, PowerState.RUNNING),
        (libvirt.VIR_DOMAIN_PAUSED, False, PowerState.PAUSED),
        (libvirt.VIR_DOMAIN_SHUTDOWN, False, PowerState.SHUTDOWN),
        (libvirt.VIR_DOMAIN_SHUTOFF, False, PowerState.SHUTDOWN),
        (libvirt.VIR_DOMAIN_SHUTOFF, True, PowerState.SUSPENDED),
        (libvirt.VIR_DOMAIN_CRASHED, False, PowerState.CRASHED),
        (libvirt.VIR_DOMAIN_PMSUSPENDED, False, PowerState.SUSPENDED),
        (99, False, PowerState.NOSTATE),
    ],
)
def test_state_mapping(state: int, managed_save: bool, expected: PowerState) -> None:
    assert to_power_state(state, managed_save) == expected


class _Domain:
    """Just enough of a virDomain for `settled_state`."""

    def __init__(self, state: int, reason: int, saved: bool = False) -> None:
        self._state = [state, reason]
        self._saved = saved

    def state(self) -> list[int]:
        return self._state

    def hasManagedSaveImage(self, flags: int) -> int:
        return int(self._saved)


@pytest.mark.parametrize(
    ("dom", "expected"),
    [
        (_Domain(libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_USER), PowerState.PAUSED),
        (_Domain(libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_STARTING_UP), None),
        (_Domain(libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_SAVE), None),
        (_Domain(libvirt.VIR_DOMAIN_SHUTOFF, 0, saved=True), PowerState.SUSPENDED),
        (_Domain(libvirt.VIR_DOMAIN_RUNNING, 1), PowerState.RUNNING),
    ],
)
def test_passing_pauses_are_not_states(dom: _Domain, expected: PowerState | None) -> None:
    assert settled_state(dom) == expected  # type: ignore[arg-type]


def test_only_real_uuids_name_instances() -> None:
    upper = "5F0C3F52-3C2B-4D59-9D0E-6B7B8C3A1E11"
    assert canonical_uuid(upper) == upper.lower()
    for bad in ("", "../etc/passwd", "5f0c3f52", "instance-1"):
        assert canonical_uuid(bad) is None
