"""The metadata versions Nova serves, and comparisons between them."""

from __future__ import annotations

from datetime import UTC, datetime

LATEST = "latest"

FOLSOM = "2012-08-10"
GRIZZLY = "2013-04-04"
HAVANA = "2013-10-17"
LIBERTY = "2015-10-15"
NEWTON_ONE = "2016-06-30"
NEWTON_TWO = "2016-10-06"
OCATA = "2017-02-22"
ROCKY = "2018-08-27"
VICTORIA = "2020-10-14"
EPOXY = "2025-04-04"

OPENSTACK_VERSIONS: tuple[str, ...] = (
    FOLSOM,
    GRIZZLY,
    HAVANA,
    LIBERTY,
    NEWTON_ONE,
    NEWTON_TWO,
    OCATA,
    ROCKY,
    VICTORIA,
    EPOXY,
)

EC2_VERSIONS: tuple[str, ...] = (
    "1.0",
    "2007-01-19",
    "2007-03-01",
    "2007-08-29",
    "2007-10-10",
    "2007-12-15",
    "2008-02-01",
    "2008-09-01",
    "2009-04-04",
)

# Nova's default `config_drive_skip_versions` leaves only these EC2 trees on a drive.
EC2_CONFIG_DRIVE_VERSIONS: tuple[str, ...] = ("2009-04-04", LATEST)


def openstack_version(requested: str) -> str | None:
    """The OpenStack version a path names ("latest" → the newest); None if unknown."""
    if requested == LATEST:
        return OPENSTACK_VERSIONS[-1]
    return requested if requested in OPENSTACK_VERSIONS else None


def ec2_version(requested: str) -> str | None:
    """The EC2 version a path names ("latest" → the newest); None if unknown."""
    if requested == LATEST:
        return EC2_VERSIONS[-1]
    return requested if requested in EC2_VERSIONS else None


def os_at_least(version: str, required: str) -> bool:
    """Whether OpenStack `version` (already resolved) includes what `required` added."""
    return OPENSTACK_VERSIONS.index(version) >= OPENSTACK_VERSIONS.index(required)


def ec2_at_least(version: str, required: str) -> bool:
    """Whether EC2 `version` (already resolved) includes what `required` added."""
    return EC2_VERSIONS.index(version) >= EC2_VERSIONS.index(required)


def listed_openstack_versions(now: datetime | None = None) -> list[str]:
    """What GET /openstack lists: versions not dated in the future, then "latest"."""
    today = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    return [v for v in OPENSTACK_VERSIONS if v <= today] + [LATEST]
