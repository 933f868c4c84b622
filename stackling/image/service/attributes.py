"""Checks on image attributes as clients send them (create and JSON-patch share these)."""

from __future__ import annotations

import uuid
from typing import Any

from stackling.common import errors
from stackling.image import schemas

_ENUMS: dict[str, tuple[str | None, ...]] = {
    "visibility": schemas.VISIBILITIES,
    "disk_format": (None, *schemas.DISK_FORMATS),
    "container_format": (None, *schemas.CONTAINER_FORMATS),
}
_UUID_PROPERTIES = ("kernel_id", "ramdisk_id")


def refuse_protected_name(name: str) -> None:
    """403 for attributes the server owns: read-only, reserved, or os_glance_*."""
    if name in schemas.READ_ONLY:
        raise errors.Forbidden(f"Attribute '{name}' is read-only.")
    if name in schemas.RESERVED or name.startswith(schemas.RESERVED_PREFIX):
        raise errors.Forbidden(f"Attribute '{name}' is reserved.")


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.BadRequest(f"Invalid value for '{name}': {value!r} is not of type 'integer'")
    if value < 0:
        raise errors.BadRequest(f"Invalid value for '{name}': cannot be a negative value.")
    if value > schemas.INT_MAX:
        raise errors.BadRequest(f"Invalid value for '{name}': must be at most {schemas.INT_MAX}.")
    return value


def check_uuid(name: str, value: Any) -> str:
    """A dashed UUID string, or 400."""
    try:
        if not isinstance(value, str) or str(uuid.UUID(value)) != value.lower():
            raise ValueError(value)
    except ValueError:
        raise errors.BadRequest(f"Invalid value for '{name}': {value!r} is not a UUID.") from None
    return value


def core_value(name: str, value: Any) -> Any:
    """Validate a writable core attribute's value; the value to store."""
    if name in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise errors.BadRequest(
                f"Invalid value for '{name}': {value!r} is not of type 'boolean'"
            )
        return value
    if name in ("min_ram", "min_disk"):
        return _integer(name, value)
    if name in ("name", "owner"):
        if value is not None and not isinstance(value, str):
            raise errors.BadRequest(f"Invalid value for '{name}': {value!r} is not a string.")
        if value is not None and len(value) > 255:
            raise errors.BadRequest(f"Invalid value for '{name}': longer than 255 characters.")
        if value is not None:
            refuse_nul(name, value)
        return value
    if name in _ENUMS:
        if value not in _ENUMS[name]:
            allowed = ", ".join(str(v) for v in _ENUMS[name] if v is not None)
            raise errors.BadRequest(
                f"Invalid value for '{name}': {value!r} is not one of: {allowed}."
            )
        return value
    if name == "tags":
        return tag_list(value)
    raise errors.BadRequest(f"Unknown attribute '{name}'.")


def tag_list(value: Any) -> list[str]:
    """A list of tags, each a string of at most 255 characters; duplicates dropped."""
    if not isinstance(value, list):
        raise errors.BadRequest("Invalid value for 'tags': must be a list of strings.")
    out: list[str] = []
    for tag in value:
        out.append(check_tag(tag))
    return list(dict.fromkeys(out))


def check_tag(tag: Any) -> str:
    """One tag: a non-empty string of at most 255 characters."""
    if not isinstance(tag, str) or not tag:
        raise errors.BadRequest("Invalid tag: tags are non-empty strings.")
    if len(tag) > 255:
        raise errors.BadRequest("Invalid tag: longer than 255 characters.")
    refuse_nul("tag", tag)
    return tag


def refuse_nul(name: str, value: str) -> None:
    """400 for a NUL character, which PostgreSQL cannot store (SQLite would, silently)."""
    if "\x00" in value:
        raise errors.BadRequest(f"Invalid value for '{name}': cannot contain NUL characters.")


def property_value(name: str, value: Any) -> str:
    """A custom property: a string name of at most 255 and a string value."""
    if not name or len(name) > 255:
        raise errors.BadRequest("Property names are 1 to 255 characters long.")
    if not isinstance(value, str):
        raise errors.BadRequest(
            f"Invalid value for property '{name}': {value!r} is not of type 'string'"
        )
    if name in _UUID_PROPERTIES:
        check_uuid(name, value)
    if "\x00" in value or "\x00" in name:
        raise errors.BadRequest("Property names and values cannot contain NUL characters.")
    return value
