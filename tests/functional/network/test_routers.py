"""Routers: gateways, interfaces by subnet and by port, extra routes, deletes that must wait."""

from __future__ import annotations

import asyncio

import httpx

from stackling.network.api.specs.floating_ips import FLOATINGIP
from stackling.network.api.specs.routers import ROUTER
from tests.functional.network.support import (
    V20,
    assert_fault,
    auth,
    create,
    external_network,
    network_with_subnet,
    router_interface,
)
from tests.functional.network.test_robustness import ODD
from tests.support.identity import project_member

UNKNOWN = "0b0e1a5e-0000-4000-8000-000000000000"


async def test_router_crud_and_gateway(admin: httpx.AsyncClient) -> None:
    public, ext_sub = await external_network(admin)
    router = await create(admin, "router", name="r1")
    assert router["external_gateway_info"] is None and router["routes"] == []
    assert router["status"] == "ACTIVE" and router["admin_state_up"] is True
    assert router["tenant_id"] == router["project_id"] and router["revision_number"] == 0
    assert "distributed" not in router and "ha" not in router
    url = f"{V20}/routers/{router['id']}"
    r = await admin.put(
        url, json={"router": {"external_gateway_info": {"network_id": public["id"]}}}
    )
    assert r.status_code == 200, r.text
    gw = r.json()["router"]["external_gateway_info"]
    assert gw == {
        "network_id": public["id"],
        "enable_snat": True,
        "external_fixed_ips": [{"subnet_id": ext_sub["id"], "ip_address": "172.24.4.2"}],
    }
    assert r.json()["router"]["revision_number"] == 1
    r = await admin.get(f"{V20}/ports", params={"device_id": router["id"]})
    (port,) = r.json()["ports"]
    assert port["device_owner"] == "network:router_gateway" and port["network_id"] == public["id"]
    assert port["fixed_ips"][0]["ip_address"] == "172.24.4.2"
    # The gateway's port belongs to the router: the port API may not delete it.
    fault = assert_fault(await admin.delete(f"{V20}/ports/{port['id']}"), 409, "ServicePortInUse")
    assert "has device owner network:router_gateway" in fault["message"]
    # Admins choose SNAT and the gateway's address.
    r = await admin.put(url, json={"router": {"external_gateway_info": {
        "network_id": public["id"], "enable_snat": False,
        "external_fixed_ips": [{"ip_address": "172.24.4.50"}]}}})  # fmt: skip
    assert r.status_code == 200, r.text
    gw = r.json()["router"]["external_gateway_info"]
    assert gw["enable_snat"] is False
    assert gw["external_fixed_ips"] == [{"subnet_id": ext_sub["id"], "ip_address": "172.24.4.50"}]
    # The network stays external while a router has its gateway there.
    r = await admin.put(
        f"{V20}/networks/{public['id']}", json={"network": {"router:external": False}}
    )
    assert_fault(r, 409, "ExternalNetworkInUse")
    r = await admin.get(f"{V20}/routers", params={"name": "r1"})
    assert [x["id"] for x in r.json()["routers"]] == [router["id"]]
    assert r.json()["routers"][0]["external_gateway_info"] == gw
    r = await admin.put(url, json={"router": {"external_gateway_info": {}, "name": "r2"}})
    assert r.json()["router"]["external_gateway_info"] is None
    assert r.json()["router"]["name"] == "r2"
    r = await admin.get(f"{V20}/ports", params={"device_id": router["id"]})
    assert r.json()["ports"] == []
    assert (await admin.delete(url)).status_code == 204
    assert_fault(await admin.get(url), 404, "RouterNotFound")
    assert_fault(await admin.delete(url), 404, "RouterNotFound")


