"""Tenant isolation: another project's resources are 404; shared and external networks are not."""

from __future__ import annotations

import httpx

from tests.functional.network.support import V20, assert_fault, auth, create, network_with_subnet
from tests.support.identity import project_member


async def test_projects_do_not_see_each_other(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    net, sub = await network_with_subnet(admin, alice)
    port = await create(admin, "port", alice, network_id=net["id"])
    sg = await create(admin, "security_group", alice, name="a")
    pool = await create(admin, "subnetpool", alice, prefixes=["10.60.0.0/16"])
    rule_id = sg["security_group_rules"][0]["id"]
    for collection, ident, kind in (
        ("networks", net["id"], "NetworkNotFound"),
        ("subnets", sub["id"], "SubnetNotFound"),
        ("ports", port["id"], "PortNotFound"),
        ("security_groups", sg["id"], "SecurityGroupNotFound"),
        ("security_group_rules", rule_id, "SecurityGroupRuleNotFound"),
        ("subnetpools", pool["id"], "SubnetPoolNotFound"),
    ):
        path = collection.replace("_", "-")
        url = f"{V20}/{path}/{ident}"
        assert_fault(await admin.get(url, headers=auth(bob)), 404, kind)
        assert_fault(await admin.delete(url, headers=auth(bob)), 404, kind)
        r = await admin.get(f"{V20}/{path}", headers=auth(bob))
        assert ident not in {item["id"] for item in r.json()[collection]}
        if collection != "security_group_rules":  # rules carry no tags
            assert_fault(await admin.get(f"{url}/tags", headers=auth(bob)), 404, kind)
        # The owner and the admin do see it.
        assert (await admin.get(url, headers=auth(alice))).status_code == 200
        assert (await admin.get(url)).status_code == 200
    r = await admin.put(
        f"{V20}/networks/{net['id']}", json={"network": {"name": "x"}}, headers=auth(bob)
    )
    assert_fault(r, 404, "NetworkNotFound")
    # Nothing can be created on what cannot be seen.
    r = await admin.post(
        f"{V20}/ports", json={"port": {"network_id": net["id"]}}, headers=auth(bob)
    )
    assert_fault(r, 404, "NetworkNotFound")
    r = await admin.post(
        f"{V20}/security-group-rules",
        headers=auth(bob),
        json={"security_group_rule": {"security_group_id": sg["id"], "direction": "ingress"}},
    )
    assert_fault(r, 404, "SecurityGroupNotFound")
    r = await admin.post(
        f"{V20}/ports",
        headers=auth(bob),
        json={
            "port": {
                "network_id": (await create(admin, "network", bob))["id"],
                "security_groups": [sg["id"]],
            }
        },
    )
    assert_fault(r, 404, "SecurityGroupNotFound")
    # Filters cannot reach across projects either.
    r = await admin.get(f"{V20}/ports", params={"network_id": net["id"]}, headers=auth(bob))
    assert r.json() == {"ports": []}
    r = await admin.get(
        f"{V20}/networks", params={"limit": 1, "marker": net["id"]}, headers=auth(bob)
    )
    assert_fault(r, 404, "NetworkNotFound")


async def test_shared_and_external_networks_are_visible(admin: httpx.AsyncClient) -> None:
    _, _, bob = await project_member(admin)
    shared, shared_sub = await network_with_subnet(admin, cidr="10.61.0.0/24")
    await admin.put(f"{V20}/networks/{shared['id']}", json={"network": {"shared": True}})
    public = await create(admin, "network", **{"router:external": True})
    public_sub = await create(
        admin, "subnet", network_id=public["id"], ip_version=4, cidr="172.24.4.0/24"
    )
    private = await create(admin, "network")
    r = await admin.get(f"{V20}/networks", headers=auth(bob))
    seen = {n["id"] for n in r.json()["networks"]}
    assert seen == {shared["id"], public["id"]}
    # A non-shared external network's subnets stay hidden (Tempest's
    # test_external_network_visibility): only the shared network's are listed.
    r = await admin.get(f"{V20}/subnets", headers=auth(bob))
    assert {s["id"] for s in r.json()["subnets"]} == {shared_sub["id"]}
    assert_fault(await admin.get(f"{V20}/subnets/{public_sub['id']}", headers=auth(bob)), 404)
    r = await admin.get(f"{V20}/networks", params={"router:external": "true"}, headers=auth(bob))
    assert [n["id"] for n in r.json()["networks"]] == [public["id"]]
    # Visible is not owned: changing or deleting them is refused.
    r = await admin.put(
        f"{V20}/networks/{shared['id']}", json={"network": {"name": "mine"}}, headers=auth(bob)
    )
    assert_fault(r, 403, "PolicyNotAuthorized")
    assert_fault(await admin.delete(f"{V20}/networks/{public['id']}", headers=auth(bob)), 403)
    assert_fault(await admin.delete(f"{V20}/subnets/{shared_sub['id']}", headers=auth(bob)), 403)
    assert_fault(await admin.get(f"{V20}/networks/{private['id']}", headers=auth(bob)), 404)
    # An external network is seen by all but open only to its owner.
    r = await admin.post(
        f"{V20}/ports", json={"port": {"network_id": public["id"]}}, headers=auth(bob)
    )
    fault = assert_fault(r, 404, "HTTPNotFound")
    assert fault["message"] == "The resource could not be found."
    r = await admin.post(
        f"{V20}/subnets",
        headers=auth(bob),
        json={"subnet": {"network_id": public["id"], "ip_version": 4, "cidr": "172.25.0.0/24"}},
    )
    assert_fault(r, 404, "HTTPNotFound")
    # Bob's port on the shared network is his; the network's owner sees it too.
    port = await create(admin, "port", bob, network_id=shared["id"])
    assert port["project_id"] != shared["project_id"]
    r = await admin.get(f"{V20}/ports", params={"network_id": shared["id"]}, headers=auth(bob))
    assert [p["id"] for p in r.json()["ports"]] == [port["id"]]


async def test_network_owner_sees_ports_on_its_network(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    net = await create(admin, "network", alice, shared=False)
    await admin.put(f"{V20}/networks/{net['id']}", json={"network": {"shared": True}})
    await create(admin, "subnet", alice, network_id=net["id"], ip_version=4, cidr="10.62.0.0/24")
    port = await create(admin, "port", bob, network_id=net["id"])
    r = await admin.get(f"{V20}/ports/{port['id']}", headers=auth(alice))
    assert r.status_code == 200
    # ...and may delete it (admin_or_network_owner), while a third project may not see it.
    _, _, carol = await project_member(admin)
    assert_fault(await admin.get(f"{V20}/ports/{port['id']}", headers=auth(carol)), 404)
    assert (await admin.delete(f"{V20}/ports/{port['id']}", headers=auth(alice))).status_code == 204


async def test_admin_sees_every_project(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    a = await create(admin, "network", alice)
    b = await create(admin, "network", bob)
    r = await admin.get(f"{V20}/networks")
    assert {a["id"], b["id"]} <= {n["id"] for n in r.json()["networks"]}
    r = await admin.get(f"{V20}/networks", params={"project_id": a["project_id"]})
    assert [n["id"] for n in r.json()["networks"]] == [a["id"]]
