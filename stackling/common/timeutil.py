"""Time helpers: everything is UTC, ISO 8601 on the wire."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Aware current time in UTC."""
    return dt.datetime.now(dt.UTC)


def isoformat(value: dt.datetime | None, *, micro: bool = True) -> str | None:
    """`2024-01-02T03:04:05.000000Z` as Keystone prints times; None stays None."""
    if value is None:
        return None
    value = value.astimezone(dt.UTC)
    if micro:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def from_epoch(seconds: float) -> dt.datetime:
    """Aware UTC datetime from a Unix timestamp."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def parse_iso(value: str) -> dt.datetime:
    """Parse an ISO 8601 time; naive times are taken as UTC.

    ValueError when malformed, or when the time has no UTC equivalent a datetime can
    hold ("0001-01-01T00:00:00+01:00" is a year 0 in UTC).
    """
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is out of the range of UTC times") from None