async def test_gateway_must_be_external(admin: httpx.AsyncClient) -> None:
    net, _ = await network_with_subnet(admin)
    r = await admin.post(
        f"{V20}/routers", json={"router": {"external_gateway_info": {"network_id": net["id"]}}}
    )
    fault = assert_fault(r, 400, "BadRequest")
    assert fault["message"] == (
        f"Bad router request: Network {net['id']} is not an external network."
    )
    r = await admin.post(
        f"{V20}/routers", json={"router": {"external_gateway_info": {"network_id": UNKNOWN}}}
    )
    assert_fault(r, 404, "NetworkNotFound")
    r = await admin.post(f"{V20}/routers", json={"router": {"external_gateway_info": {"x": 1}}})
    assert_fault(r, 400)
    # Nothing was left behind by the refused creates.
    assert (await admin.get(f"{V20}/routers")).json()["routers"] == []


async def test_members_may_not_choose_snat_or_addresses(admin: httpx.AsyncClient) -> None:
    public, _ = await external_network(admin)
    _, _, token = await project_member(admin)
    router = await create(
        admin, "router", token, external_gateway_info={"network_id": public["id"]}
    )
    assert router["external_gateway_info"]["enable_snat"] is True
    for extra in ({"enable_snat": False}, {"external_fixed_ips": [{"ip_address": "172.24.4.9"}]}):
        body = {"router": {"external_gateway_info": {"network_id": public["id"], **extra}}}
        r = await admin.put(f"{V20}/routers/{router['id']}", json=body, headers=auth(token))
        assert_fault(r, 403, "PolicyNotAuthorized")
    # A shared network's subnet is its owner's to route, not every member's.
    shared = await create(admin, "network", shared=True)
    sub = await create(admin, "subnet", network_id=shared["id"], ip_version=4, cidr="10.65.0.0/24")
    fault = assert_fault(
        await router_interface(admin, router["id"], "add", token, subnet_id=sub["id"]), 400
    )
    assert "is not owned by project making the request" in fault["message"]
    # Another project neither sees nor changes the router.
    _, _, other = await project_member(admin)
    url = f"{V20}/routers/{router['id']}"
    assert_fault(await admin.get(url, headers=auth(other)), 404, "RouterNotFound")
    assert (await admin.get(f"{V20}/routers", headers=auth(other))).json()["routers"] == []
    r = await router_interface(admin, router["id"], "add", other, subnet_id=UNKNOWN)
    assert_fault(r, 404, "RouterNotFound")
    assert [x["id"] for x in (await admin.get(f"{V20}/routers")).json()["routers"]] == [
        router["id"]
    ]


