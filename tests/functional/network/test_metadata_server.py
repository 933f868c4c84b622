"""The host's metadata server on a real database: guests find themselves by network and address.

The cloud runs compute and network in one process, as `stackling up` does; the
server is started through the network plugin's hook with the metadata app the
compute plugin offers, and spoken to on its unix socket as a proxy would.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from stackling.app import build_app
from stackling.compute import models as cm
from stackling.compute.metadata.backend import metadata_endpoint
from stackling.compute.metadata.signing import sign_instance_id
from stackling.network.metadata.service import socket_path
from stackling.settings import Settings
from tests.conftest import issue_token, make_settings
from tests.functional.network.support import create, network_with_subnet

GUEST_A = "10.0.0.5"
GUEST_B = "10.0.0.6"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Compute and network in one process; a short data dir (unix socket paths are short)."""
    (tmp_path / "data").mkdir()  # where `db_url` keeps a SQLite database
    data = Path(tempfile.mkdtemp(prefix="stkmd-", dir="/tmp"))
    yield make_settings(
        data,
        database={"url": db_url},
        services=["identity", "placement", "image", "compute", "network"],
    )
    shutil.rmtree(data, ignore_errors=True)


@dataclass
class Cloud:
    admin: httpx.AsyncClient
    runtime: Any
    guest: httpx.AsyncClient  # on the metadata socket, as the proxy speaks to it
    network_id: str
    project_id: str

    async def instance(self, address: str, **values: Any) -> str:
        """A server row, and a compute port holding `address` on the network; its uuid."""
        server = str(uuid.uuid4())
        compute = self.runtime.service("compute").svc

        async def add(s: Any) -> None:
            s.add(
                cm.Instance(
                    uuid=server,
                    display_name=f"vm-{address}",
                    hostname=f"vm-{address.replace('.', '-')}",
                    project_id=self.project_id,
                    user_id="u",
                    reservation_id="r-00000001",
                    flavor={"name": "s1.nano", "vcpus": 1, "ram": 128},
                    requested_networks=[],
                    **values,
                )
            )

        await compute.tx(add)
        await create(
            self.admin,
            "port",
            network_id=self.network_id,
            device_owner="compute:nova",
            device_id=server,
            fixed_ips=[{"ip_address": address}],
        )
        return server

    async def get(self, path: str, address: str, **headers: str) -> httpx.Response:
        proxied = {"X-Forwarded-For": address, "X-Neutron-Network-ID": self.network_id}
        return await self.guest.get(path, headers={**proxied, **headers})


@pytest.fixture
async def cloud(settings: Settings) -> AsyncIterator[Cloud]:
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as admin:
            admin.headers["X-Auth-Token"] = await issue_token(admin)
            runtime: Any = app.state.runtime
            compute = runtime.service("compute")
            # What the compute plugin offers the network plugin (see the report's hook).
            compute.metadata_endpoint = lambda: metadata_endpoint(compute.svc)
            network = runtime.service("network")
            await network.start_metadata(runtime)
            assert network.metadata is not None
            net, _ = await network_with_subnet(admin)
            uds = httpx.AsyncHTTPTransport(uds=str(socket_path(settings)))
            async with httpx.AsyncClient(transport=uds, base_url="http://169.254.169.254") as g:
                yield Cloud(admin, runtime, g, net["id"], net["project_id"])
            await network.stop_metadata()
            assert not socket_path(settings).exists()


async def test_guest_gets_its_own_metadata_and_network_data(cloud: Cloud) -> None:
    info = [
        {
            "port_id": "cd9f6d46-4a3a-43ab-a466-994af9db96fc",
            "network_id": cloud.network_id,
            "mac": "fa:16:3e:9c:bf:3d",
            "mtu": 1450,
            "ips": [{"addr": GUEST_A, "type": "fixed", "cidr": "10.0.0.0/24", "dhcp": True}],
        }
    ]
    a = await cloud.instance(GUEST_A, network_info=info)
    b = await cloud.instance(GUEST_B)
    r = await cloud.get("/openstack/latest/meta_data.json", GUEST_A)
    assert r.status_code == 200, r.text
    assert r.json()["uuid"] == a
    assert r.json()["project_id"] == cloud.project_id
    r = await cloud.get("/openstack/latest/meta_data.json", GUEST_B)
    assert r.json()["uuid"] == b
    r = await cloud.get("/openstack/latest/network_data.json", GUEST_A)
    assert r.json()["networks"][0]["type"] == "ipv4_dhcp"
    assert r.json()["links"][0]["vif_id"] == "cd9f6d46-4a3a-43ab-a466-994af9db96fc"
    r = await cloud.get("/latest/meta-data/local-ipv4", GUEST_A)
    assert r.text == GUEST_A


