"""Microversions (Nova 2.X, Placement 1.X, Cinder 3.X): parsed and compared the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache, total_ordering

from stackling.common import errors

_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


@total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    """A microversion such as 2.79."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """`2.79` -> Version(2, 79); 400 when malformed (Nova's InvalidAPIVersionString)."""
        match = _FORMAT.match(text.strip())
        if match is None:
            raise errors.BadRequest(
                f"API Version String {text} is of invalid format. "
                "Must be of format MajorNum.MinorNum."
            )
        return cls(int(match.group(1)), int(match.group(2)))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, text: str) -> bool:
        """Is this version >= `text`?"""
        # Views ask this dozens of times per item of a listing: compare plain tuples.
        return (self.major, self.minor) >= _floor(text)


@lru_cache(maxsize=256)
def _floor(text: str) -> tuple[int, int]:
    """A version literal of the code (such as "2.47") as a tuple, parsed once."""
    version = Version.parse(text)
    return version.major, version.minor