async def test_interfaces_by_subnet(admin: httpx.AsyncClient) -> None:
    router = await create(admin, "router")
    net, sub = await network_with_subnet(admin, cidr="10.60.0.0/24")
    r = await router_interface(admin, router["id"], "add", subnet_id=sub["id"])
    assert r.status_code == 200, r.text
    info = r.json()
    assert set(info) == {
        "id", "tenant_id", "project_id", "port_id", "subnet_id", "subnet_ids", "network_id"
    }  # fmt: skip
    assert info["id"] == router["id"] and info["subnet_ids"] == [sub["id"]]
    assert info["subnet_id"] == sub["id"] and info["network_id"] == net["id"]
    port = (await admin.get(f"{V20}/ports/{info['port_id']}")).json()["port"]
    assert port["device_owner"] == "network:router_interface"
    assert port["device_id"] == router["id"]
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.60.0.1"}]
    # The same subnet again, and an overlapping one, are refused.
    r = await router_interface(admin, router["id"], "add", subnet_id=sub["id"])
    assert_fault(r, 400, "BadRequest")
    _, overlapping = await network_with_subnet(admin, cidr="10.60.0.0/25")
    fault = assert_fault(
        await router_interface(admin, router["id"], "add", subnet_id=overlapping["id"]),
        400,
        "BadRequest",
    )
    assert "overlaps with cidr 10.60.0.0/24" in fault["message"]
    # Another router cannot take the same gateway address.
    other = await create(admin, "router")
    r = await router_interface(admin, other["id"], "add", subnet_id=sub["id"])
    assert_fault(r, 409, "IpAddressInUse")
    # A subnet without a gateway cannot be an interface.
    _, bare = await network_with_subnet(admin, cidr="10.61.0.0/24", gateway_ip=None)
    fault = assert_fault(
        await router_interface(admin, router["id"], "add", subnet_id=bare["id"]), 400, "BadRequest"
    )
    assert fault["message"] == (
        "Bad router request: Subnet for router interface must have a gateway IP."
    )
    for body, message in (
        ({}, "Either subnet_id or port_id must be specified"),
        ({"subnet_id": sub["id"], "port_id": UNKNOWN}, "Cannot specify both subnet-id and port-id"),
        ({"subnet_id": "nope"}, "'nope' is not a valid UUID"),
    ):
        fault = assert_fault(await router_interface(admin, router["id"], "add", **body), 400)
        assert fault["message"] == f"Bad router request: {message}."
    assert_fault(
        await router_interface(admin, router["id"], "add", subnet_id=UNKNOWN), 404, "SubnetNotFound"
    )
    # What the interface holds cannot go behind the router's back.
    fault = assert_fault(await admin.delete(f"{V20}/ports/{info['port_id']}"), 409)
    assert fault["type"] == "ServicePortInUse"
    assert_fault(await admin.delete(f"{V20}/subnets/{sub['id']}"), 409, "SubnetInUse")
    assert_fault(await admin.delete(f"{V20}/networks/{net['id']}"), 409, "NetworkInUse")
    fault = assert_fault(await admin.delete(f"{V20}/routers/{router['id']}"), 409, "RouterInUse")
    assert fault["message"] == f"Router {router['id']} has ports still attached: {info['port_id']}"
    # Removing it frees the subnet, the address and the router.
    r = await router_interface(admin, router["id"], "remove", subnet_id=sub["id"])
    assert r.status_code == 200, r.text
    assert r.json()["port_id"] == info["port_id"]
    assert_fault(await admin.get(f"{V20}/ports/{info['port_id']}"), 404)
    fault = assert_fault(
        await router_interface(admin, router["id"], "remove", subnet_id=sub["id"]),
        404,
        "RouterInterfaceNotFoundForSubnet",
    )
    assert fault["message"] == f"Router {router['id']} has no interface on subnet {sub['id']}."
    r = await router_interface(admin, other["id"], "add", subnet_id=sub["id"])
    assert r.status_code == 200, r.text
    assert (await admin.get(f"{V20}/routers/{router['id']}")).json()["router"][
        "revision_number"
    ] == 2
    # An external network overlapping the router's interfaces cannot be its gateway.
    wide, _ = await external_network(admin, cidr="10.60.0.0/16")
    body = {"router": {"external_gateway_info": {"network_id": wide["id"]}}}
    fault = assert_fault(await admin.put(f"{V20}/routers/{other['id']}", json=body), 400)
    assert "overlaps with cidr 10.60.0.0/24" in fault["message"]
    assert (await admin.delete(f"{V20}/routers/{router['id']}")).status_code == 204


async def test_interfaces_by_port(admin: httpx.AsyncClient) -> None:
    router = await create(admin, "router")
    net, sub = await network_with_subnet(admin, cidr="10.62.0.0/24")
    port = await create(
        admin, "port", network_id=net["id"], fixed_ips=[{"ip_address": "10.62.0.9"}]
    )
    r = await router_interface(admin, router["id"], "add", port_id=port["id"])
    assert r.status_code == 200, r.text
    assert r.json()["port_id"] == port["id"] and r.json()["subnet_ids"] == [sub["id"]]
    shown = (await admin.get(f"{V20}/ports/{port['id']}")).json()["port"]
    assert shown["device_owner"] == "network:router_interface"
    assert shown["device_id"] == router["id"]
    # A port in use by a device, or without addresses, cannot be an interface.
    used = await create(admin, "port", network_id=net["id"], device_id="vm-1")
    r = await router_interface(admin, router["id"], "add", port_id=used["id"])
    assert_fault(r, 409, "PortInUse")
    other_net, _ = await network_with_subnet(admin, cidr="10.63.0.0/24")
    empty = await create(admin, "port", network_id=other_net["id"], fixed_ips=[])
    r = await router_interface(admin, router["id"], "add", port_id=empty["id"])
    assert_fault(r, 400, "BadRequest")
    fault = assert_fault(
        await router_interface(admin, router["id"], "remove", port_id=used["id"]),
        404,
        "RouterInterfaceNotFound",
    )
    assert fault["message"] == (
        f"Router {router['id']} does not have an interface with id {used['id']}."
    )
    r = await router_interface(admin, router["id"], "remove", port_id=port["id"])
    assert r.status_code == 200, r.text
    # As in Neutron, removing an interface deletes its port.
    assert_fault(await admin.get(f"{V20}/ports/{port['id']}"), 404, "PortNotFound")


