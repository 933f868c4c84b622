"""Networks: create with a segment, provider attributes, MTU, zones, update, delete."""

from __future__ import annotations

import asyncio

import httpx

from tests.functional.network.support import V20, assert_fault, auth, create
from tests.support.identity import project_member


async def test_create_show_update_delete(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network", name="blue", description="d", admin_state_up=False)
    assert net["name"] == "blue" and net["description"] == "d"
    assert net["admin_state_up"] is False and net["status"] == "ACTIVE"
    assert net["shared"] is False and net["router:external"] is False
    assert net["subnets"] == [] and net["tags"] == [] and net["revision_number"] == 0
    assert net["mtu"] == 1450 and net["port_security_enabled"] is True
    assert net["provider:network_type"] == "vxlan"
    assert 100 <= net["provider:segmentation_id"] <= 199
    assert net["created_at"].endswith("Z") and "." not in net["created_at"]
    r = await admin.get(f"{V20}/networks/{net['id']}")
    assert r.status_code == 200 and r.json()["network"] == net
    r = await admin.put(
        f"{V20}/networks/{net['id']}", json={"network": {"name": "green", "mtu": 1400}}
    )
    assert r.status_code == 200, r.text
    updated = r.json()["network"]
    assert (updated["name"], updated["mtu"], updated["revision_number"]) == ("green", 1400, 1)
    assert updated["updated_at"] >= net["updated_at"]
    # An update that changes nothing is no new revision.
    r = await admin.put(f"{V20}/networks/{net['id']}", json={"network": {"name": "green"}})
    assert r.json()["network"]["revision_number"] == 1
    r = await admin.delete(f"{V20}/networks/{net['id']}")
    assert r.status_code == 204 and r.content == b""
    assert_fault(await admin.get(f"{V20}/networks/{net['id']}"), 404, "NetworkNotFound")


async def test_vnis_are_lowest_free_and_never_shared(admin: httpx.AsyncClient) -> None:
    nets = await asyncio.gather(*(create(admin, "network", name=f"n{i}") for i in range(12)))
    vnis = sorted(n["provider:segmentation_id"] for n in nets)
    assert vnis == list(range(100, 112))
    await admin.delete(f"{V20}/networks/{nets[0]['id']}")
    freed = nets[0]["provider:segmentation_id"]
    again = await create(admin, "network", name="again")
    assert again["provider:segmentation_id"] == freed


async def test_vni_range_exhaustion_is_503(admin: httpx.AsyncClient) -> None:
    project = (await admin.get(f"{V20}/quotas/project")).json()["project"]["project_id"]
    r = await admin.put(f"{V20}/quotas/{project}", json={"quota": {"network": -1}})
    assert r.status_code == 200, r.text
    for vni in range(100, 200):
        await create(
            admin, "network", **{"provider:network_type": "vxlan", "provider:segmentation_id": vni}
        )
    r = await admin.post(f"{V20}/networks", json={"network": {"name": "one too many"}})
    assert_fault(r, 503, "NoNetworkAvailable")


async def test_provider_attributes(admin: httpx.AsyncClient) -> None:
    flat = await create(
        admin, "network", **{"provider:network_type": "flat", "provider:physical_network": "public"}
    )
    assert flat["mtu"] == 1500 and flat["provider:segmentation_id"] is None
    assert flat["provider:physical_network"] == "public"
    r = await admin.post(
        f"{V20}/networks",
        json={"network": {"provider:network_type": "flat", "provider:physical_network": "public"}},
    )
    assert_fault(r, 409, "FlatNetworkInUse")
    vx = await create(
        admin, "network", **{"provider:network_type": "vxlan", "provider:segmentation_id": 5000}
    )
    assert vx["provider:segmentation_id"] == 5000
    r = await admin.post(
        f"{V20}/networks",
        json={"network": {"provider:network_type": "vxlan", "provider:segmentation_id": 5000}},
    )
    fault = assert_fault(r, 409, "TunnelIdInUse")
    assert fault["message"] == "Unable to create the network. The tunnel ID 5000 is in use."
    local = await create(admin, "network", **{"provider:network_type": "local"})
    assert local["provider:network_type"] == "local"
    for bad in (
        {"provider:network_type": "vlan"},
        {"provider:network_type": "flat"},
        {"provider:network_type": "vxlan", "provider:physical_network": "public"},
        {"provider:physical_network": "public"},
        {"provider:network_type": "vxlan", "provider:segmentation_id": 1 << 24},
    ):
        assert_fault(await admin.post(f"{V20}/networks", json={"network": bad}), 400)
    # Provider attributes are fixed once the network exists.
    r = await admin.put(
        f"{V20}/networks/{vx['id']}", json={"network": {"provider:segmentation_id": 7}}
    )
    assert_fault(r, 400)
    # Provider attributes filter lists too.
    r = await admin.get(f"{V20}/networks", params={"provider:network_type": "flat"})
    assert [n["id"] for n in r.json()["networks"]] == [flat["id"]]


async def test_members_may_not_use_admin_attributes(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    for attr, value in (
        ("provider:network_type", "vxlan"),
        ("provider:segmentation_id", 42),
        ("router:external", True),
        ("shared", True),
    ):
        r = await admin.post(
            f"{V20}/networks", json={"network": {attr: value}}, headers=auth(token)
        )
        fault = assert_fault(r, 403, "PolicyNotAuthorized")
        assert (
            fault["message"]
            == f"(rule:create_network and rule:create_network:{attr}) is disallowed by policy"
        )
    # Giving an admin attribute its default value is allowed, as in Neutron.
    net = await create(admin, "network", token, shared=False, **{"router:external": False})
    assert "provider:network_type" not in net and "provider:segmentation_id" not in net
    r = await admin.put(
        f"{V20}/networks/{net['id']}", json={"network": {"shared": True}}, headers=auth(token)
    )
    assert_fault(r, 403, "PolicyNotAuthorized")
    # The admin sees the provider attributes of the member's network.
    r = await admin.get(f"{V20}/networks/{net['id']}")
    assert r.json()["network"]["provider:network_type"] == "vxlan"


async def test_readers_cannot_create(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin, role="reader")
    r = await admin.post(f"{V20}/networks", json={"network": {}}, headers=auth(token))
    fault = assert_fault(r, 403, "PolicyNotAuthorized")
    assert fault["message"] == "(rule:create_network) is disallowed by policy"
    r = await admin.get(f"{V20}/networks", headers=auth(token))
    assert r.status_code == 200 and r.json() == {"networks": []}


async def test_mtu_limits(admin: httpx.AsyncClient) -> None:
    r = await admin.post(f"{V20}/networks", json={"network": {"mtu": 1500}})
    fault = assert_fault(r, 400, "InvalidInput")
    assert (
        fault["message"]
        == "Invalid input for operation: Requested MTU is too big, maximum is 1450."
    )
    net = await create(admin, "network", mtu=1400)
    r = await admin.put(f"{V20}/networks/{net['id']}", json={"network": {"mtu": 9000}})
    assert_fault(r, 400, "InvalidInput")


async def test_availability_zones(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V20}/availability_zones")
    assert r.json() == {
        "availability_zones": [{"name": "nova", "resource": "network", "state": "available"}]
    }
    net = await create(admin, "network", availability_zone_hints=["nova"])
    assert net["availability_zone_hints"] == ["nova"] and net["availability_zones"] == ["nova"]
    r = await admin.post(f"{V20}/networks", json={"network": {"availability_zone_hints": ["mars"]}})
    fault = assert_fault(r, 404, "AvailabilityZoneNotFound")
    assert fault["message"] == "AvailabilityZone mars could not be found."


async def test_delete_refuses_ports_in_use_but_takes_dhcp_ports(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network")
    sub = await create(admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.1.0.0/24")
    vm = await create(admin, "port", network_id=net["id"], device_owner="compute:nova")
    await create(admin, "port", network_id=net["id"], device_owner="network:dhcp")
    fault = assert_fault(await admin.delete(f"{V20}/networks/{net['id']}"), 409, "NetworkInUse")
    assert fault["message"] == (
        f"Unable to complete operation on network {net['id']}. There are one or more ports "
        "still in use on the network."
    )
    assert (await admin.delete(f"{V20}/ports/{vm['id']}")).status_code == 204
    assert (await admin.delete(f"{V20}/networks/{net['id']}")).status_code == 204
    assert_fault(await admin.get(f"{V20}/subnets/{sub['id']}"), 404, "SubnetNotFound")
    r = await admin.get(f"{V20}/ports", params={"network_id": net["id"]})
    assert r.json()["ports"] == []


async def test_unsharing_a_network_others_use_is_refused(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network", shared=True)
    await create(admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.2.0.0/24")
    _, _, token = await project_member(admin)
    await create(admin, "port", token, network_id=net["id"])
    r = await admin.put(f"{V20}/networks/{net['id']}", json={"network": {"shared": False}})
    assert_fault(r, 409, "InvalidSharedSetting")


async def test_bulk_create_is_all_or_nothing(admin: httpx.AsyncClient) -> None:
    r = await admin.post(f"{V20}/networks", json={"networks": [{"name": "b1"}, {"name": "b2"}]})
    assert r.status_code == 201, r.text
    assert [n["name"] for n in r.json()["networks"]] == ["b1", "b2"]
    # The second one fails (the VNI is the first one's): the first is undone.
    body = {
        "networks": [
            {"name": "c1", "provider:network_type": "vxlan", "provider:segmentation_id": 4000},
            {"name": "c2", "provider:network_type": "vxlan", "provider:segmentation_id": 4000},
        ]
    }
    assert_fault(await admin.post(f"{V20}/networks", json=body), 409, "TunnelIdInUse")
    r = await admin.get(f"{V20}/networks", params={"name": ["c1", "c2"]})
    assert r.json() == {"networks": []}
    assert_fault(await admin.post(f"{V20}/networks", json={"networks": []}), 400)


async def test_changed_since(admin: httpx.AsyncClient) -> None:
    old = await create(admin, "network", name="old")
    r = await admin.get(f"{V20}/networks", params={"changed_since": old["updated_at"]})
    assert [n["id"] for n in r.json()["networks"]] == [old["id"]]
    r = await admin.get(f"{V20}/networks", params={"changed_since": "2999-01-01T00:00:00Z"})
    assert r.json() == {"networks": []}
    r = await admin.get(f"{V20}/networks", params={"changed_since": "yesterday"})
    assert_fault(r, 400)