async def test_headers_from_the_guest_never_name_another_instance(cloud: Cloud) -> None:
    a = await cloud.instance(GUEST_A)
    b = await cloud.instance(GUEST_B)
    secret = cloud.runtime.service("compute").svc.metadata_secret()
    forged = {
        "X-Instance-ID": b,
        "X-Tenant-ID": cloud.project_id,
        # Even a correct signature for B (a leaked secret) does not help from A's address.
        "X-Instance-ID-Signature": sign_instance_id(secret, b),
    }
    r = await cloud.get("/openstack/latest/meta_data.json", GUEST_A, **forged)
    assert r.status_code == 200, r.text
    assert r.json()["uuid"] == a


async def test_unknown_address_network_or_owner_is_404(cloud: Cloud) -> None:
    await cloud.instance(GUEST_A)
    plain = "404 Not Found\n\nThe resource could not be found.\n\n"
    r = await cloud.get("/openstack/latest/meta_data.json", "10.0.0.77")
    assert (r.status_code, r.text) == (404, plain)
    r = await cloud.guest.get(
        "/openstack/latest/meta_data.json",
        headers={"X-Forwarded-For": GUEST_A, "X-Neutron-Network-ID": str(uuid.uuid4())},
    )
    assert (r.status_code, r.text) == (404, plain)
    # A port that is not an instance's (a router's, say) names nobody.
    await create(
        cloud.admin,
        "port",
        network_id=cloud.network_id,
        device_owner="network:router_interface",
        device_id=str(uuid.uuid4()),
        fixed_ips=[{"ip_address": "10.0.0.1"}],
    )
    r = await cloud.get("/", "10.0.0.1")
    assert r.status_code == 404


async def test_deleted_instance_is_404(cloud: Cloud) -> None:
    a = await cloud.instance(GUEST_A, deleted=True)
    r = await cloud.get("/openstack/latest/meta_data.json", GUEST_A)
    assert r.status_code == 404, (a, r.text)


async def test_password_is_kept_once(cloud: Cloud) -> None:
    a = await cloud.instance(GUEST_A)
    headers = {"X-Forwarded-For": GUEST_A, "X-Neutron-Network-ID": cloud.network_id}
    path = "/openstack/latest/password"
    r = await cloud.guest.post(path, content=b"encrypted-1", headers=headers)
    assert r.status_code == 200, r.text
    r = await cloud.guest.post(path, content=b"encrypted-2", headers=headers)
    assert r.status_code == 409
    r = await cloud.get(path, GUEST_A)
    assert r.text == "encrypted-1"
    compute = cloud.runtime.service("compute").svc
    async with compute.db.session() as s:
        row = await s.scalar(select(cm.Instance).where(cm.Instance.uuid == a))
    assert row is not None and row.guest_password == "encrypted-1"


async def test_set_password_is_compare_and_set(cloud: Cloud) -> None:
    from stackling.compute.metadata.backend import DatabaseMetadataBackend

    a = await cloud.instance(GUEST_A)
    compute = cloud.runtime.service("compute").svc
    backend = DatabaseMetadataBackend(compute)
    assert await backend.set_password(a, "first")
    assert not await backend.set_password(a, "second")
    assert not await backend.set_password(str(uuid.uuid4()), "nobody")

    async def soft_delete(s: Any) -> None:
        await s.execute(update(cm.Instance).where(cm.Instance.uuid == a).values(deleted=True))

    await compute.tx(soft_delete)
    assert await backend.source_for(a) is None
