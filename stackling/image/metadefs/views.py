"""The JSON Glance gives for metadefs: attributes left unset are omitted, not null.

Links are Glance's own, relative to the API root (`/v2/...`), as its clients
expect them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from stackling.common.timeutil import isoformat
from stackling.image.metadefs import models as m
from stackling.image.metadefs.service import Association, NamespaceDetail, NamespacePage

NAMESPACES = "/v2/metadefs/namespaces"
SCHEMAS = "/v2/schemas/metadefs"


def _time(value: dt.datetime) -> str | None:
    return isoformat(value, micro=False)


def _compact(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None}


def namespace_href(name: str) -> str:
    """The `self` link of a namespace."""
    return f"{NAMESPACES}/{name}"


def namespace(ns: m.MetadefNamespace) -> dict[str, Any]:
    """A namespace's own attributes."""
    return _compact(
        {
            "namespace": ns.namespace,
            "display_name": ns.display_name,
            "description": ns.description,
            "visibility": ns.visibility,
            "protected": ns.protected,
            "owner": ns.owner,
            "created_at": _time(ns.created_at),
            "updated_at": _time(ns.updated_at),
            "self": namespace_href(ns.namespace),
            "schema": f"{SCHEMAS}/namespace",
        }
    )


def association(assoc: Association) -> dict[str, Any]:
    """A resource type association."""
    return _compact(
        {
            "name": assoc.name,
            "prefix": assoc.prefix,
            "properties_target": assoc.properties_target,
            "created_at": _time(assoc.created_at),
            "updated_at": _time(assoc.updated_at),
        }
    )


def resource_type(row: m.MetadefResourceType) -> dict[str, Any]:
    """A resource type."""
    return {
        "name": row.name,
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
    }


def _prefixed(props: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {prefix + name: value for name, value in props.items()}


def metadef_object(ns_name: str, row: m.MetadefObject, prefix: str = "") -> dict[str, Any]:
    """An object; with `prefix`, its property names as a resource type sees them."""
    return _compact(
        {
            "name": row.name,
            "description": row.description,
            "required": [prefix + name for name in row.required or []],
            "properties": _prefixed(row.properties or {}, prefix),
            "created_at": _time(row.created_at),
            "updated_at": _time(row.updated_at),
            "self": f"{namespace_href(ns_name)}/objects/{row.name}",
            "schema": f"{SCHEMAS}/object",
        }
    )


def objects(ns_name: str, rows: Iterable[m.MetadefObject]) -> dict[str, Any]:
    """GET .../objects."""
    return {
        "objects": [metadef_object(ns_name, row) for row in rows],
        # Glance gives this one link without its leading slash.
        "schema": "v2/schemas/metadefs/objects",
    }


def property_map(rows: Iterable[m.MetadefProperty], prefix: str = "") -> dict[str, Any]:
    """Property definitions by name."""
    return {prefix + row.name: dict(row.definition) for row in rows}


def metadef_property(row: m.MetadefProperty) -> dict[str, Any]:
    """One property definition, with its name."""
    return {"name": row.name, **row.definition}


def tag(row: m.MetadefTag) -> dict[str, Any]:
    """One tag."""
    return {
        "name": row.name,
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
    }


def tag_names(names: Iterable[str]) -> dict[str, Any]:
    """A list of tags, by name only, as Glance lists them."""
    return {"tags": [{"name": name} for name in names]}


def namespace_detail(detail: NamespaceDetail, resource_type: str | None = None) -> dict[str, Any]:
    """A namespace with what it holds; parts that are empty are left out.

    With `resource_type`, property names carry the prefix of that association.
    """
    ns = detail.ns
    prefix = ""
    if resource_type:
        for assoc in detail.associations:
            if assoc.name == resource_type:
                prefix = assoc.prefix or ""
                break
    doc = namespace(ns)
    if detail.associations:
        doc["resource_type_associations"] = [association(a) for a in detail.associations]
    if detail.properties:
        doc["properties"] = property_map(detail.properties, prefix)
    if detail.objects:
        doc["objects"] = [metadef_object(ns.namespace, o, prefix) for o in detail.objects]
    if detail.tags:
        doc["tags"] = [{"name": t.name} for t in detail.tags]
    return doc


def namespace_page(page: NamespacePage, query: list[tuple[str, str]]) -> dict[str, Any]:
    """GET /namespaces: the page, with `first` and `next` links keeping the other parameters."""
    params = [(k, v) for k, v in query if k != "marker"]
    doc: dict[str, Any] = {
        "namespaces": [namespace_detail(item) for item in page.items],
        "first": f"{NAMESPACES}?{urlencode(params)}" if params else NAMESPACES,
        "schema": f"{SCHEMAS}/namespaces",
    }
    if page.next_marker is not None:
        doc["next"] = f"{NAMESPACES}?{urlencode([*params, ('marker', page.next_marker)])}"
    return doc
