"""Floating IPs: addresses from external networks, association through routers, races, isolation."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import openstack
import pytest
from openstack import exceptions

from stackling.settings import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.functional.network.support import (
    V20,
    assert_fault,
    auth,
    create,
    external_network,
    network_with_subnet,
    router_interface,
)
from tests.functional.network.test_openstacksdk import serving
from tests.support.identity import project_member


async def _fip(c: httpx.AsyncClient, token: str | None = None, **fields: Any) -> httpx.Response:
    return await c.post(f"{V20}/floatingips", json={"floatingip": fields}, headers=auth(token))


async def _topology(
    admin: httpx.AsyncClient, token: str | None = None, cidr: str = "10.70.0.0/24"
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An external network, a project network behind a router, and a port on it."""
    public = (await admin.get(f"{V20}/networks", params={"router:external": True})).json()
    if public["networks"]:
        ext = public["networks"][0]
    else:
        ext, _ = await external_network(admin, cidr="172.24.4.0/24")
    router = await create(admin, "router", token, external_gateway_info={"network_id": ext["id"]})
    net, sub = await network_with_subnet(admin, token, cidr=cidr)
    r = await router_interface(admin, router["id"], "add", token, subnet_id=sub["id"])
    assert r.status_code == 200, r.text
    port = await create(admin, "port", token, network_id=net["id"])
    return ext, router, sub, port


