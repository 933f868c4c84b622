"""Metadata headers: which a request sets or removes, Swift's limits, and how they render."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers

from stackling.common import errors
from stackling.settings import ObjectSettings

# Container headers kept with the user metadata (lower-case), and how to remove them.
CONTAINER_SYSTEM = (
    "x-container-read",
    "x-container-write",
    "x-versions-location",
    "x-history-location",
    "x-container-sync-to",
    "x-container-sync-key",
)
# Object headers stored with the object and returned by GET/HEAD.
OBJECT_STORED = ("content-disposition", "content-encoding", "content-language", "x-object-manifest")


def changes(headers: Headers, kind: str, conf: ObjectSettings) -> dict[str, str]:
    """Metadata a request sets (value) or removes (""), for kind account or container."""
    meta_prefix = f"x-{kind}-meta-"
    remove_prefix = f"x-remove-{kind}-meta-"
    out: dict[str, str] = {}
    for key, value in headers.items():
        if key.startswith(meta_prefix):
            out[key] = value.strip()
        elif key.startswith(remove_prefix):
            out[meta_prefix + key[len(remove_prefix) :]] = ""
        elif kind == "container":
            if key in CONTAINER_SYSTEM:
                out[key] = value.strip()
            elif key.startswith("x-remove-") and f"x-{key[len('x-remove-') :]}" in CONTAINER_SYSTEM:
                out[f"x-{key[len('x-remove-') :]}"] = ""
    check(out, meta_prefix, conf)
    return out


def object_meta(headers: Headers, conf: ObjectSettings) -> dict[str, str]:
    """The user metadata and stored headers of an object PUT or POST."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        if key.startswith("x-object-meta-") or key in OBJECT_STORED:
            out[key] = value.strip()
    check(out, "x-object-meta-", conf)
    # Swift keeps user metadata with an empty value (and shows it); stored headers
    # such as Content-Disposition are dropped when empty.
    return {k: v for k, v in out.items() if v != "" or k.startswith("x-object-meta-")}


def check(meta: dict[str, str], prefix: str, conf: ObjectSettings) -> None:
    """Swift's metadata limits: name and value length, count, overall size; 400 past them."""
    count = size = 0
    for key, value in meta.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        if not name:
            raise errors.BadRequest("Metadata name cannot be empty")
        if len(name) > conf.max_meta_name_length:
            raise errors.BadRequest(f"Metadata name too long: {key}")
        if len(value) > conf.max_meta_value_length:
            raise errors.BadRequest(
                f"Metadata value longer than {conf.max_meta_value_length}: {key}"
            )
        count += 1
        size += len(name) + len(value)
    if count > conf.max_meta_count:
        raise errors.BadRequest(f"Too many metadata items; max {conf.max_meta_count}")
    if size > conf.max_meta_overall_size:
        raise errors.BadRequest(f"Total metadata too large; max {conf.max_meta_overall_size}")


def title(key: str) -> str:
    """A stored lower-case header name as Swift spells it in responses."""
    return "-".join(part[:1].upper() + part[1:] for part in key.split("-"))


def render(meta: dict[str, Any]) -> dict[str, str]:
    """Stored metadata as response headers."""
    return {title(k): str(v) for k, v in meta.items() if not k.startswith("x-sys-")}
