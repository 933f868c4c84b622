"""Flavors as Nova shows them, microversion by microversion."""

from __future__ import annotations

from typing import Any

from stackling.common.microversion import Version
from stackling.compute.api.deps import Links
from stackling.compute.service.flavors import FlavorRecord


def summary(record: FlavorRecord, mv: Version, links: Links) -> dict[str, Any]:
    """A flavor in GET /flavors."""
    flavor = record.flavor
    body: dict[str, Any] = {
        "id": flavor.flavorid,
        "name": flavor.name,
        "links": links.pair("flavors", flavor.flavorid),
    }
    if mv.at_least("2.55"):
        body["description"] = flavor.description
    return body


def detail(record: FlavorRecord, mv: Version, links: Links) -> dict[str, Any]:
    """A flavor in GET /flavors/detail, GET /flavors/{id}, POST and PUT."""
    flavor = record.flavor
    body = summary(record, mv, links)
    body.update(
        {
            "ram": flavor.memory_mb,
            "disk": flavor.root_gb,
            "vcpus": flavor.vcpus,
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": flavor.disabled,
            "os-flavor-access:is_public": flavor.is_public,
            # Until 2.75 Nova shows no swap as an empty string.
            "swap": flavor.swap if flavor.swap or mv.at_least("2.75") else "",
            # rxtx_factor stays up to 2.101, past this cloud's newest microversion.
            "rxtx_factor": flavor.rxtx_factor,
        }
    )
    if mv.at_least("2.61"):
        body["extra_specs"] = dict(record.extra_specs)
    return body