async def test_create_associate_disassociate_delete(admin: httpx.AsyncClient) -> None:
    ext, router, sub, port = await _topology(admin)
    fip = await create(admin, "floatingip", floating_network_id=ext["id"], description="web")
    assert fip["floating_ip_address"] == "172.24.4.3"  # .2 is the router's gateway
    assert fip["port_id"] is None and fip["router_id"] is None
    assert fip["fixed_ip_address"] is None and fip["status"] == "DOWN"
    assert fip["description"] == "web" and fip["revision_number"] == 0
    assert not {"dns_name", "dns_domain", "subnet_id"} & set(fip)
    held = (await admin.get(f"{V20}/ports", params={"device_id": fip["id"]})).json()["ports"]
    assert [p["device_owner"] for p in held] == ["network:floatingip"]
    fault = assert_fault(await admin.delete(f"{V20}/ports/{held[0]['id']}"), 409)
    assert fault["type"] == "ServicePortInUse"
    url = f"{V20}/floatingips/{fip['id']}"
    r = await admin.put(url, json={"floatingip": {"port_id": port["id"]}})
    assert r.status_code == 200, r.text
    mapped = r.json()["floatingip"]
    assert mapped["port_id"] == port["id"] and mapped["router_id"] == router["id"]
    assert mapped["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    assert mapped["status"] == "DOWN" and mapped["revision_number"] == 1
    assert fip["port_details"] is None
    # The port's status is the data plane's to tell; the rest is the port as created.
    details = dict(mapped["port_details"])
    assert details.pop("status") in ("DOWN", "ACTIVE", "BUILD")
    assert details == {
        "name": port["name"], "network_id": port["network_id"],
        "mac_address": port["mac_address"], "admin_state_up": True,
        "device_id": "", "device_owner": "",
    }  # fmt: skip
    r = await admin.get(f"{V20}/floatingips", params={"port_id": port["id"]})
    assert [f["id"] for f in r.json()["floatingips"]] == [fip["id"]]
    # A fixed address has one floating IP per external network.
    second = await create(admin, "floatingip", floating_network_id=ext["id"])
    r = await admin.put(
        f"{V20}/floatingips/{second['id']}", json={"floatingip": {"port_id": port["id"]}}
    )
    fault = assert_fault(r, 409, "FloatingIPPortAlreadyAssociated")
    assert fault["message"] == (
        f"Cannot associate floating IP {second['floating_ip_address']} ({second['id']}) with "
        f"port {port['id']} using fixed IP {mapped['fixed_ip_address']}, as that fixed IP "
        f"already has a floating IP on external network {ext['id']}."
    )
    # The interface the floating IP goes through stays while it is mapped.
    r = await router_interface(admin, router["id"], "remove", subnet_id=sub["id"])
    assert_fault(r, 409, "RouterInterfaceInUseByFloatingIP")
    r = await admin.put(
        f"{V20}/routers/{router['id']}", json={"router": {"external_gateway_info": {}}}
    )
    assert_fault(r, 409, "RouterExternalGatewayInUseByFloatingIp")
    # The mapped fixed address stays on the port while mapped.
    r = await admin.put(
        f"{V20}/ports/{port['id']}", json={"port": {"fixed_ips": [{"ip_address": "10.70.0.77"}]}}
    )
    assert_fault(r, 400, "BadRequest")
    r = await admin.put(url, json={"floatingip": {"description": "still mapped"}})
    assert r.json()["floatingip"]["port_id"] == port["id"]
    r = await admin.put(url, json={"floatingip": {"port_id": None}})
    assert r.status_code == 200, r.text
    assert r.json()["floatingip"]["port_id"] is None
    assert r.json()["floatingip"]["router_id"] is None
    assert r.json()["floatingip"]["fixed_ip_address"] is None
    # Created already associated, then the port goes: the floating IP stays, unmapped.
    third = await create(
        admin, "floatingip", floating_network_id=ext["id"], port_id=port["id"],
        floating_ip_address="172.24.4.100",
    )  # fmt: skip
    assert third["floating_ip_address"] == "172.24.4.100" and third["router_id"] == router["id"]
    assert (await admin.delete(f"{V20}/ports/{port['id']}")).status_code == 204
    left = (await admin.get(f"{V20}/floatingips/{third['id']}")).json()["floatingip"]
    assert left["port_id"] is None and left["router_id"] is None
    assert left["revision_number"] == 1
    for one in (fip, second, third):
        assert (await admin.delete(f"{V20}/floatingips/{one['id']}")).status_code == 204
    assert_fault(await admin.get(url), 404, "FloatingIPNotFound")
    assert (await admin.get(f"{V20}/ports", params={"device_id": fip["id"]})).json()["ports"] == []
    # The address is free again.
    again = await create(admin, "floatingip", floating_network_id=ext["id"])
    assert again["floating_ip_address"] == "172.24.4.3"


async def test_refusals(admin: httpx.AsyncClient) -> None:
    net, _ = await network_with_subnet(admin, cidr="10.71.0.0/24")
    fault = assert_fault(await _fip(admin, floating_network_id=net["id"]), 400, "BadRequest")
    assert fault["message"] == (
        f"Bad floatingip request: Network {net['id']} is not a valid external network."
    )
    assert_fault(await _fip(admin), 400)
    ext, _ = await external_network(admin, cidr="172.24.6.0/24")
    # No router joins this port's subnet to the external network.
    port = await create(admin, "port", network_id=net["id"])
    fault = assert_fault(
        await _fip(admin, floating_network_id=ext["id"], port_id=port["id"]),
        404,
        "ExternalGatewayForFloatingIPNotFound",
    )
    assert f"External network {ext['id']} is not reachable from subnet" in fault["message"]
    r = await _fip(
        admin, floating_network_id=ext["id"], port_id=port["id"], fixed_ip_address="10.71.0.99"
    )
    assert_fault(r, 400, "BadRequest")
    assert_fault(
        await _fip(admin, floating_network_id=ext["id"], fixed_ip_address="10.71.0.2"), 400
    )
    r = await _fip(admin, floating_network_id=ext["id"], floating_ip_address="172.24.7.5")
    assert_fault(r, 400, "InvalidIpForNetwork")
    # Nothing of the refused creates remains.
    assert (await admin.get(f"{V20}/floatingips")).json()["floatingips"] == []


async def test_exhaustion(admin: httpx.AsyncClient) -> None:
    pool = [{"start": "172.24.8.10", "end": "172.24.8.11"}]
    ext, _ = await external_network(admin, cidr="172.24.8.0/24", allocation_pools=pool)
    for _ in range(2):
        await create(admin, "floatingip", floating_network_id=ext["id"])
    fault = assert_fault(
        await _fip(admin, floating_network_id=ext["id"]), 409, "IpAddressGenerationFailure"
    )
    assert fault["message"] == f"No more IP addresses available on network {ext['id']}."
    r = await _fip(admin, floating_network_id=ext["id"], floating_ip_address="172.24.8.10")
    assert_fault(r, 409, "IpAddressInUse")


async def test_20_concurrent_creates_for_10_addresses(admin: httpx.AsyncClient) -> None:
    pool = [{"start": "172.24.9.10", "end": "172.24.9.19"}]
    ext, _ = await external_network(admin, cidr="172.24.9.0/24", allocation_pools=pool)
    tokens = [(await project_member(admin))[2] for _ in range(4)]
    results = await asyncio.gather(
        *(_fip(admin, tokens[n % 4], floating_network_id=ext["id"]) for n in range(20))
    )
    made = [r.json()["floatingip"] for r in results if r.status_code == 201]
    assert len(made) == 10, [r.text for r in results if r.status_code != 201][:3]
    for r in results:
        if r.status_code != 201:
            assert_fault(r, 409, "IpAddressGenerationFailure")
    addresses = {f["floating_ip_address"] for f in made}
    assert addresses == {f"172.24.9.{n}" for n in range(10, 20)}
    listed = (await admin.get(f"{V20}/floatingips")).json()["floatingips"]
    assert sorted(f["id"] for f in listed) == sorted(f["id"] for f in made)


async def test_isolation_and_quota(admin: httpx.AsyncClient) -> None:
    ext, _ = await external_network(admin, cidr="172.24.10.0/24")
    project, _, token = await project_member(admin)
    _, _, other = await project_member(admin)
    mine = await create(admin, "floatingip", token, floating_network_id=ext["id"])
    theirs = await create(admin, "floatingip", other, floating_network_id=ext["id"])
    assert mine["project_id"] == project["id"]
    listed = (await admin.get(f"{V20}/floatingips", headers=auth(token))).json()["floatingips"]
    assert [f["id"] for f in listed] == [mine["id"]]
    url = f"{V20}/floatingips/{theirs['id']}"
    assert_fault(await admin.get(url, headers=auth(token)), 404, "FloatingIPNotFound")
    assert_fault(await admin.delete(url, headers=auth(token)), 404, "FloatingIPNotFound")
    everything = (await admin.get(f"{V20}/floatingips")).json()["floatingips"]
    assert {mine["id"], theirs["id"]} <= {f["id"] for f in everything}
    # Only admins choose the address; the floating IP's port is not the member's to see.
    r = await _fip(admin, token, floating_network_id=ext["id"], floating_ip_address="172.24.10.50")
    assert_fault(r, 403, "PolicyNotAuthorized")
    assert (await admin.get(f"{V20}/ports", headers=auth(token))).json()["ports"] == []
    # Another project's port cannot be mapped.
    _, _, _, port = await _topology(admin, other, cidr="10.72.0.0/24")
    r = await admin.put(
        f"{V20}/floatingips/{mine['id']}",
        json={"floatingip": {"port_id": port["id"]}},
        headers=auth(token),
    )
    assert_fault(r, 404, "PortNotFound")
    r = await admin.put(url, json={"floatingip": {"port_id": port["id"]}}, headers=auth(other))
    assert r.status_code == 200 and r.json()["floatingip"]["fixed_ip_address"] == "10.72.0.2"
    r = await admin.put(f"{V20}/quotas/{project['id']}", json={"quota": {"floatingip": 2}})
    assert r.status_code == 200, r.text
    results = await asyncio.gather(
        *(_fip(admin, token, floating_network_id=ext["id"]) for _ in range(4))
    )
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409]
    fault = assert_fault(next(r for r in results if r.status_code == 409), 409, "OverQuota")
    assert fault["message"] == "Quota exceeded for resources: ['floatingip']."
    r = await admin.put(
        f"{V20}/floatingips/{mine['id']}/tags", json={"tags": ["x"]}, headers=auth(token)
    )
    assert r.status_code == 200
    r = await admin.get(f"{V20}/floatingips", params={"tags": "x"}, headers=auth(token))
    assert [f["tags"] for f in r.json()["floatingips"]] == [["x"]]


