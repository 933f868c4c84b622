"""The host's metadata server: the guest is who its address says, whatever headers it sends."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackling.compute.metadata.app import build_metadata_app
from stackling.compute.metadata.signing import sign_instance_id
from stackling.compute.metadata.source import InstanceMetadataSource
from stackling.network.metadata.lookup import PortOwner
from stackling.network.metadata.server import MetadataServer
from tests.unit.compute.metadata.sources import PROJECT, UUID, make_source

SECRET = b"shared-with-the-proxy"
NETWORK = "3b9a1e52-7c7d-4f57-9d5e-2b1f6a0c8d11"
GUEST = "10.0.0.5"
OTHER_UUID = "0f0f0f0f-1111-4222-8333-444444444444"


async def echo_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app that answers with what it was given."""
    body = (await receive())["body"]
    seen = {
        "path": scope["path"],
        "query": scope["query_string"].decode(),
        "client": scope["client"][0],
        "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
        "body": body.decode(),
    }
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


@dataclass
class Signer:
    app: Any

    def sign(self, instance_id: str) -> str:
        return sign_instance_id(SECRET, instance_id)


class Backend:
    """Two instances, as the compute database would give them."""

    shared_secret = SECRET

    async def source_for(self, instance_id: str) -> InstanceMetadataSource | None:
        sources = {UUID: make_source(), OTHER_UUID: make_source(uuid=OTHER_UUID)}
        return sources.get(instance_id)

    async def set_password(self, instance_id: str, password: str) -> bool:
        return True


async def resolve(network_id: str, address: str) -> PortOwner | None:
    if (network_id, address) == (NETWORK, GUEST):
        return PortOwner(UUID, PROJECT, "port-1")
    return None


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="stkmd-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def started(path: Path, app: Any) -> MetadataServer:
    server = MetadataServer(path, resolve, Signer(app))
    await server.start()
    return server


@pytest.fixture
async def echo(sock_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    server = await started(sock_dir / "metadata.sock", echo_app)
    transport = httpx.AsyncHTTPTransport(uds=str(server.path))
    async with httpx.AsyncClient(transport=transport, base_url="http://169.254.169.254") as c:
        yield c
    await server.stop()


def proxied(address: str = GUEST, network: str = NETWORK, **extra: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, "X-Neutron-Network-ID": network, **extra}


async def test_identity_comes_from_network_and_address_only(echo: httpx.AsyncClient) -> None:
    forged = {
        "X-Instance-ID": OTHER_UUID,
        "X-Tenant-ID": "other-project",
        "X-Instance-ID-Signature": sign_instance_id(SECRET, OTHER_UUID),
        "X-Neutron-Router-ID": "r",
    }
    r = await echo.post("/openstack/latest/password?a=b", content=b"pw", headers=proxied(**forged))
    assert r.status_code == 200, r.text
    seen = r.json()
    headers: dict[str, list[str]] = {}
    for name, value in seen["headers"]:
        headers.setdefault(name, []).append(value)
    assert headers["x-instance-id"] == [UUID]
    assert headers["x-tenant-id"] == [PROJECT]
    assert headers["x-instance-id-signature"] == [sign_instance_id(SECRET, UUID)]
    assert headers["x-forwarded-for"] == [GUEST]
    assert "x-neutron-router-id" not in headers and "x-neutron-network-id" not in headers
    assert (seen["path"], seen["query"], seen["body"]) == (
        "/openstack/latest/password",
        "a=b",
        "pw",
    )
    assert seen["client"] == GUEST


@pytest.mark.parametrize(
    "headers",
    [
        proxied(address="10.0.0.6"),
        proxied(network="a2c4e6f8-0000-4000-8000-000000000000"),
        proxied(address="not-an-address"),
    ],
)
async def test_unknown_guest_is_a_plain_404(echo: httpx.AsyncClient, headers: Any) -> None:
    r = await echo.get("/openstack/latest/meta_data.json", headers=headers)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == "404 Not Found\n\nThe resource could not be found.\n\n"


async def test_request_without_proxy_headers_is_refused(echo: httpx.AsyncClient) -> None:
    r = await echo.get("/", headers={"X-Forwarded-For": GUEST})
    assert r.status_code == 400
    # Two addresses: the proxy sends exactly one, so this did not come from it.
    r = await echo.get("/", headers={**proxied(), "x-forwarded-for": "10.0.0.6"})
    assert r.status_code == 400


async def test_the_real_app_accepts_the_servers_signature(sock_dir: Path) -> None:
    server = await started(sock_dir / "metadata.sock", build_metadata_app(Backend()))
    transport = httpx.AsyncHTTPTransport(uds=str(server.path))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as c:
            r = await c.get(
                "/openstack/latest/meta_data.json",
                headers=proxied(**{"X-Instance-ID": OTHER_UUID}),
            )
            assert r.status_code == 200, r.text
            assert r.json()["uuid"] == UUID
            r = await c.head("/openstack/latest/meta_data.json", headers=proxied())
            assert r.status_code == 200
    finally:
        await server.stop()


async def test_socket_is_private_replaces_a_stale_one_and_goes_at_stop(sock_dir: Path) -> None:
    path = sock_dir / "metadata.sock"
    path.write_text("stale")
    server = await started(path, echo_app)
    mode = path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    await server.stop()
    assert not path.exists()
    # Nothing else either: the temporary name the socket was bound under is gone too.
    assert os.listdir(sock_dir) == []


async def test_too_long_socket_path_is_refused_clearly(sock_dir: Path) -> None:
    server = MetadataServer(sock_dir / ("x" * 120), resolve, Signer(echo_app))
    with pytest.raises(ValueError, match="too long"):
        await server.start()
