"""Reading and checking request bodies, with Placement's 400/415 answers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from fastapi import Request

from stackling.common import errors

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
_CLASS = re.compile(r"^[A-Z0-9_]+$")
MAX_INT = 2147483647


def invalid(message: str) -> errors.BadRequest:
    """Placement's schema failure."""
    return errors.BadRequest(f"JSON does not validate: {message}")


async def json_body(request: Request) -> Any:
    """The JSON body; 415 unless sent as application/json, 400 when it does not parse."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        shown = ctype or "None"
        raise errors.UnsupportedMediaType(
            f"The media type {shown} is not supported, use application/json"
        )
    raw = await request.body()
    try:
        value = json.loads(raw)
        # A lone UTF-16 surrogate parses but no database can store it.
        json.dumps(value, ensure_ascii=False).encode()
    except (ValueError, UnicodeError) as exc:
        raise errors.BadRequest(f"Malformed JSON: {exc}") from None
    return value


def obj(
    value: Any, where: str, required: Iterable[str] = (), optional: Iterable[str] = ()
) -> dict[str, Any]:
    """`value` as a JSON object with exactly these keys allowed, the required ones present."""
    if not isinstance(value, dict):
        raise invalid(f"{where} must be an object")
    need = list(required)
    allowed = set(need) | set(optional)
    extra = sorted(set(value) - allowed)
    if extra:
        raise invalid(
            f"Additional properties are not allowed ({extra[0]!r} was unexpected) in {where}"
        )
    for key in need:
        if key not in value:
            raise invalid(f"{key!r} is a required property of {where}")
    return value


def integer(value: Any, where: str, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """An integer within bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{value!r} is not of type 'integer' ({where})")
    if not minimum <= value <= maximum:
        raise invalid(f"{value!r} is out of range {minimum}..{maximum} ({where})")
    return value


def generation(value: Any, where: str = "resource_provider_generation") -> int:
    """A generation number."""
    return integer(value, where, 0, 2**62)


def string(value: Any, where: str, max_length: int = 255, min_length: int = 1) -> str:
    """A string of bounded length."""
    if not isinstance(value, str):
        raise invalid(f"{value!r} is not of type 'string' ({where})")
    if not min_length <= len(value) <= max_length:
        raise invalid(f"{where} must be {min_length} to {max_length} characters long")
    return value


def uuid(value: Any, where: str) -> str:
    """A UUID string (dashes optional, as Placement's format checker allows)."""
    if not isinstance(value, str) or not _UUID.match(value):
        raise invalid(f"{value!r} is not a 'uuid' ({where})")
    return value


def resource_class(value: Any, where: str = "resource class") -> str:
    """A resource class name: upper-case letters, digits and underscores."""
    text = string(value, where)
    if not _CLASS.match(text):
        raise invalid(f"{value!r} does not match '^[A-Z0-9_]+$' ({where})")
    return text


def string_list(value: Any, where: str, *, unique: bool = True) -> list[str]:
    """A list of strings, without repeats when `unique`."""
    if not isinstance(value, list):
        raise invalid(f"{where} must be an array")
    items = [string(item, where) for item in value]
    if unique and len(set(items)) != len(items):
        raise invalid(f"{where} has non-unique elements")
    return items


def resources(value: Any, where: str) -> dict[str, int]:
    """A {resource class: positive amount} object."""
    body = obj(value, where, optional=value.keys() if isinstance(value, dict) else ())
    return {resource_class(rc, where): integer(n, f"{where}.{rc}", 1) for rc, n in body.items()}
