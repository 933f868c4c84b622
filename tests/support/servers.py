"""Shortcuts over the Nova v2.1 HTTP API, for tests that boot servers on the fake driver."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.support.image import active_image, headers_for, make_qcow2

V21 = "/compute/v2.1"


def mv(version: str, token: str | None = None) -> dict[str, str]:
    """Headers asking for a compute microversion (as `token`, when given)."""
    return headers_for(token, **{"OpenStack-API-Version": f"compute {version}"})


def assert_nova_fault(r: httpx.Response, status: int, key: str | None = None) -> dict[str, Any]:
    """Assert Nova's fault body, `{"<name>": {"code", "message"}}`; the inner object."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    body = r.json()
    assert len(body) == 1, body
    name, fault = next(iter(body.items()))
    if key is not None:
        assert name == key, body
    assert fault["code"] == status, body
    assert isinstance(fault["message"], str) and fault["message"], body
    return dict(fault)


async def boot_image(c: httpx.AsyncClient, tmp_path: Path, token: str | None = None) -> str:
    """A small public qcow2 image to boot from (admin client); its id."""
    data = make_qcow2(tmp_path / "boot.qcow2", 1 << 20)
    image = await active_image(
        c, data, token, name="boot", disk_format="qcow2", container_format="bare",
        visibility="public",
    )  # fmt: skip
    return str(image["id"])


def _at_least(version: str, floor: str) -> bool:
    return tuple(map(int, version.split("."))) >= tuple(map(int, floor.split(".")))


async def create_server(
    c: httpx.AsyncClient,
    image_id: str,
    token: str | None = None,
    version: str = "2.1",
    **fields: Any,
) -> httpx.Response:
    """POST /servers (flavor s1.nano unless given); the response."""
    server = {"name": "vm", "imageRef": image_id, "flavorRef": "100", **fields}
    if "networks" not in server and _at_least(version, "2.37"):
        server["networks"] = "none"
    return await c.post(f"{V21}/servers", json={"server": server}, headers=mv(version, token))


async def boot(c: httpx.AsyncClient, image_id: str, token: str | None = None, **fields: Any) -> str:
    """Create a server, asserting 202; its id."""
    r = await create_server(c, image_id, token, **fields)
    assert r.status_code == 202, f"create server: {r.status_code} {r.text}"
    return str(r.json()["server"]["id"])


async def show(
    c: httpx.AsyncClient, server_id: str, token: str | None = None, version: str = "2.1"
) -> dict[str, Any]:
    """GET /servers/{id}, asserting 200; the server."""
    r = await c.get(f"{V21}/servers/{server_id}", headers=mv(version, token))
    assert r.status_code == 200, f"show server: {r.status_code} {r.text}"
    return dict(r.json()["server"])


async def wait_status(
    c: httpx.AsyncClient,
    server_id: str,
    wanted: str | set[str],
    token: str | None = None,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Poll a server until its status is `wanted` and no task runs; the server."""
    wanted = {wanted} if isinstance(wanted, str) else wanted
    server: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                server = await show(c, server_id, token)
                if server["status"] in wanted and server["OS-EXT-STS:task_state"] is None:
                    return server
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"server never reached {wanted}: {server}") from None


async def wait_gone(
    c: httpx.AsyncClient, server_id: str, token: str | None = None, timeout_s: float = 30.0
) -> None:
    """Poll until GET /servers/{id} is 404."""
    async with asyncio.timeout(timeout_s):
        while True:
            r = await c.get(f"{V21}/servers/{server_id}", headers=headers_for(token))
            if r.status_code == 404:
                return
            await asyncio.sleep(0.02)


async def action(
    c: httpx.AsyncClient,
    server_id: str,
    body: dict[str, Any],
    token: str | None = None,
    version: str = "2.1",
) -> httpx.Response:
    """POST /servers/{id}/action."""
    return await c.post(f"{V21}/servers/{server_id}/action", json=body, headers=mv(version, token))
