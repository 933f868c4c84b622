"""Servers on networks: ports made and bound at boot, shown as addresses, freed at delete."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackling.settings import Settings
from tests.conftest import make_settings
from tests.functional.network.support import (
    V20,
    create,
    external_network,
    network_with_subnet,
    router_interface,
)
from tests.support.identity import project_member
from tests.support.servers import (
    V21,
    assert_nova_fault,
    boot,
    boot_image,
    create_server,
    show,
    wait_gone,
    wait_status,
)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Every service of a single-host cloud (fake hosts, no network agent)."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "placement", "image", "compute", "network"],
    )


@pytest.fixture
async def image_id(admin: httpx.AsyncClient, tmp_path: Path) -> str:
    """A public bootable image."""
    return await boot_image(admin, tmp_path)


async def _ports_of(c: httpx.AsyncClient, server_id: str) -> list[dict[str, Any]]:
    r = await c.get(f"{V20}/ports", params={"device_id": server_id})
    assert r.status_code == 200, r.text
    return list(r.json()["ports"])


async def _wait_addresses(
    c: httpx.AsyncClient, server_id: str, check: Any, timeout_s: float = 10.0
) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        while True:
            server = await show(c, server_id)
            if check(server["addresses"]):
                return server
            await asyncio.sleep(0.05)


async def test_boot_on_a_network_binds_a_port_and_delete_frees_it(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    net, sub = await network_with_subnet(admin, cidr="10.10.0.0/24")
    sid = await boot(admin, image_id, networks=[{"uuid": net["id"]}])
    server = await wait_status(admin, sid, "ACTIVE")
    [port] = await _ports_of(admin, sid)
    assert port["device_owner"] == "compute:nova"
    assert port["binding:host_id"] == server["OS-EXT-SRV-ATTR:host"]
    assert port["binding:vif_type"] == "bridge"
    [ip] = port["fixed_ips"]
    assert ip["subnet_id"] == sub["id"]
    assert server["addresses"] == {
        "net": [
            {
                "version": 4,
                "addr": ip["ip_address"],
                "OS-EXT-IPS:type": "fixed",
                "OS-EXT-IPS-MAC:mac_addr": port["mac_address"],
            }
        ]
    }
    r = await admin.delete(f"{V21}/servers/{sid}")
    assert r.status_code == 204, r.text
    await wait_gone(admin, sid)
    assert await _ports_of(admin, sid) == []


async def test_a_given_port_is_bound_then_released_not_deleted(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    net, _ = await network_with_subnet(admin, cidr="10.11.0.0/24")
    port = await create(admin, "port", network_id=net["id"], name="mine")
    sid = await boot(admin, image_id, networks=[{"port": port["id"]}])
    await wait_status(admin, sid, "ACTIVE")
    [bound] = await _ports_of(admin, sid)
    assert bound["id"] == port["id"] and bound["binding:host_id"]
    r = await create_server(admin, image_id, networks=[{"port": port["id"]}])
    assert_nova_fault(r, 409, "conflictingRequest")
    assert (await admin.delete(f"{V21}/servers/{sid}")).status_code == 204
    await wait_gone(admin, sid)
    after = (await admin.get(f"{V20}/ports/{port['id']}")).json()["port"]
    assert after["device_id"] == "" and after["device_owner"] == ""
    assert after["binding:host_id"] == "" and after["binding:vif_type"] == "unbound"


async def test_a_fixed_ip_and_a_security_group_by_name(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    net, _ = await network_with_subnet(admin, cidr="10.12.0.0/24")
    group = await create(admin, "security_group", name="web")
    sid = await boot(
        admin,
        image_id,
        networks=[{"uuid": net["id"], "fixed_ip": "10.12.0.50"}],
        security_groups=[{"name": "web"}],
    )
    await wait_status(admin, sid, "ACTIVE")
    [port] = await _ports_of(admin, sid)
    assert port["fixed_ips"][0]["ip_address"] == "10.12.0.50"
    assert port["security_groups"] == [group["id"]]


async def test_what_nova_refuses(admin: httpx.AsyncClient, image_id: str) -> None:
    missing = "8d3b6b5e-6c0e-4b84-9a51-5d7e8c0f3b11"
    r = await create_server(admin, image_id, networks=[{"uuid": missing}])
    fault = assert_nova_fault(r, 400, "badRequest")
    assert fault["message"] == f"Network {missing} could not be found."
    r = await create_server(admin, image_id, networks=[{"port": missing}])
    assert assert_nova_fault(r, 400)["message"] == f"Port {missing} could not be found."
    bare = await create(admin, "network", name="bare")
    r = await create_server(admin, image_id, networks=[{"uuid": bare["id"]}])
    assert "requires a subnet" in assert_nova_fault(r, 400)["message"]
    net, _ = await network_with_subnet(admin, cidr="10.13.0.0/24")
    outside = [{"uuid": net["id"], "fixed_ip": "10.99.0.5"}]
    r = await create_server(admin, image_id, networks=outside)
    assert_nova_fault(r, 400)
    r = await create_server(
        admin, image_id, networks=[{"uuid": net["id"]}], security_groups=[{"name": "nope"}]
    )
    assert "nope" in assert_nova_fault(r, 400)["message"]
    # Two networks and none named: Nova cannot choose.
    r = await create_server(admin, image_id)
    fault = assert_nova_fault(r, 409)
    assert fault["message"].startswith("Multiple possible networks found")


async def test_auto_none_and_the_only_network(admin: httpx.AsyncClient, image_id: str) -> None:
    # Nothing to choose from and nothing to auto-allocate from: Nova's 400.
    r = await create_server(admin, image_id, version="2.37", networks="auto")
    fault = assert_nova_fault(r, 400)
    projects = await admin.get("/identity/v3/projects", params={"name": "admin"})
    [project] = projects.json()["projects"]
    assert fault["message"] == (
        f"Unable to automatically allocate a network for project {project['id']}"
    )
    sid = await boot(admin, image_id)  # 2.1 without networks and none to choose: no NIC
    assert (await wait_status(admin, sid, "ACTIVE"))["addresses"] == {}
    net, _ = await network_with_subnet(admin, cidr="10.14.0.0/24")
    r = await create_server(admin, image_id, version="2.37", networks="auto")
    assert r.status_code == 202, r.text
    auto = r.json()["server"]["id"]
    await wait_status(admin, auto, "ACTIVE")
    assert [p["network_id"] for p in await _ports_of(admin, auto)] == [net["id"]]
    r = await create_server(admin, image_id, version="2.37", networks="none")
    none = r.json()["server"]["id"]
    assert (await wait_status(admin, none, "ACTIVE"))["addresses"] == {}
    assert await _ports_of(admin, none) == []


async def test_auto_allocates_the_projects_topology(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    ext = await create(admin, "network", is_default=True, **{"router:external": True})
    await create(admin, "subnet", network_id=ext["id"], ip_version=4, cidr="172.24.4.0/24")
    await create(
        admin, "subnetpool", prefixes=["10.0.0.0/22"], default_prefixlen=26, shared=True,
        is_default=True,
    )  # fmt: skip
    project, _, token = await project_member(admin)
    r = await create_server(admin, image_id, token, version="2.37", networks="auto")
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    await wait_status(admin, sid, "ACTIVE")
    r = await admin.get(f"{V20}/auto-allocated-topology/{project['id']}")
    net_id = r.json()["auto_allocated_topology"]["id"]
    assert [p["network_id"] for p in await _ports_of(admin, sid)] == [net_id]
    # The next `auto` server lands on the same network: there is one now.
    r = await create_server(admin, image_id, token, version="2.37", networks="auto")
    assert r.status_code == 202, r.text
    again = r.json()["server"]["id"]
    await wait_status(admin, again, "ACTIVE")
    assert [p["network_id"] for p in await _ports_of(admin, again)] == [net_id]
    r = await admin.get(f"{V20}/networks", params={"project_id": project["id"]})
    assert [n["id"] for n in r.json()["networks"]] == [net_id]


async def test_another_projects_network_is_not_there(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    net, _ = await network_with_subnet(admin, cidr="10.15.0.0/24")
    _, _, token = await project_member(admin)
    r = await create_server(admin, image_id, token, networks=[{"uuid": net["id"]}])
    assert assert_nova_fault(r, 400)["message"] == f"Network {net['id']} could not be found."


async def test_floating_ip_shows_in_addresses_and_goes(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    ext, _ = await external_network(admin)
    net, sub = await network_with_subnet(admin, cidr="10.16.0.0/24")
    router = await create(admin, "router", external_gateway_info={"network_id": ext["id"]})
    r = await router_interface(admin, router["id"], "add", subnet_id=sub["id"])
    assert r.status_code == 200, r.text
    sid = await boot(admin, image_id, networks=[{"uuid": net["id"]}])
    await wait_status(admin, sid, "ACTIVE")
    [port] = await _ports_of(admin, sid)
    fip = await create(admin, "floatingip", floating_network_id=ext["id"], port_id=port["id"])

    def floating(addresses: dict[str, Any]) -> list[str]:
        return [a["addr"] for a in addresses.get("net", []) if a["OS-EXT-IPS:type"] == "floating"]

    await _wait_addresses(admin, sid, lambda a: floating(a) == [fip["floating_ip_address"]])
    r = await admin.put(f"{V20}/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}})
    assert r.status_code == 200, r.text
    await _wait_addresses(admin, sid, lambda a: floating(a) == [] and a.get("net"))
    # A port deleted under the server leaves its addresses.
    assert (await admin.delete(f"{V20}/ports/{port['id']}")).status_code == 204
    await _wait_addresses(admin, sid, lambda a: a == {})
