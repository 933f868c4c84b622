"""Request bodies checked the way Cinder's JSON schemas check them, with its messages."""

from __future__ import annotations

import contextlib
import re
import uuid
from typing import Any

from stackling.common import errors
from stackling.volume import faults
from stackling.volume.service.types import TypeCreate
from stackling.volume.service.volumes import VolumeCreate

MAX_INT = 0x7FFFFFFF
# Sources a volume may be created from; each answers 400 until it is implemented.
UNSUPPORTED_SOURCES = ("backup_id",)
TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")
FALSE_STRINGS = ("0", "f", "false", "off", "n", "no")
# An integer as text: ASCII digits (int() also reads other scripts' digits, and not "²").
_INTEGER_TEXT = re.compile(r"-?[0-9]+")


def invalid(attr: str, value: Any, reason: str) -> errors.BadRequest:
    """Cinder's schema validation failure."""
    return errors.BadRequest(f"Invalid input for field/attribute {attr}. Value: {value}. {reason}")


def envelope(body: Any, key: str) -> dict[str, Any]:
    """The object under `key` of a body such as {"volume": {...}}."""
    if not isinstance(body, dict) or key not in body:
        raise errors.BadRequest(f"Missing required element '{key}' in request body.")
    inner = body[key]
    if not isinstance(inner, dict):
        raise invalid(key, inner, f"{inner!r} is not of type 'object'")
    return inner


def text(attr: str, value: Any, *, max_len: int = 255, nullable: bool = True) -> str | None:
    """A string of at most `max_len` characters (None allowed when nullable)."""
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise invalid(attr, value, f"{value!r} is not of type 'string'")
    if len(value) > max_len:
        raise invalid(attr, value, f"{value!r} is too long")
    return value


def name(attr: str, value: Any) -> str:
    """A required, non-blank name (Cinder's name_allow_zero_min_length is not for types)."""
    if not isinstance(value, str):
        raise invalid(attr, value, f"{value!r} is not of type 'string'")
    if not value.strip() or len(value) > 255:
        raise invalid(attr, value, "Name must be 1-255 characters long and not only spaces.")
    return value


def _integer_text(value: Any) -> Any:
    """The int a string of (at most 20) ASCII digits spells; any other value as it is."""
    if isinstance(value, str):
        text = value.strip()
        # More digits than any limit has: refused as a string, before int() refuses them.
        if _INTEGER_TEXT.fullmatch(text) and len(text) <= 20:
            return int(text)
    return value


def size(attr: str, value: Any) -> int:
    """A volume size: an integer (or a string of digits) of at least 1 GiB."""
    if isinstance(value, bool):
        raise invalid(attr, value, f"{value!r} is not of type 'integer', 'string'")
    if isinstance(value, str) and not value.strip().startswith("-"):
        value = _integer_text(value)
    if not isinstance(value, int):
        raise invalid(attr, value, f"{value!r} is not of type 'integer', 'string'")
    if value < 1:
        raise invalid(attr, value, f"{value} is less than the minimum of 1")
    if value > MAX_INT:
        raise invalid(attr, value, f"{value} is greater than the maximum of {MAX_INT}")
    return value


