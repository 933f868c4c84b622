"""Shortcuts over the Neutron HTTP API for the network tests."""

from __future__ import annotations

from typing import Any

import httpx

V20 = "/networking/v2.0"


def auth(token: str | None) -> dict[str, str]:
    """Headers authenticating as `token` (none: the client's own)."""
    return {"X-Auth-Token": token} if token else {}


def assert_fault(r: httpx.Response, status: int, kind: str | None = None) -> dict[str, Any]:
    """Assert Neutron's `{"NeutronError": {"type", "message", "detail"}}`; the inner object."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    body = r.json()
    assert set(body) == {"NeutronError"}, body
    error = body["NeutronError"]
    assert set(error) == {"type", "message", "detail"}, error
    assert isinstance(error["message"], str) and error["message"], error
    if kind is not None:
        assert error["type"] == kind, error
    return dict(error)


async def create(
    c: httpx.AsyncClient, member: str, token: str | None = None, **fields: Any
) -> dict[str, Any]:
    """POST one resource (`member` is its singular name), asserting 201; its JSON."""
    path = member.replace("_", "-") + "s"
    r = await c.post(f"{V20}/{path}", json={member: fields}, headers=auth(token))
    assert r.status_code == 201, f"create {member}: {r.status_code} {r.text}"
    return dict(r.json()[member])


async def network_with_subnet(
    c: httpx.AsyncClient, token: str | None = None, cidr: str = "10.0.0.0/24", **subnet: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new network and one IPv4 subnet on it."""
    net = await create(c, "network", token, name="net")
    sub = await create(c, "subnet", token, network_id=net["id"], ip_version=4, cidr=cidr, **subnet)
    return net, sub


async def external_network(
    c: httpx.AsyncClient, cidr: str = "172.24.4.0/24", **subnet: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new external network (as admin: `c` must be the admin's client) with one subnet."""
    net = await create(c, "network", name="public", **{"router:external": True})
    sub = await create(c, "subnet", network_id=net["id"], ip_version=4, cidr=cidr, **subnet)
    return net, sub


async def router_interface(
    c: httpx.AsyncClient, router_id: str, action: str, token: str | None = None, **body: Any
) -> httpx.Response:
    """PUT /routers/{id}/{add,remove}_router_interface with `body`."""
    return await c.put(
        f"{V20}/routers/{router_id}/{action}_router_interface", json=body, headers=auth(token)
    )
