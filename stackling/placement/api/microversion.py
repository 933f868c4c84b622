"""Placement microversions: `OpenStack-API-Version: placement 1.X`, 1.0 to 1.39."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stackling.common import errors
from stackling.placement.errors import VersionNotAcceptable

SERVICE = "placement"
HEADER = "OpenStack-API-Version"
MIN_MINOR = 0
MAX_MINOR = 39
_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


@dataclass(frozen=True, order=True)
class Version:
    """A requested placement microversion."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, minor: int) -> bool:
        """Whether this is 1.`minor` or newer."""
        return (self.major, self.minor) >= (1, minor)


MIN = Version(1, MIN_MINOR)
MAX = Version(1, MAX_MINOR)


def _requested(values: list[str]) -> str | None:
    """The version asked of placement among header values like "compute 2.1, placement 1.4"."""
    for value in values:
        for part in value.split(","):
            words = part.strip().split(None, 1)
            if len(words) == 2 and words[0].lower() == SERVICE:
                return words[1].strip()
    return None


def negotiate(values: list[str]) -> Version:
    """The version a request asked for (1.0 when it did not say); 400/406 when unusable."""
    asked = _requested(values)
    if asked is None:
        return MIN
    if asked.lower() == "latest":
        return MAX
    match = _VERSION.match(asked)
    if match is None:
        raise errors.BadRequest(f"Invalid microversion: invalid version string: {asked}")
    version = Version(int(match.group(1)), int(match.group(2)))
    if not MIN <= version <= MAX:
        raise VersionNotAcceptable(
            f"Invalid microversion: Unacceptable version header: {asked}",
            min_version=str(MIN),
            max_version=str(MAX),
        )
    return version
