"""auto-allocated-topology: a project's network to the outside, made once, checked, removed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from stackling.settings import Settings
from tests.conftest import issue_token, make_settings, running_client
from tests.functional.network.support import V20, assert_fault, auth, create
from tests.support.identity import project_member

TOPOLOGY = f"{V20}/auto-allocated-topology"


async def _default_external(c: httpx.AsyncClient, **subnet: Any) -> dict[str, Any]:
    """The default external network, with a subnet (as admin)."""
    net = await create(c, "network", name="public", is_default=True, **{"router:external": True})
    await create(c, "subnet", network_id=net["id"], ip_version=4, cidr="172.24.4.0/24", **subnet)
    return net


async def _default_pool(c: httpx.AsyncClient) -> dict[str, Any]:
    """A shared default IPv4 pool of /26s, as devstack makes (as admin)."""
    return await create(
        c,
        "subnetpool",
        name="shared-default-subnetpool-v4",
        prefixes=["10.0.0.0/22"],
        default_prefixlen=26,
        shared=True,
        is_default=True,
    )


async def _ready(c: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    return await _default_external(c), await _default_pool(c)


async def _owned(c: httpx.AsyncClient, collection: str, project_id: str) -> list[dict[str, Any]]:
    path = collection.replace("_", "-")
    r = await c.get(f"{V20}/{path}", params={"project_id": project_id})
    assert r.status_code == 200, r.text
    return list(r.json()[collection])


async def _get(
    c: httpx.AsyncClient, project_id: str, token: str | None = None, **params: Any
) -> httpx.Response:
    return await c.get(f"{TOPOLOGY}/{project_id}", params=params, headers=auth(token))


async def test_the_first_get_builds_the_topology_and_later_ones_return_it(
    admin: httpx.AsyncClient,
) -> None:
    ext, pool = await _ready(admin)
    project, _, alice = await project_member(admin)
    pid = project["id"]
    r = await _get(admin, pid, alice)
    assert r.status_code == 200, r.text
    topology = r.json()["auto_allocated_topology"]
    assert set(topology) == {"id", "tenant_id", "project_id"}
    assert topology["tenant_id"] == topology["project_id"] == pid
    [net] = await _owned(admin, "networks", pid)
    assert net["id"] == topology["id"]
    assert net["name"] == "auto_allocated_network" and net["admin_state_up"] is True
    assert net["shared"] is False and net["router:external"] is False
    [sub] = await _owned(admin, "subnets", pid)
    assert sub["name"] == "auto_allocated_subnet_v4" and sub["network_id"] == net["id"]
    assert sub["subnetpool_id"] == pool["id"] and sub["cidr"] == "10.0.0.0/26"
    [router] = await _owned(admin, "routers", pid)
    assert router["name"] == "auto_allocated_router"
    assert router["external_gateway_info"]["network_id"] == ext["id"]
    r = await admin.get(f"{V20}/ports", params={"device_id": router["id"]})
    interfaces = [p for p in r.json()["ports"] if p["device_owner"] == "network:router_interface"]
    assert [i["fixed_ips"] for i in interfaces] == [
        [{"subnet_id": sub["id"], "ip_address": sub["gateway_ip"]}]
    ]
    # Again: the same network, nothing new.
    r = await _get(admin, pid, alice)
    assert r.status_code == 200 and r.json()["auto_allocated_topology"]["id"] == net["id"]
    assert len(await _owned(admin, "networks", pid)) == 1
    assert len(await _owned(admin, "routers", pid)) == 1
    # The caller's own project may also be named "None", as older clients do.
    r = await _get(admin, "None", alice)
    assert r.status_code == 200 and r.json()["auto_allocated_topology"]["id"] == net["id"]


async def test_concurrent_gets_make_one_topology(admin: httpx.AsyncClient) -> None:
    _, pool = await _ready(admin)
    project, _, alice = await project_member(admin)
    pid = project["id"]
    answers = await asyncio.gather(*(_get(admin, pid, alice) for _ in range(5)))
    assert [r.status_code for r in answers] == [200] * 5, [r.text for r in answers]
    ids = {r.json()["auto_allocated_topology"]["id"] for r in answers}
    assert len(ids) == 1
    # The losers removed what they built: one network, subnet, router is left.
    assert [n["id"] for n in await _owned(admin, "networks", pid)] == list(ids)
    assert len(await _owned(admin, "subnets", pid)) == 1
    assert len(await _owned(admin, "routers", pid)) == 1
    r = await admin.get(f"{V20}/subnets", params={"subnetpool_id": pool["id"]})
    assert len(r.json()["subnets"]) == 1
    r = await admin.get(f"{V20}/networks/{ids.pop()}")
    assert r.json()["network"]["admin_state_up"] is True


async def test_dry_run_checks_without_building(admin: httpx.AsyncClient) -> None:
    project, _, alice = await project_member(admin)
    pid = project["id"]
    fault = assert_fault(await _get(admin, pid, alice, fields="dry-run"), 409)
    assert fault == {
        "type": "AutoAllocationFailure",
        "message": "Deployment error: No default router:external network.",
        "detail": "",
    }
    await _default_external(admin)
    fault = assert_fault(await _get(admin, pid, alice, fields="dry-run"), 409)
    assert fault["message"] == "Deployment error: No default subnetpools defined."
    await _default_pool(admin)
    r = await _get(admin, pid, alice, fields="dry-run")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "auto_allocated_topology": {"id": "dry-run=pass", "tenant_id": pid, "project_id": pid}
    }
    assert await _owned(admin, "networks", pid) == []
    # Any other field is refused.
    fault = assert_fault(await _get(admin, pid, alice, fields="id"), 400, "BadRequest")
    assert fault["message"] == "Bad auto_allocate request: Unrecognized field."


async def test_missing_requirements_are_409_and_leave_nothing(admin: httpx.AsyncClient) -> None:
    project, _, alice = await project_member(admin)
    pid = project["id"]
    fault = assert_fault(await _get(admin, pid, alice), 409, "AutoAllocationFailure")
    assert fault["message"] == "Deployment error: No default router:external network."
    await _default_external(admin)
    # No pool: the network is made, then removed again.
    fault = assert_fault(await _get(admin, pid, alice), 409, "AutoAllocationFailure")
    assert fault["message"] == "Deployment error: Unable to provide project private network."
    assert await _owned(admin, "networks", pid) == []


async def test_a_failing_step_removes_what_was_built_and_a_retry_works(
    admin: httpx.AsyncClient,
) -> None:
    await _ready(admin)
    project, _, alice = await project_member(admin)
    pid = project["id"]
    r = await admin.put(f"{V20}/quotas/{pid}", json={"quota": {"router": 0}})
    assert r.status_code == 200, r.text
    assert_fault(await _get(admin, pid, alice), 409, "OverQuota")
    for collection in ("networks", "subnets", "routers", "ports"):
        assert await _owned(admin, collection, pid) == [], collection
    r = await admin.delete(f"{V20}/quotas/{pid}")
    assert r.status_code == 204, r.text
    r = await _get(admin, pid, alice)
    assert r.status_code == 200, r.text
    assert [n["id"] for n in await _owned(admin, "networks", pid)] == [
        r.json()["auto_allocated_topology"]["id"]
    ]


async def test_delete_removes_everything(admin: httpx.AsyncClient) -> None:
    _, pool = await _ready(admin)
    project, _, alice = await project_member(admin)
    pid = project["id"]
    first = (await _get(admin, pid, alice)).json()["auto_allocated_topology"]["id"]
    r = await admin.delete(f"{TOPOLOGY}/{pid}", headers=auth(alice))
    assert r.status_code == 204, r.text
    for collection in ("networks", "subnets", "routers", "ports"):
        assert await _owned(admin, collection, pid) == [], collection
    r = await admin.get(f"{V20}/subnets", params={"subnetpool_id": pool["id"]})
    assert r.json()["subnets"] == []
    # Nothing left to delete is no error; the next GET builds a new topology.
    r = await admin.delete(f"{TOPOLOGY}/{pid}", headers=auth(alice))
    assert r.status_code == 204, r.text
    r = await _get(admin, pid, alice)
    assert r.status_code == 200 and r.json()["auto_allocated_topology"]["id"] != first


async def test_delete_is_refused_while_a_server_uses_the_network(
    admin: httpx.AsyncClient,
) -> None:
    await _ready(admin)
    project, _, alice = await project_member(admin)
    pid = project["id"]
    net_id = (await _get(admin, pid, alice)).json()["auto_allocated_topology"]["id"]
    port = await create(admin, "port", network_id=net_id, device_owner="compute:nova")
    r = await admin.delete(f"{TOPOLOGY}/{pid}", headers=auth(alice))
    fault = assert_fault(r, 409, "NetworkInUse")
    assert net_id in fault["message"]
    # Refused before anything went.
    assert len(await _owned(admin, "routers", pid)) == 1
    assert len(await _owned(admin, "subnets", pid)) == 1
    assert (await admin.delete(f"{V20}/ports/{port['id']}")).status_code == 204
    assert (await admin.delete(f"{TOPOLOGY}/{pid}", headers=auth(alice))).status_code == 204
    assert await _owned(admin, "networks", pid) == []


async def test_other_projects_topologies_are_not_reachable(admin: httpx.AsyncClient) -> None:
    await _ready(admin)
    alice_project, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    pid = alice_project["id"]
    fault = assert_fault(await _get(admin, pid, bob), 403, "NotAuthorized")
    assert fault["message"] == "Not authorized."
    assert_fault(await admin.delete(f"{TOPOLOGY}/{pid}", headers=auth(bob)), 403, "NotAuthorized")
    assert_fault(await _get(admin, pid, bob, fields="dry-run"), 403, "NotAuthorized")
    assert await _owned(admin, "networks", pid) == []
    # An admin may get (and so build) any project's.
    r = await _get(admin, pid)
    assert r.status_code == 200, r.text
    [net] = await _owned(admin, "networks", pid)
    assert r.json()["auto_allocated_topology"] == {
        "id": net["id"],
        "tenant_id": pid,
        "project_id": pid,
    }
    r = await _get(admin, pid, alice)
    assert r.json()["auto_allocated_topology"]["id"] == net["id"]


async def test_a_reader_gets_but_may_not_delete(admin: httpx.AsyncClient) -> None:
    await _ready(admin)
    project, _, reader = await project_member(admin, role="reader")
    pid = project["id"]
    r = await _get(admin, pid, reader)
    assert r.status_code == 200, r.text
    r = await admin.delete(f"{TOPOLOGY}/{pid}", headers=auth(reader))
    assert_fault(r, 403, "PolicyNotAuthorized")
    assert len(await _owned(admin, "networks", pid)) == 1


async def test_is_default_on_external_networks(admin: httpx.AsyncClient) -> None:
    first = await create(admin, "network", is_default=True, **{"router:external": True})
    assert first["is_default"] is True
    second = await create(admin, "network", **{"router:external": True})
    assert second["is_default"] is False
    # Only one default external network at a time.
    r = await admin.post(
        f"{V20}/networks",
        json={"network": {"router:external": True, "is_default": True}},
    )
    fault = assert_fault(r, 409, "DefaultExternalNetworkExists")
    assert fault["message"] == f"A default external network already exists: {first['id']}."
    url = f"{V20}/networks/{second['id']}"
    assert_fault(await admin.put(url, json={"network": {"is_default": True}}), 409)
    r = await admin.put(f"{V20}/networks/{first['id']}", json={"network": {"is_default": True}})
    assert r.status_code == 200 and r.json()["network"]["is_default"] is True
    r = await admin.get(f"{V20}/networks", params={"is_default": True})
    assert [n["id"] for n in r.json()["networks"]] == [first["id"]]
    # An internal network is never the default one and does not show the attribute.
    internal = await create(admin, "network", is_default=True)
    assert "is_default" not in internal
    # A network that stops being external stops being the default; another may be.
    r = await admin.put(
        f"{V20}/networks/{first['id']}", json={"network": {"router:external": False}}
    )
    assert r.status_code == 200 and "is_default" not in r.json()["network"]
    r = await admin.put(url, json={"network": {"is_default": True}})
    assert r.status_code == 200 and r.json()["network"]["is_default"] is True
    r = await admin.put(url, json={"network": {"is_default": False}})
    assert r.status_code == 200 and r.json()["network"]["is_default"] is False


async def test_only_admins_set_is_default(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    r = await admin.post(
        f"{V20}/networks", json={"network": {"is_default": True}}, headers=auth(alice)
    )
    fault = assert_fault(r, 403, "PolicyNotAuthorized")
    assert "create_network:is_default" in fault["message"]
    # The default value needs no permission.
    net = await create(admin, "network", alice, is_default=False)
    r = await admin.put(
        f"{V20}/networks/{net['id']}", json={"network": {"is_default": True}}, headers=auth(alice)
    )
    assert_fault(r, 403, "PolicyNotAuthorized")


async def test_the_extension_is_listed(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V20}/extensions/auto-allocated-topology")
    assert r.status_code == 200, r.text
    ext = r.json()["extension"]
    assert ext["name"] == "Auto Allocated Topology Services"
    assert ext["description"] == "Auto Allocated Topology Services."


def _bootstrapped(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "network"],
        network={"public_network_cidr": "172.24.4.0/24"},
    )


async def test_a_new_cloud_is_ready_for_auto_allocation(tmp_path: Path, db_url: str) -> None:
    settings = _bootstrapped(tmp_path, db_url)
    for _ in range(2):  # a second start makes nothing twice
        async with running_client(settings) as c:
            c.headers["X-Auth-Token"] = await issue_token(c)
            nets = (await c.get(f"{V20}/networks", params={"is_default": True})).json()
            pools = (await c.get(f"{V20}/subnetpools")).json()["subnetpools"]
            [public] = nets["networks"]
            assert public["name"] == "public" and public["router:external"] is True
            [pool] = pools
            assert pool["name"] == "shared-default-subnetpool-v4"
            assert pool["prefixes"] == ["10.0.0.0/22"] and pool["default_prefixlen"] == 26
            assert pool["shared"] is True and pool["is_default"] is True
            _, _, alice = await project_member(c)
            r = await c.get(f"{TOPOLOGY}/None", params={"fields": "dry-run"}, headers=auth(alice))
            assert r.status_code == 200, r.text
