"""Microversion negotiation from the OpenStack-API-Version header."""

from __future__ import annotations

import pytest

from stackling.common import errors
from stackling.placement.api.microversion import MAX, MIN, Version, negotiate
from stackling.placement.errors import VersionNotAcceptable


def test_absent_or_other_services_mean_the_minimum() -> None:
    assert negotiate([]) == MIN
    assert negotiate(["compute 2.1"]) == MIN


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["placement 1.10"], Version(1, 10)),
        (["compute 2.1, placement 1.2"], Version(1, 2)),
        (["compute 2.1", "PLACEMENT 1.39"], Version(1, 39)),
        (["placement latest"], MAX),
    ],
)
def test_the_placement_entry_is_found(values: list[str], expected: Version) -> None:
    assert negotiate(values) == expected


def test_versions_compare_numerically() -> None:
    assert Version(1, 10) > Version(1, 9)
    assert Version(1, 10).at_least(9) and not Version(1, 8).at_least(9)


@pytest.mark.parametrize("asked", ["1.40", "2.0", "0.9", "1.100"])
def test_outside_the_range_is_406(asked: str) -> None:
    with pytest.raises(VersionNotAcceptable) as exc:
        negotiate([f"placement {asked}"])
    assert exc.value.status == 406
    assert (exc.value.min_version, exc.value.max_version) == ("1.0", "1.39")


@pytest.mark.parametrize("asked", ["1", "1.x", "01.2", "1.02", "v1.2"])
def test_malformed_is_400(asked: str) -> None:
    with pytest.raises(errors.BadRequest):
        negotiate([f"placement {asked}"])
