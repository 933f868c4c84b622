"""Shortcuts over the Placement HTTP API for the placement tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

P = "/placement"
LATEST = {"OpenStack-API-Version": "placement latest"}


def mv(minor: int, **extra: str) -> dict[str, str]:
    """Headers asking for placement 1.`minor`."""
    return {"OpenStack-API-Version": f"placement 1.{minor}", **extra}


def new_uuid() -> str:
    """A fresh UUID string."""
    return str(uuid.uuid4())


def assert_placement_fault(
    r: httpx.Response, status: int, code: str = "placement.undefined_code"
) -> dict[str, Any]:
    """Assert Placement's error body of `status` (and `code`); the one error in it."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    body = r.json()
    assert set(body) == {"errors"}, body
    (error,) = body["errors"]
    assert error["status"] == status, error
    assert error["code"] == code, error
    assert error["request_id"].startswith("req-"), error
    assert isinstance(error["title"], str) and error["title"], error
    assert isinstance(error["detail"], str) and error["detail"], error
    return dict(error)


async def create_provider(
    c: httpx.AsyncClient, name: str | None = None, **fields: Any
) -> dict[str, Any]:
    """Create a provider at the newest version; its JSON."""
    body = {"name": name or f"rp-{uuid.uuid4().hex[:8]}", **fields}
    r = await c.post(f"{P}/resource_providers", json=body, headers=LATEST)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def set_inventory(
    c: httpx.AsyncClient, rp: dict[str, Any], **classes: dict[str, Any] | int
) -> dict[str, Any]:
    """Replace a provider's inventories (an int means just a total); the response."""
    current = await c.get(f"{P}/resource_providers/{rp['uuid']}", headers=LATEST)
    invs = {rc: v if isinstance(v, dict) else {"total": v} for rc, v in classes.items()}
    r = await c.put(
        f"{P}/resource_providers/{rp['uuid']}/inventories",
        json={"inventories": invs, "resource_provider_generation": current.json()["generation"]},
        headers=LATEST,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def provider_with(c: httpx.AsyncClient, **classes: dict[str, Any] | int) -> dict[str, Any]:
    """A new provider with these inventories."""
    rp = await create_provider(c)
    await set_inventory(c, rp, **classes)
    return rp


async def put_allocations(
    c: httpx.AsyncClient,
    consumer: str,
    allocations: dict[str, dict[str, int]],
    *,
    generation: int | None = None,
    project_id: str = "proj",
    user_id: str = "user",
    minor: int = 28,
) -> httpx.Response:
    """PUT /allocations/{consumer} in the 1.12+ dict form."""
    body: dict[str, Any] = {
        "allocations": {rp: {"resources": res} for rp, res in allocations.items()},
        "project_id": project_id,
        "user_id": user_id,
    }
    if minor >= 28:
        body["consumer_generation"] = generation
    if minor >= 38:
        body["consumer_type"] = "INSTANCE"
    return await c.put(f"{P}/allocations/{consumer}", json=body, headers=mv(minor))


async def usages(c: httpx.AsyncClient, rp: dict[str, Any]) -> dict[str, int]:
    """The provider's usages."""
    r = await c.get(f"{P}/resource_providers/{rp['uuid']}/usages")
    assert r.status_code == 200, r.text
    return dict(r.json()["usages"])