def boolean(attr: str, value: Any) -> bool:
    """A boolean, or one of the strings Cinder accepts for one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in TRUE_STRINGS:
            return True
        if low in FALSE_STRINGS:
            return False
    raise invalid(attr, value, f"{value!r} is not a valid boolean")


def metadata(attr: str, value: Any) -> dict[str, str]:
    """String keys of 1-255 characters to string values of at most 255."""
    if not isinstance(value, dict):
        raise invalid(attr, value, f"{value!r} is not of type 'object'")
    for key, item in value.items():
        if not key or len(key) > 255:
            raise invalid(attr, value, f"{key!r} does not match any of the regexes: '^.{{1,255}}$'")
        if not isinstance(item, str):
            raise invalid(attr, value, f"{item!r} is not of type 'string'")
        if len(item) > 255:
            raise invalid(attr, value, f"{item!r} is too long")
    return dict(value)


def volume_create(body: Any) -> VolumeCreate:
    """The volume to create; 400 for what Cinder's schema refuses or this cloud lacks."""
    vol = envelope(body, "volume")
    for source in UNSUPPORTED_SOURCES:
        if vol.get(source) is not None:
            raise errors.BadRequest(
                f"Creating a volume from {source} is not supported by this cloud yet."
            )
    sources = [k for k in ("snapshot_id", "source_volid", "imageRef") if vol.get(k) is not None]
    if len(sources) > 1:
        raise errors.BadRequest(
            f"Invalid input received: only one of {', '.join(sources)} may be given."
        )
    copied = bool(sources) and sources[0] != "imageRef"
    if vol.get("size") is None and not copied:
        raise errors.BadRequest("Invalid input received: 'size' is a required property.")
    return VolumeCreate(
        # A copy's size defaults to its source's (the service knows it).
        size=size("size", vol["size"]) if vol.get("size") is not None else None,
        # The v1 names are still read, as Cinder does.
        name=text("name", vol.get("name", vol.get("display_name"))),
        description=text(
            "description", vol.get("description", vol.get("display_description")), max_len=65535
        ),
        metadata=metadata("metadata", vol["metadata"]) if vol.get("metadata") else {},
        volume_type=text("volume_type", vol.get("volume_type")),
        availability_zone=text("availability_zone", vol.get("availability_zone")),
        multiattach=boolean("multiattach", vol.get("multiattach", False)),
        image_id=image_ref(vol.get("imageRef", vol.get("image_id"))),
        snapshot_id=uuid_ref("snapshot_id", vol.get("snapshot_id")),
        source_volid=uuid_ref("source_volid", vol.get("source_volid")),
        group_id=uuid_ref("group_id", vol.get("group_id")),
    )


def uuid_ref(attr: str, value: Any) -> str | None:
    """An optional reference that Cinder's schema requires to be a UUID."""
    if value is None:
        return None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return str(uuid.UUID(value))
    raise invalid(attr, value, f"{value!r} is not a 'uuid'")


def image_ref(value: Any) -> str | None:
    """The image id of an imageRef: an id, or a link whose last segment is one (as Cinder)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid("imageRef", value, f"{value!r} is not a valid image reference")
    return value.strip().rstrip("/").rsplit("/", 1)[-1]


def volume_update(body: Any) -> dict[str, Any]:
    """Changes of PUT /volumes/{id}: name, description, metadata."""
    vol = envelope(body, "volume")
    changes: dict[str, Any] = {}
    for key, legacy in (("name", "display_name"), ("description", "display_description")):
        for attr in (key, legacy):
            if attr in vol:
                limit = 255 if key == "name" else 65535
                changes[key] = text(attr, vol[attr], max_len=limit)
    if "metadata" in vol:
        changes["metadata"] = metadata("metadata", vol["metadata"])
    if not changes:
        raise errors.BadRequest(
            "Invalid input received: Specify name, description or metadata to update."
        )
    return changes


def action(body: Any) -> tuple[str, Any]:
    """The one action named by a POST /volumes/{id}/action body, and its argument."""
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.BadRequest("There is either no action or more than one in the request body.")
    ((name_, arg),) = body.items()
    return name_, arg


def action_flag(arg: Any, attr: str) -> bool:
    """The required boolean of an action such as os-set_bootable or os-update_readonly_flag."""
    if not isinstance(arg, dict) or attr not in arg:
        raise faults.InvalidInput(f"Must specify {attr} in request.")
    return boolean(attr, arg[attr])


def extend_size(arg: Any) -> int:
    """os-extend's new_size."""
    if not isinstance(arg, dict) or "new_size" not in arg:
        raise errors.BadRequest("Invalid input received: 'new_size' is a required property.")
    return size("new_size", arg["new_size"])


