"""Swift's timestamps: "%016.5f" seconds strings, and the dates derived from them."""

from __future__ import annotations

import datetime as dt
import math
import time
from email.utils import formatdate


def now() -> str:
    """The current time in Swift's normal form (also what X-Timestamp reports)."""
    return normal(time.time())


def normal(seconds: float) -> str:
    """Seconds in Swift's normal form: zero-padded, five decimals."""
    return f"{seconds:016.5f}"


def after(previous: str | None) -> str:
    """Now, or just after `previous` when the clock has not moved past it."""
    current = time.time()
    if previous is not None:
        current = max(current, float(previous) + 0.00001)
    return normal(current)


def http_date(timestamp: str) -> str:
    """Last-Modified: the timestamp rounded up to the second (as Swift does)."""
    return formatdate(math.ceil(float(timestamp)), usegmt=True)


def iso(timestamp: str) -> str:
    """A listing's last_modified: ISO 8601 with microseconds, UTC, no zone."""
    when = dt.datetime.fromtimestamp(float(timestamp), dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")


def s3_iso(timestamp: str) -> str:
    """S3's LastModified: ISO 8601 with milliseconds and Z."""
    when = dt.datetime.fromtimestamp(float(timestamp), dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def seconds(timestamp: str) -> float:
    """A normal-form timestamp as float seconds."""
    return float(timestamp)