def test_openstacksdk_drives_routers_and_floating_ips(settings: Settings) -> None:
    with serving(settings) as url:
        conn = openstack.connect(
            auth_url=f"{url}/identity/v3",
            username="admin",
            password=ADMIN_PASSWORD,
            project_name="admin",
            user_domain_name="Default",
            project_domain_name="Default",
            network_endpoint_override=f"{url}/networking/v2.0",
        )
        try:
            public = conn.network.create_network(name="public", is_router_external=True)
            conn.network.create_subnet(network_id=public.id, ip_version=4, cidr="172.24.4.0/24")
            router = conn.network.create_router(
                name="sdk-router", external_gateway_info={"network_id": public.id}
            )
            assert router.external_gateway_info["network_id"] == public.id
            net = conn.network.create_network(name="private")
            sub = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.0.0.0/24")
            conn.network.add_interface_to_router(router, subnet=sub.id)
            port = conn.network.create_port(network_id=net.id)
            fip = conn.network.create_ip(floating_network_id=public.id)
            assert fip.floating_ip_address == "172.24.4.3" and fip.status == "DOWN"
            fip = conn.network.update_ip(fip, port_id=port.id)
            assert fip.router_id == router.id and fip.fixed_ip_address == "10.0.0.2"
            assert [f.id for f in conn.network.ips(port_id=port.id)] == [fip.id]
            with pytest.raises(exceptions.ConflictException):
                conn.network.delete_router(router)
            conn.network.update_router(
                router, routes=[{"destination": "192.168.0.0/24", "nexthop": "10.0.0.50"}]
            )
            assert conn.network.get_router(router.id).routes == [
                {"destination": "192.168.0.0/24", "nexthop": "10.0.0.50"}
            ]
            extra = {"destination": "192.168.1.0/24", "nexthop": "10.0.0.51"}
            conn.network.add_extra_routes_to_router(router, body={"router": {"routes": [extra]}})
            assert extra in conn.network.get_router(router.id).routes
            conn.network.remove_extra_routes_from_router(
                router, body={"router": {"routes": [extra]}}
            )
            assert extra not in conn.network.get_router(router.id).routes
            conn.network.update_router(router, routes=[])
            conn.network.delete_ip(fip)
            conn.network.remove_interface_from_router(router, subnet=sub.id)
            conn.network.delete_router(router)
            assert conn.network.find_router("sdk-router") is None
            assert conn.network.find_extension("extraroute") is not None
        finally:
            conn.close()