async def test_extra_routes(admin: httpx.AsyncClient) -> None:
    public, _ = await external_network(admin, cidr="172.24.5.0/24")
    router = await create(admin, "router", external_gateway_info={"network_id": public["id"]})
    _, sub = await network_with_subnet(admin, cidr="10.64.0.0/24")
    await router_interface(admin, router["id"], "add", subnet_id=sub["id"])
    url = f"{V20}/routers/{router['id']}"
    routes = [
        {"destination": "192.168.10.0/24", "nexthop": "10.64.0.20"},
        {"destination": "0.0.0.0/0", "nexthop": "172.24.5.99"},
    ]
    r = await admin.put(url, json={"router": {"routes": routes}})
    assert r.status_code == 200, r.text
    assert r.json()["router"]["routes"] == sorted(routes, key=lambda x: x["destination"])
    for bad, reason in (
        ({"destination": "192.168.11.0/24", "nexthop": "10.99.0.1"}, "is not connected"),
        ({"destination": "192.168.11.0/24", "nexthop": "10.64.0.1"}, "is used by router"),
    ):
        fault = assert_fault(await admin.put(url, json={"router": {"routes": [bad]}}), 400)
        assert fault["type"] == "InvalidRoutes" and reason in fault["message"]
    for bad_body in (
        [{"destination": "nope", "nexthop": "10.64.0.20"}],
        [{"destination": "192.168.1.0/24"}],
        [routes[0], routes[0]],
    ):
        assert_fault(await admin.put(url, json={"router": {"routes": bad_body}}), 400)
    too_many = [{"destination": f"192.168.{n}.0/24", "nexthop": "10.64.0.20"} for n in range(31)]
    assert_fault(
        await admin.put(url, json={"router": {"routes": too_many}}), 400, "RoutesExhausted"
    )
    assert_fault(await admin.post(f"{V20}/routers", json={"router": {"routes": routes}}), 400)
    # extraroute-atomic: add and remove routes without replacing the whole set.
    extra = {"destination": "192.168.20.0/24", "nexthop": "10.64.0.21"}
    r = await admin.put(f"{url}/add_extraroutes", json={"router": {"routes": [extra, routes[0]]}})
    assert r.status_code == 200, r.text
    assert len(r.json()["router"]["routes"]) == 3 and extra in r.json()["router"]["routes"]
    r = await admin.put(f"{url}/remove_extraroutes", json={"router": {"routes": [extra]}})
    assert r.status_code == 200, r.text
    assert r.json()["router"]["routes"] == sorted(routes, key=lambda x: x["destination"])
    bad = {"destination": "192.168.21.0/24", "nexthop": "10.99.0.1"}
    r = await admin.put(f"{url}/add_extraroutes", json={"router": {"routes": [bad]}})
    assert_fault(r, 400, "InvalidRoutes")
    for body in ({}, {"router": {}}, {"router": {"routes": "x"}}, {"routes": []}):
        assert_fault(await admin.put(f"{url}/add_extraroutes", json=body), 400)
    # An interface a route goes through stays until the route goes.
    r = await router_interface(admin, router["id"], "remove", subnet_id=sub["id"])
    assert_fault(r, 409, "RouterInterfaceInUseByRoute")
    r = await admin.put(url, json={"router": {"routes": []}})
    assert r.json()["router"]["routes"] == []
    r = await router_interface(admin, router["id"], "remove", subnet_id=sub["id"])
    assert r.status_code == 200, r.text


