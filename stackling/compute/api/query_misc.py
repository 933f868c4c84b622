"""Query strings of the flavor, key pair, group, host, quota and usage routes, read as Nova does."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from fastapi import Request

from stackling.common import errors
from stackling.compute.api.deps import Links
from stackling.compute.api.microversion import Version

_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}
_MAX_INT = 0x7FFFFFFF


class Query:
    """A request's query parameters; the last value of a repeated one wins (as webob's)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.items = list(request.query_params.multi_items())

    def has(self, name: str) -> bool:
        """Was `name` given at all?"""
        return any(key == name for key, _ in self.items)

    def get(self, name: str) -> str | None:
        """The last value of `name`, or None."""
        found = None
        for key, value in self.items:
            if key == name:
                found = value
        return found

    def only(self, mv: Version, allowed: Iterable[str], since: str | None = "2.75") -> None:
        """400 for a parameter Nova's schema does not know, from microversion `since` on."""
        if since is not None and not mv.at_least(since):
            return
        known = set(allowed)
        for key, _ in self.items:
            if key not in known:
                raise errors.BadRequest(
                    f"Invalid input for query parameters {key}. Value: {self.get(key)}. "
                    f"Additional properties are not allowed ('{key}' was unexpected)"
                )

    def integer(self, name: str, minimum: int = 0) -> int | None:
        """A whole number of at least `minimum`, or None when absent; 400 otherwise."""
        value = self.get(name)
        if value is None:
            return None
        try:
            number = int(value.strip())
        except ValueError:
            raise errors.BadRequest(
                f"Invalid input for query parameters {name}. Value: {value}. "
                f"'{value}' is not a 'integer'"
            ) from None
        if number < minimum:
            raise errors.BadRequest(
                f"Invalid input for query parameters {name}. Value: {value}. "
                f"{number} is less than the minimum of {minimum}"
            )
        # Larger numbers mean "everything" to a limit or offset; databases cannot take them.
        return min(number, _MAX_INT)

    def boolean(self, name: str) -> bool | None:
        """A strict boolean (true/false, 1/0, yes/no, on/off), or None when absent."""
        value = self.get(name)
        if value is None:
            return None
        return parse_bool(value, f"query parameters {name}")

    def next_links(self, path: str, marker: str | int) -> list[dict[str, str]]:
        """Nova's `next` link: this request's parameters with `marker` replaced."""
        params = [(k, v) for k, v in self.items if k != "marker"]
        params.append(("marker", str(marker)))
        href = f"{Links(self.request).v21}/{path}?{urlencode(params)}"
        return [{"rel": "next", "href": href}]


def parse_bool(value: object, what: str) -> bool:
    """A JSON or query boolean as Nova's schemas accept it; 400 for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise errors.BadRequest(f"Invalid input for {what}. Value: {value}. Must be a boolean.")


def page_limit(limit: int | None, max_limit: int) -> int:
    """The page size Nova uses: the asked limit capped by max_limit (0 or none: max_limit)."""
    if not limit:
        return max_limit
    return min(limit, max_limit)


def full_page(count: int, limit: int | None, max_limit: int) -> bool:
    """Did a page fill up, so that Nova would offer a `next` link?"""
    return count > 0 and count == page_limit(limit, max_limit)


def not_in_version() -> errors.NotFound:
    """Nova's answer to a method the requested microversion does not have."""
    return errors.NotFound("The resource could not be found.")
