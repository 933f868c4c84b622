"""Checks of request bodies shared by flavors, key pairs, groups, aggregates and quotas.

Messages follow Nova's schema errors: "Invalid input for field/attribute X. Value: Y. why".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from stackling.common import errors

MAX_INT = 0x7FFFFFFF
_DIGITS = re.compile(r"-?[0-9]+")
# More than any 64-bit number has; int() refuses strings of thousands of digits.
_MAX_DIGITS = 40


def invalid(field: str, value: Any, why: str) -> errors.BadRequest:
    """Nova's 400 for one bad field."""
    return errors.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {why}")


def row_id(value: str) -> int | None:
    """An integer path id that a database row could have; None for anything else."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 <= number <= MAX_INT else None


def obj(value: Any, field: str) -> dict[str, Any]:
    """A JSON object, else 400."""
    if not isinstance(value, dict):
        raise invalid(field, value, f"{value!r} is not of type 'object'")
    return value


def only(data: dict[str, Any], allowed: Iterable[str], field: str) -> None:
    """400 for a key the schema does not allow."""
    known = set(allowed)
    extra = sorted(str(key) for key in data if key not in known)
    if extra:
        quoted = ", ".join(f"'{key}'" for key in extra)
        were = "were" if len(extra) > 1 else "was"
        raise invalid(
            field, data, f"Additional properties are not allowed ({quoted} {were} unexpected)"
        )


def required(data: dict[str, Any], names: Iterable[str], field: str) -> None:
    """400 when a required key is missing."""
    for name in names:
        if name not in data:
            raise invalid(field, data, f"'{name}' is a required property")


def printable(text: str) -> bool:
    """No control, format, surrogate or unassigned characters (Nova's printable check)."""
    return all(not unicodedata.category(ch).startswith("C") for ch in text)


def name(value: Any, field: str = "name", max_length: int = 255) -> str:
    """Nova's `name`: 1-255 printable characters without leading or trailing whitespace."""
    if not isinstance(value, str):
        raise invalid(field, value, f"{value!r} is not of type 'string'")
    if not 1 <= len(value) <= max_length:
        raise invalid(field, value, f"The length must be between 1 and {max_length}.")
    if value != value.strip() or not printable(value):
        raise invalid(
            field,
            value,
            "It must be printable characters without leading or trailing whitespace.",
        )
    return value


def string(value: Any, field: str, *, min_length: int = 0, max_length: int = 255) -> str:
    """A string of a bounded length."""
    if not isinstance(value, str):
        raise invalid(field, value, f"{value!r} is not of type 'string'")
    if not min_length <= len(value) <= max_length:
        raise invalid(field, value, f"The length must be between {min_length} and {max_length}.")
    return value


def from_digits(value: Any) -> Any:
    """The int a string of ASCII digits (with an optional '-') spells; other values as they are.

    Not str.isdigit(): it also takes superscripts ("²"), which int() refuses, and other
    scripts' digits, which int() reads but Nova's schemas refuse. Nor a string too long
    for int() to read: no limit or count has that many digits.
    """
    if isinstance(value, str) and len(value) <= _MAX_DIGITS and _DIGITS.fullmatch(value):
        return int(value)
    return value


def integer(
    value: Any, field: str, *, minimum: int, maximum: int = MAX_INT, strings: bool = True
) -> int:
    """A whole number (or its decimal string, as Nova accepts) within bounds."""
    if isinstance(value, bool):
        raise invalid(field, value, f"{value!r} is not of type 'integer', 'string'")
    number = from_digits(value.strip()) if isinstance(value, str) and strings else value
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if not isinstance(number, int):
        raise invalid(field, value, f"{value!r} is not a valid integer")
    if number < minimum:
        raise invalid(field, value, f"{number} is less than the minimum of {minimum}")
    if number > maximum:
        raise invalid(field, value, f"{number} is greater than the maximum of {maximum}")
    return number


def boolean(value: Any, field: str) -> bool:
    """Nova's `boolean`: true/false or one of their usual string spellings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "t", "true", "on", "y", "yes"):
            return True
        if lowered in ("0", "f", "false", "off", "n", "no"):
            return False
    raise invalid(field, value, f"{value!r} is not of type 'boolean', 'string'")