def type_create(body: Any) -> TypeCreate:
    """The volume type to create."""
    vt = envelope(body, "volume_type")
    if "name" not in vt:
        raise errors.BadRequest("Invalid input received: 'name' is a required property.")
    public = vt.get("os-volume-type-access:is_public", vt.get("is_public", True))
    return TypeCreate(
        name=name("name", vt["name"]).strip(),
        description=text("description", vt.get("description")),
        is_public=boolean("os-volume-type-access:is_public", public),
        extra_specs=extra_specs(vt["extra_specs"]) if vt.get("extra_specs") else {},
    )


def type_update(body: Any) -> dict[str, Any]:
    """Changes of PUT /types/{id}: name, description, is_public."""
    vt = envelope(body, "volume_type")
    changes: dict[str, Any] = {}
    if vt.get("name") is not None:
        changes["name"] = name("name", vt["name"]).strip()
    if "description" in vt:
        changes["description"] = text("description", vt["description"])
    if vt.get("is_public") is not None:
        changes["is_public"] = boolean("is_public", vt["is_public"])
    if not changes:
        raise errors.BadRequest(
            "Specify volume type name, description, is_public or a combination thereof."
        )
    return changes


def extra_specs(value: Any) -> dict[str, str]:
    """Extra specs: keys of 1-255 characters, values strings (numbers and booleans as text)."""
    if not isinstance(value, dict):
        raise invalid("extra_specs", value, f"{value!r} is not of type 'object'")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not key or len(key) > 255:
            raise invalid("extra_specs", value, f"{key!r} is not a valid extra spec key")
        if isinstance(item, bool | int | float):
            item = str(item)
        if not isinstance(item, str) or len(item) > 255:
            raise invalid("extra_specs", value, f"{item!r} is not a valid extra spec value")
        out[key] = item
    return out


def extra_specs_body(body: Any) -> dict[str, str]:
    """POST /types/{id}/extra_specs: {"extra_specs": {...}}."""
    if not isinstance(body, dict) or "extra_specs" not in body:
        raise errors.BadRequest("Missing required element 'extra_specs' in request body.")
    return extra_specs(body["extra_specs"])


def extra_spec_item(body: Any, key: str) -> str:
    """PUT /types/{id}/extra_specs/{key}: exactly {key: value}."""
    if not isinstance(body, dict) or not body:
        raise errors.BadRequest("Malformed request body.")
    if len(body) > 1:
        raise errors.BadRequest("Request body contains too many items.")
    if key not in body:
        raise errors.BadRequest("Request body and URI mismatch.")
    return extra_specs(body)[key]


def quota_update(body: Any, known: tuple[str, ...]) -> dict[str, int]:
    """PUT /os-quota-sets/{project}: integer limits of -1 or more for known resources."""
    qs = envelope(body, "quota_set")
    out: dict[str, int] = {}
    for key, value in qs.items():
        if key in ("tenant_id", "id"):
            continue
        if key not in known:
            raise errors.BadRequest(f"Bad key(s) in quota set: {key}")
        value = _integer_text(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(key, value, f"{value!r} is not of type 'integer'")
        if value < -1:
            raise errors.BadRequest(
                f"Invalid input received: Quota limit {value} for {key} must be -1 or greater."
            )
        if value > MAX_INT:
            raise invalid(key, value, f"{value} is greater than the maximum of {MAX_INT}")
        out[key] = value
    return out


def type_access_action(body: Any) -> tuple[str, str]:
    """POST /types/{id}/action: {"addProjectAccess"|"removeProjectAccess": {"project": id}}."""
    names = ("addProjectAccess", "removeProjectAccess")
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in names:
        raise errors.BadRequest("Invalid request body")
    action = next(iter(body))
    inner = envelope(body, action)
    project = inner.get("project")
    if not isinstance(project, str) or not project:
        raise invalid("project", project, "'project' is a required property")
    return action, project
