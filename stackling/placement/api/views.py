"""The JSON Placement returns, per microversion."""

from __future__ import annotations

from typing import Any

from stackling.placement.api.microversion import Version
from stackling.placement.service.records import Candidate, ConsumerAllocations, Inventory, Provider

PREFIX = "/placement"


def provider_url(uuid: str) -> str:
    """Where a provider lives (relative to the host, as Placement writes its links)."""
    return f"{PREFIX}/resource_providers/{uuid}"


def provider(rp: Provider, version: Version) -> dict[str, Any]:
    """A resource provider with the links its microversion shows."""
    url = provider_url(rp.uuid)
    links = [
        {"rel": "self", "href": url},
        {"rel": "inventories", "href": f"{url}/inventories"},
        {"rel": "usages", "href": f"{url}/usages"},
    ]
    for minor, rel in ((1, "aggregates"), (6, "traits"), (11, "allocations")):
        if version.at_least(minor):
            links.append({"rel": rel, "href": f"{url}/{rel}"})
    out: dict[str, Any] = {
        "uuid": rp.uuid,
        "name": rp.name,
        "generation": rp.generation,
        "links": links,
    }
    if version.at_least(14):
        out["parent_provider_uuid"] = rp.parent_provider_uuid
        out["root_provider_uuid"] = rp.root_provider_uuid
    return out


def providers(rps: list[Provider], version: Version) -> dict[str, Any]:
    """The provider list."""
    return {"resource_providers": [provider(rp, version) for rp in rps]}


def inventories(invs: dict[str, Inventory], generation: int) -> dict[str, Any]:
    """Every inventory of a provider."""
    return {
        "inventories": {rc: inv.as_dict() for rc, inv in sorted(invs.items())},
        "resource_provider_generation": generation,
    }


def inventory(inv: Inventory, generation: int) -> dict[str, Any]:
    """One inventory of a provider."""
    return {**inv.as_dict(), "resource_provider_generation": generation}


def resource_class(name: str) -> dict[str, Any]:
    """A resource class and its link."""
    return {
        "name": name,
        "links": [{"rel": "self", "href": f"{PREFIX}/resource_classes/{name}"}],
    }


def consumer_allocations(held: ConsumerAllocations, version: Version) -> dict[str, Any]:
    """GET /allocations/{consumer}."""
    out: dict[str, Any] = {
        "allocations": {
            rp: {"generation": held.provider_generations[rp], "resources": resources}
            for rp, resources in sorted(held.allocations.items())
        }
    }
    if held.allocations and version.at_least(12):
        out["project_id"] = held.project_id
        out["user_id"] = held.user_id
    if held.allocations and version.at_least(28):
        out["consumer_generation"] = held.generation
    if held.allocations and version.at_least(38):
        out["consumer_type"] = held.consumer_type or "unknown"
    return out


def provider_allocations(by_consumer: dict[str, dict[str, int]], generation: int) -> dict[str, Any]:
    """GET /resource_providers/{uuid}/allocations."""
    return {
        "allocations": {
            consumer: {"resources": resources}
            for consumer, resources in sorted(by_consumer.items())
        },
        "resource_provider_generation": generation,
    }


def _summary(c: Candidate, requested: dict[str, int], version: Version) -> dict[str, Any]:
    classes = c.summaries if version.at_least(27) else {rc: c.summaries[rc] for rc in requested}
    out: dict[str, Any] = {"resources": {rc: dict(s) for rc, s in sorted(classes.items())}}
    if version.at_least(17):
        out["traits"] = sorted(c.traits)
    if version.at_least(29):
        out["parent_provider_uuid"] = c.parent_provider_uuid
        out["root_provider_uuid"] = c.root_provider_uuid
    return out


def _request(c: Candidate, version: Version) -> dict[str, Any]:
    if not version.at_least(12):
        return {
            "allocations": [
                {"resource_provider": {"uuid": c.provider_uuid}, "resources": dict(c.resources)}
            ]
        }
    out: dict[str, Any] = {"allocations": {c.provider_uuid: {"resources": dict(c.resources)}}}
    if version.at_least(34):
        out["mappings"] = {"": [c.provider_uuid]}
    return out


def candidates(
    found: list[Candidate], requested: dict[str, int], version: Version
) -> dict[str, Any]:
    """GET /allocation_candidates."""
    return {
        "allocation_requests": [_request(c, version) for c in found],
        "provider_summaries": {c.provider_uuid: _summary(c, requested, version) for c in found},
    }
