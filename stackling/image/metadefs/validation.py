"""Request bodies of the metadefs API, checked as Glance's JSON schemas check them.

Glance answers a body that names a read-only attribute with 403 (before it
validates anything else) and any other invalid body with 400; so do these.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from stackling.common import errors
from stackling.image.metadefs.models import NAME_LEN

TYPES = ("array", "boolean", "integer", "number", "object", "string")
VISIBILITIES = ("public", "private")
TIMESTAMPS = ("created_at", "updated_at")
LINKS_AND_TIMESTAMPS = ("self", "schema", *TIMESTAMPS)

# A property definition's attributes (Glance's PropertyType).
_PROPERTY_KEYS = frozenset(
    {
        "name",
        "title",
        "description",
        "operators",
        "type",
        "default",
        "readonly",
        "minimum",
        "maximum",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "confidential",
        "items",
        "uniqueItems",
        "minItems",
        "maxItems",
        "additionalItems",
    }
)


@dataclass(slots=True)
class AssociationInput:
    """A resource type association as the client gave it."""

    name: str
    prefix: str | None = None
    properties_target: str | None = None


@dataclass(slots=True)
class ObjectInput:
    """An object as the client gave it."""

    name: str
    description: str | None = None
    required: list[str] = field(default_factory=list)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class NamespaceInput:
    """A namespace as the client gave it, with whatever content it embeds."""

    namespace: str
    display_name: str | None = None
    description: str | None = None
    visibility: str | None = None
    protected: bool | None = None
    owner: str | None = None
    associations: list[AssociationInput] = field(default_factory=list)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: list[ObjectInput] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


# -- small checks ---------------------------------------------------------------------------


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.BadRequest(f"Invalid {what}: expected a JSON object.")
    return value


def _refuse_read_only(body: Mapping[str, Any], keys: Collection[str]) -> None:
    for key in keys:
        if key in body:
            raise errors.Forbidden(f"Attribute '{key}' is read-only.")


def _only(body: Mapping[str, Any], allowed: Collection[str], what: str) -> None:
    extra = sorted(set(body) - set(allowed))
    if extra:
        names = ", ".join(repr(k) for k in extra)
        raise errors.BadRequest(f"Invalid {what}: additional properties are not allowed ({names}).")


def _text(
    body: Mapping[str, Any],
    key: str,
    what: str,
    *,
    max_len: int | None = None,
    required: bool = False,
    non_empty: bool = False,
) -> str | None:
    if key not in body:
        if required:
            raise errors.BadRequest(f"Invalid {what}: '{key}' is a required property.")
        return None
    value = body[key]
    if not isinstance(value, str):
        raise errors.BadRequest(f"Invalid {what}: '{key}' must be a string.")
    if max_len is not None and len(value) > max_len:
        raise errors.BadRequest(f"Invalid {what}: '{key}' is longer than {max_len} characters.")
    if non_empty and not value:
        raise errors.BadRequest(f"Invalid {what}: '{key}' must not be empty.")
    return value


def _name(body: Mapping[str, Any], key: str, what: str) -> str:
    value = _text(body, key, what, max_len=NAME_LEN, required=True, non_empty=True)
    assert value is not None
    return value


def _flag(body: Mapping[str, Any], key: str, what: str) -> bool | None:
    if key not in body:
        return None
    value = body[key]
    if not isinstance(value, bool):
        raise errors.BadRequest(f"Invalid {what}: '{key}' must be a boolean.")
    return value


def _is_number(value: Any) -> bool:
    # JSON Schema does not count true/false as numbers; Python does.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _strings(value: Any, key: str, what: str, *, unique: bool = False) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.BadRequest(f"Invalid {what}: '{key}' must be an array of strings.")
    if unique and len(set(value)) != len(value):
        raise errors.BadRequest(f"Invalid {what}: '{key}' has non-unique elements.")
    return list(value)


def _enum_values(value: Any, key: str, what: str) -> list[Any]:
    if not isinstance(value, list) or not all(
        isinstance(v, str | bool) or _is_number(v) for v in value
    ):
        raise errors.BadRequest(f"Invalid {what}: '{key}' must be an array of plain values.")
    return list(value)


def _type_name(body: Mapping[str, Any], what: str) -> str:
    value = body.get("type")
    if "type" not in body:
        raise errors.BadRequest(f"Invalid {what}: 'type' is a required property.")
    if value not in TYPES:
        raise errors.BadRequest(f"Invalid {what}: 'type' must be one of {', '.join(TYPES)}.")
    return str(value)


# -- property definitions -------------------------------------------------------------------


def _items(value: Any, what: str) -> dict[str, Any]:
    where = f"{what} 'items'"
    items = _mapping(value, where)
    _only(items, ("type", "enum"), where)
    out: dict[str, Any] = {"type": _type_name(items, where)}
    if "enum" in items:
        out["enum"] = _enum_values(items["enum"], "enum", where)
    return out


def property_definition(value: Any, what: str) -> dict[str, Any]:
    """A property definition, normalised; its name (if any) is left to the caller."""
    body = _mapping(value, what)
    _only(body, _PROPERTY_KEYS, what)
    out: dict[str, Any] = {
        "title": _text(body, "title", what, required=True),
        "type": _type_name(body, what),
    }
    for key in ("description", "pattern"):
        text = _text(body, key, what)
        if text is not None:
            out[key] = text
    if "pattern" in out:
        try:
            re.compile(out["pattern"])
        except re.error as exc:
            raise errors.BadRequest(f"Invalid {what}: 'pattern' is not a regex ({exc}).") from exc
    for key in ("readonly", "confidential", "uniqueItems", "additionalItems"):
        flag = _flag(body, key, what)
        if flag is not None:
            out[key] = flag
    for key in ("minimum", "maximum"):
        if key in body:
            if not _is_number(body[key]):
                raise errors.BadRequest(f"Invalid {what}: '{key}' must be a number.")
            out[key] = body[key]
    for key in ("minLength", "maxLength", "minItems", "maxItems"):
        if key in body:
            count = body[key]
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise errors.BadRequest(f"Invalid {what}: '{key}' must be an integer >= 0.")
            out[key] = count
    if "operators" in body:
        out["operators"] = _strings(body["operators"], "operators", what)
    if "enum" in body:
        out["enum"] = _enum_values(body["enum"], "enum", what)
    if "items" in body:
        out["items"] = _items(body["items"], what)
    if "default" in body:
        out["default"] = body["default"]
    return out


def property_map(value: Any, what: str) -> dict[str, dict[str, Any]]:
    """A {name: definition} map, as namespaces and objects embed their properties."""
    props = _mapping(value, what)
    out: dict[str, dict[str, Any]] = {}
    for name, definition in props.items():
        if not name or len(name) > NAME_LEN:
            raise errors.BadRequest(
                f"Invalid {what}: property names must be 1 to {NAME_LEN} characters."
            )
        out[name] = property_definition(definition, f"property {name!r}")
    return out


def property_body(body: Any) -> tuple[str, dict[str, Any]]:
    """POST/PUT .../properties[/name]: (name, definition)."""
    what = "property"
    data = _mapping(body, what)
    _refuse_read_only(data, TIMESTAMPS)
    name = _name(data, "name", what)
    return name, property_definition(data, what)


# -- objects, tags, resource type associations ---------------------------------------------


def _object(data: dict[str, Any], what: str) -> ObjectInput:
    _only(data, ("name", "description", "required", "properties"), what)
    required = data.get("required")
    props = data.get("properties")
    return ObjectInput(
        name=_name(data, "name", what),
        description=_text(data, "description", what),
        required=[] if required is None else _strings(required, "required", what, unique=True),
        properties={} if props is None else property_map(props, f"{what} properties"),
    )


def object_body(body: Any) -> ObjectInput:
    """POST/PUT .../objects[/name]."""
    data = _mapping(body, "object")
    _refuse_read_only(data, LINKS_AND_TIMESTAMPS)
    return _object(data, "object")


def tag_body(body: Any) -> str:
    """PUT .../tags/{name}: the new name."""
    data = _mapping(body, "tag")
    _refuse_read_only(data, TIMESTAMPS)
    _only(data, ("name",), "tag")
    return _name(data, "name", "tag")


def tag_name(name: str) -> str:
    """A tag name taken from the path."""
    return _name({"name": name}, "name", "tag")


def _tag_items(value: Any, what: str) -> list[str]:
    if not isinstance(value, list):
        raise errors.BadRequest(f"Invalid {what}: 'tags' must be an array.")
    names = []
    for item in value:
        tag = _mapping(item, f"{what} tag")
        # Echoed timestamps of an exported tag are ignored, as Glance ignores them.
        _only(tag, ("name", *TIMESTAMPS), f"{what} tag")
        names.append(_name(tag, "name", f"{what} tag"))
    return names


def tags_body(body: Any) -> list[str]:
    """POST .../tags: {"tags": [{"name": ...}, ...]}."""
    data = _mapping(body, "tags")
    _refuse_read_only(data, TIMESTAMPS)
    _only(data, ("tags",), "tags")
    if "tags" not in data:
        raise errors.BadRequest("Invalid tags: 'tags' is a required property.")
    return _tag_items(data["tags"], "tags")


def _association(data: dict[str, Any], what: str) -> AssociationInput:
    _only(data, ("name", "prefix", "properties_target"), what)
    return AssociationInput(
        name=_name(data, "name", what),
        prefix=_text(data, "prefix", what, max_len=NAME_LEN),
        properties_target=_text(data, "properties_target", what, max_len=NAME_LEN),
    )


def association_body(body: Any) -> AssociationInput:
    """POST .../resource_types."""
    data = _mapping(body, "resource type association")
    _refuse_read_only(data, TIMESTAMPS)
    return _association(data, "resource type association")


# -- namespaces -----------------------------------------------------------------------------


def _list_of(value: Any, key: str, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise errors.BadRequest(f"Invalid {what}: '{key}' must be an array.")
    return [_mapping(item, f"{what} {key} item") for item in value]


def _strip_echoes(item: dict[str, Any], keys: Collection[str]) -> dict[str, Any]:
    # A namespace exported with GET carries links and timestamps in its parts;
    # they are output only, so importing it again just drops them.
    return {k: v for k, v in item.items() if k not in keys}


def namespace_body(body: Any) -> NamespaceInput:
    """POST /namespaces and PUT /namespaces/{name}."""
    what = "namespace"
    data = _mapping(body, what)
    _refuse_read_only(data, LINKS_AND_TIMESTAMPS)
    _only(
        data,
        (
            "namespace",
            "display_name",
            "description",
            "visibility",
            "protected",
            "owner",
            "resource_type_associations",
            "properties",
            "objects",
            "tags",
        ),
        what,
    )
    visibility = _text(data, "visibility", what)
    if visibility is not None and visibility not in VISIBILITIES:
        raise errors.BadRequest(f"Invalid {what}: 'visibility' must be 'public' or 'private'.")
    ns = NamespaceInput(
        namespace=_name(data, "namespace", what),
        display_name=_text(data, "display_name", what, max_len=NAME_LEN),
        description=_text(data, "description", what, max_len=500),
        visibility=visibility,
        protected=_flag(data, "protected", what),
        owner=_text(data, "owner", what, max_len=255),
    )
    if "resource_type_associations" in data:
        key = "resource_type_associations"
        ns.associations = [
            _association(_strip_echoes(item, TIMESTAMPS), f"{what} {key} item")
            for item in _list_of(data[key], key, what)
        ]
    if "properties" in data:
        ns.properties = property_map(data["properties"], f"{what} properties")
    if "objects" in data:
        ns.objects = [
            _object(_strip_echoes(item, LINKS_AND_TIMESTAMPS), f"{what} object")
            for item in _list_of(data["objects"], "objects", what)
        ]
    if "tags" in data:
        ns.tags = _tag_items(data["tags"], what)
    return ns


# -- query strings --------------------------------------------------------------------------


def limit_param(raw: str | None, *, default: int | None, maximum: int | None) -> int | None:
    """A `limit` query parameter: a non-negative integer, capped at `maximum`."""
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError as exc:
        raise errors.BadRequest("limit param must be an integer") from exc
    if limit < 0:
        raise errors.BadRequest("limit param must be positive")
    return min(limit, maximum) if maximum is not None else limit


def sort_dir_param(raw: str | None) -> str:
    """A `sort_dir` query parameter: asc or desc (desc by default)."""
    value = raw if raw is not None else "desc"
    if value not in ("asc", "desc"):
        raise errors.BadRequest(f"Invalid sort direction: {value}")
    return value


def visibility_param(raw: str | None) -> str | None:
    """A `visibility` filter: public or private."""
    if raw and raw not in VISIBILITIES:
        raise errors.BadRequest(f"Invalid visibility value: {raw}")
    return raw or None
