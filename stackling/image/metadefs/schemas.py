"""The JSON-schema documents served at /v2/schemas/metadefs/{kind}, shaped as Glance's.

Each document is named after what it describes (`namespace`, `namespaces`,
`resource_type_association`...); a collection's document holds its item's
schema, with the shared definitions lifted to the top.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from stackling.image.metadefs.models import NAME_LEN
from stackling.image.metadefs.validation import TYPES

Doc = dict[str, Any]

_TYPE = {"type": "string", "enum": [*TYPES, None]}
_STRING = {"type": "string"}
_LINK = {"type": "string", "readOnly": True}


def _ref(name: str) -> Doc:
    return {"$ref": f"#/definitions/{name}"}


def _timestamp(description: str) -> Doc:
    return {"type": "string", "readOnly": True, "description": description, "format": "date-time"}


def _definitions(*, non_empty_arrays: bool) -> Doc:
    string_array: Doc = {"type": "array", "items": _STRING, "uniqueItems": True}
    if non_empty_arrays:
        string_array["minItems"] = 1
    return {
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {"allOf": [_ref("positiveInteger"), {"default": 0}]},
        "stringArray": string_array,
    }


def _property_attributes() -> Doc:
    """What one property definition may say about the value it describes."""
    return {
        "name": {"type": "string", "maxLength": NAME_LEN},
        "title": _STRING,
        "description": _STRING,
        "operators": {"type": "array", "items": _STRING},
        "type": _TYPE,
        "required": _ref("stringArray"),
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": _ref("positiveInteger"),
        "minLength": _ref("positiveIntegerDefault0"),
        "pattern": {"type": "string", "format": "regex"},
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {
            "type": "object",
            "properties": {"type": _TYPE, "enum": {"type": "array"}},
        },
        "maxItems": _ref("positiveInteger"),
        "minItems": _ref("positiveIntegerDefault0"),
        "uniqueItems": {"type": "boolean", "default": False},
        "additionalItems": {"type": "boolean"},
    }


def _definitions_with_property() -> Doc:
    defs = _definitions(non_empty_arrays=False)
    defs["property"] = {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "required": ["title", "type"],
            "properties": _property_attributes(),
        },
    }
    return defs


def _item(name: str, properties: Doc, required: list[str], definitions: Doc | None = None) -> Doc:
    doc: Doc = {"name": name, "properties": properties, "additionalProperties": False}
    if definitions:
        doc["definitions"] = definitions
    if required:
        doc["required"] = required
    return doc


def _collection(name: str, item: Doc, *, keyed: bool = False) -> Doc:
    """A collection's document: a list of items (or a map of them when `keyed`)."""
    inner = dict(item)
    definitions = inner.pop("definitions", None)
    holder = (
        {"type": "object", "additionalProperties": inner}
        if keyed
        else {"type": "array", "items": inner}
    )
    doc: Doc = {
        "name": name,
        "properties": {
            name: holder,
            "first": _STRING,
            "next": _STRING,
            "schema": _STRING,
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }
    if definitions:
        doc["definitions"] = definitions
    return doc


def namespace() -> Doc:
    """The schema of one namespace."""
    named = {"type": "object", "properties": {"name": _STRING}}
    properties = {
        "namespace": {
            "type": "string",
            "maxLength": NAME_LEN,
            "description": "The namespace's name, unique in the cloud.",
        },
        "display_name": {
            "type": "string",
            "maxLength": NAME_LEN,
            "description": "A friendlier name for user interfaces to show.",
        },
        "description": {
            "type": "string",
            "maxLength": 500,
            "description": "What the namespace is about, for people.",
        },
        "visibility": {
            "type": "string",
            "enum": ["public", "private"],
            "description": "Who may see the namespace.",
        },
        "protected": {
            "type": "boolean",
            "description": "When true, the namespace cannot be deleted.",
        },
        "owner": {
            "type": "string",
            "maxLength": 255,
            "description": "The project owning the namespace.",
        },
        "created_at": _timestamp("When the namespace was created."),
        "updated_at": _timestamp("When the namespace last changed."),
        "schema": _LINK,
        "self": _LINK,
        "resource_type_associations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": _STRING,
                    "prefix": _STRING,
                    "properties_target": _STRING,
                },
            },
        },
        "properties": _ref("property"),
        "objects": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": _STRING,
                    "description": _STRING,
                    "required": _ref("stringArray"),
                    "properties": _ref("property"),
                },
            },
        },
        "tags": {"type": "array", "items": named},
    }
    return _item("namespace", properties, ["namespace"], _definitions_with_property())


def resource_type_association() -> Doc:
    """The schema of one resource type association."""
    properties = {
        "name": {
            "type": "string",
            "maxLength": NAME_LEN,
            "description": "The resource type, named as Heat names resource types"
            " where it can (OS::Nova::Flavor...).",
        },
        "prefix": {
            "type": "string",
            "maxLength": NAME_LEN,
            "description": "What the namespace's property names are prefixed with when"
            " applied to this resource type, separator included (hw_, hw:...).",
        },
        "properties_target": {
            "type": "string",
            "maxLength": NAME_LEN,
            "description": "Which of the resource's key/value sets the properties go to,"
            " for resources that have several (a volume's image metadata, say).",
        },
        "created_at": _timestamp("When the association was made."),
        "updated_at": _timestamp("When the association last changed."),
    }
    return _item("resource_type_association", properties, ["name"])


def metadef_property() -> Doc:
    """The schema of one property definition."""
    return _item(
        "property",
        _property_attributes(),
        ["title", "type", "name"],
        _definitions(non_empty_arrays=True),
    )


def metadef_object() -> Doc:
    """The schema of one object."""
    properties = {
        "name": {"type": "string", "maxLength": NAME_LEN},
        "description": _STRING,
        "required": _ref("stringArray"),
        "properties": _ref("property"),
        "schema": _LINK,
        "self": _LINK,
        "created_at": _timestamp("When the object was created."),
        "updated_at": _timestamp("When the object last changed."),
    }
    return _item("object", properties, ["name"], _definitions_with_property())


def tag() -> Doc:
    """The schema of one tag."""
    properties = {
        "name": {"type": "string", "maxLength": NAME_LEN},
        "created_at": _timestamp("When the tag was created."),
        "updated_at": _timestamp("When the tag last changed."),
    }
    return _item("tag", properties, ["name"])


def _properties_collection() -> Doc:
    item = metadef_property()
    item["required"] = [k for k in item["required"] if k != "name"]
    return _collection("properties", item, keyed=True)


_BUILDERS: dict[str, Callable[[], Doc]] = {
    "namespace": namespace,
    "namespaces": lambda: _collection("namespaces", namespace()),
    "resource_type": resource_type_association,
    "resource_types": lambda: _collection(
        "resource_type_associations", resource_type_association()
    ),
    "property": metadef_property,
    "properties": _properties_collection,
    "object": metadef_object,
    "objects": lambda: _collection("objects", metadef_object()),
    "tag": tag,
    "tags": lambda: _collection("tags", tag()),
}

KINDS = tuple(_BUILDERS)


@functools.cache
def document(kind: str) -> Doc | None:
    """The schema document served at /v2/schemas/metadefs/{kind}; None for an unknown kind."""
    builder = _BUILDERS.get(kind)
    return builder() if builder is not None else None
