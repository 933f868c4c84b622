"""Shortcuts over the Cinder HTTP API for the volume tests."""

from __future__ import annotations

from typing import Any

import httpx

V3 = "/volume/v3"
TERMINAL = ("available", "error", "error_extending", "error_deleting")


def auth(token: str | None, version: str | None = None) -> dict[str, str]:
    """Headers authenticating as `token` (none: the client's own), at a microversion."""
    headers = {"X-Auth-Token": token} if token else {}
    if version:
        headers["OpenStack-API-Version"] = f"volume {version}"
    return headers


def assert_fault(r: httpx.Response, status: int, name: str) -> str:
    """Assert Cinder's `{name: {"code", "message"}}`; the message."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    body = r.json()
    assert list(body) == [name], body
    assert body[name]["code"] == status, body
    assert isinstance(body[name]["message"], str) and body[name]["message"], body
    return str(body[name]["message"])


async def settle(c: httpx.AsyncClient, volume_id: str, token: str | None = None) -> dict[str, Any]:
    """The volume once the agent is done with it (None when it is gone); a bounded wait."""
    agent = c._transport.app.state.runtime.service("volume").agent  # type: ignore[attr-defined]
    for _ in range(200):
        await agent.drain()
        r = await c.get(f"{V3}/volumes/{volume_id}", headers=auth(token))
        if r.status_code == 404:
            return {}
        vol: dict[str, Any] = r.json()["volume"]
        if vol["status"] in TERMINAL:
            return vol
        # The cast is still on the bus: let its consumer run.
        import asyncio

        await asyncio.sleep(0)
    raise AssertionError(f"volume {volume_id} did not settle")


async def create_volume(
    c: httpx.AsyncClient, token: str | None = None, **fields: Any
) -> dict[str, Any]:
    """Create a volume (size 1 unless given) and wait until it is available."""
    body = {"size": 1, **fields}
    r = await c.post(f"{V3}/volumes", json={"volume": body}, headers=auth(token))
    assert r.status_code == 202, r.text
    return await settle(c, r.json()["volume"]["id"], token)
