"""Inventory defaults, validation and capacity arithmetic."""

from __future__ import annotations

import pytest

from stackling.common import errors
from stackling.placement.service.records import MAX_INT, Inventory, make_inventory


def _inv(**values: int | float) -> Inventory:
    return make_inventory("VCPU", values, provider_uuid="rp")


def test_defaults_are_placements() -> None:
    inv = _inv(total=8)
    assert inv.as_dict() == {
        "total": 8,
        "reserved": 0,
        "min_unit": 1,
        "max_unit": MAX_INT,
        "step_size": 1,
        "allocation_ratio": 1.0,
    }


def test_capacity_counts_reserved_and_ratio() -> None:
    inv = _inv(total=8, reserved=2, allocation_ratio=1.5)
    assert inv.capacity == 9
    assert inv.fits(9, 0) and not inv.fits(1, 9) and inv.fits(4, 5)


def test_unit_rules() -> None:
    inv = _inv(total=100, min_unit=10, max_unit=50, step_size=5)
    assert inv.allows(10) and inv.allows(50) and inv.allows(25)
    assert not inv.allows(5) and not inv.allows(55) and not inv.allows(12)


@pytest.mark.parametrize(
    "values",
    [
        {"total": 0},
        {"total": -1},
        {"total": MAX_INT + 1},
        {"total": "8"},
        {"total": True},
        {"total": 8, "reserved": 9},
        {"total": 8, "step_size": 0},
        {"total": 8, "allocation_ratio": 0},
        {"total": 8, "allocation_ratio": "1"},
        {"total": 8, "colour": 1},
        {"reserved": 1},
    ],
)
def test_bad_values_are_400(values: dict) -> None:
    with pytest.raises(errors.BadRequest):
        make_inventory("VCPU", values, provider_uuid="rp")


def test_reserved_equal_to_total_only_when_allowed() -> None:
    assert _inv(total=4, reserved=4).capacity == 0
    with pytest.raises(errors.BadRequest):
        make_inventory(
            "VCPU", {"total": 4, "reserved": 4}, provider_uuid="rp", reserved_may_equal_total=False
        )