async def test_router_quota_tags_and_listing(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.put(f"{V20}/quotas/{project['id']}", json={"quota": {"router": 2}})
    assert r.status_code == 200, r.text
    made = [await create(admin, "router", token, name=f"q{n}") for n in range(2)]
    r = await admin.post(f"{V20}/routers", json={"router": {}}, headers=auth(token))
    fault = assert_fault(r, 409, "OverQuota")
    assert fault["message"] == "Quota exceeded for resources: ['router']."
    r = await admin.get(f"{V20}/quotas/{project['id']}/details", headers=auth(token))
    assert r.json()["quota"]["router"] == {"limit": 2, "used": 2, "reserved": 0}
    r = await admin.put(
        f"{V20}/routers/{made[0]['id']}/tags", json={"tags": ["blue"]}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    r = await admin.get(f"{V20}/routers", params={"tags": "blue"}, headers=auth(token))
    assert [x["id"] for x in r.json()["routers"]] == [made[0]["id"]]
    assert r.json()["routers"][0]["tags"] == ["blue"]
    assert r.json()["routers"][0]["revision_number"] == 1
    r = await admin.get(
        f"{V20}/routers",
        params={"sort_key": "name", "sort_dir": "desc", "limit": 1, "fields": ["id", "name"]},
        headers=auth(token),
    )
    assert r.json()["routers"] == [{"id": made[1]["id"], "name": "q1"}]
    assert r.json()["routers_links"][0]["rel"] == "next"
    assert_fault(await admin.get(f"{V20}/routers", params={"bogus": 1}), 400)


async def test_no_value_breaks_a_router_or_floating_ip(admin: httpx.AsyncClient) -> None:
    public, _ = await external_network(admin, cidr="172.24.11.0/24")
    router = await create(admin, "router")
    fip = await create(admin, "floatingip", floating_network_id=public["id"])
    gateway_odd = [{"network_id": v} for v in ODD] + [
        {"network_id": public["id"], "enable_snat": v} for v in ODD
    ] + [{"network_id": public["id"], "external_fixed_ips": v} for v in ODD]  # fmt: skip
    cases = [
        (ROUTER, {}, router["id"], {"external_gateway_info": gateway_odd}),
        (FLOATINGIP, {"floating_network_id": public["id"]}, fip["id"], {}),
    ]
    for spec, base, ident, extra in cases:
        url = f"{V20}/{spec.path}"
        for attr in spec.attrs:
            if not (attr.post or attr.put):
                continue
            for value in ODD + extra.get(attr.name, []):
                r = await admin.post(url, json={spec.member: {**base, attr.name: value}})
                assert r.status_code < 500, (spec.member, attr.name, value, r.text)
                assert "NeutronError" in r.json() or r.status_code == 201
                if attr.put:
                    r = await admin.put(f"{url}/{ident}", json={spec.member: {attr.name: value}})
                    assert r.status_code < 500, (spec.member, attr.name, value, r.text)
    for body in ODD:
        r = await admin.put(f"{V20}/routers/{router['id']}/add_router_interface", json=body)
        assert 400 <= r.status_code < 500, (body, r.text)
        r = await admin.put(
            f"{V20}/routers/{router['id']}/add_router_interface", json={"subnet_id": body}
        )
        assert 400 <= r.status_code < 500, (body, r.text)


async def test_concurrent_interfaces_on_overlapping_subnets(admin: httpx.AsyncClient) -> None:
    router = await create(admin, "router")
    subnets = [(await network_with_subnet(admin, cidr="10.67.0.0/24"))[1] for _ in range(6)]
    results = await asyncio.gather(
        *(router_interface(admin, router["id"], "add", subnet_id=sub["id"]) for sub in subnets)
    )
    assert sorted(r.status_code for r in results) == [200] + [400] * 5, [r.text for r in results]
    ports = (await admin.get(f"{V20}/ports", params={"device_id": router["id"]})).json()["ports"]
    assert len(ports) == 1