async def test_concurrent_association_of_one_fixed_address(admin: httpx.AsyncClient) -> None:
    ext, _, _, port = await _topology(admin, cidr="10.73.0.0/24")
    fips = [await create(admin, "floatingip", floating_network_id=ext["id"]) for _ in range(6)]
    results = await asyncio.gather(
        *(
            admin.put(f"{V20}/floatingips/{f['id']}", json={"floatingip": {"port_id": port["id"]}})
            for f in fips
        )
    )
    assert sorted(r.status_code for r in results) == [200] + [409] * 5, [r.text for r in results]
    mapped = (await admin.get(f"{V20}/floatingips", params={"port_id": port["id"]})).json()
    assert len(mapped["floatingips"]) == 1


async def test_deleting_an_external_network_deletes_its_floating_ips(
    admin: httpx.AsyncClient,
) -> None:
    ext, sub = await external_network(admin, cidr="172.31.9.0/24")
    fip = await create(admin, "floatingip", floating_network_id=ext["id"])
    r = await admin.delete(f"{V20}/networks/{ext['id']}")
    assert r.status_code == 204, r.text
    assert (await admin.get(f"{V20}/floatingips/{fip['id']}")).status_code == 404
    assert (await admin.get(f"{V20}/subnets/{sub['id']}")).status_code == 404
    # A router's gateway still holds its network, as in Neutron.
    ext, _ = await external_network(admin, cidr="172.31.10.0/24")
    await create(admin, "router", external_gateway_info={"network_id": ext["id"]})
    assert_fault(await admin.delete(f"{V20}/networks/{ext['id']}"), 409, "NetworkInUse")
