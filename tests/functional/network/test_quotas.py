"""The quotas API: defaults, per-project limits, details, who may read and change them."""

from __future__ import annotations

import httpx

from tests.functional.network.support import V20, assert_fault, auth, create
from tests.support.identity import project_member

DEFAULTS = {
    "network": 100,
    "subnet": 100,
    "subnetpool": -1,
    "port": 500,
    "router": 10,
    "floatingip": 50,
    "security_group": 10,
    "security_group_rule": 100,
}


async def test_show_update_reset(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    url = f"{V20}/quotas/{project['id']}"
    r = await admin.get(url, headers=auth(token))
    assert r.status_code == 200 and r.json() == {"quota": DEFAULTS}
    r = await admin.get(f"{url}/default", headers=auth(token))
    assert r.json() == {"quota": DEFAULTS}
    r = await admin.put(url, json={"quota": {"network": "7", "port": -1}})
    assert r.status_code == 200, r.text
    assert r.json() == {"quota": {**DEFAULTS, "network": 7, "port": -1}}
    r = await admin.get(f"{V20}/quotas")
    listed = r.json()["quotas"]
    assert {
        **DEFAULTS,
        "network": 7,
        "port": -1,
        "project_id": project["id"],
        "tenant_id": project["id"],
    } in listed
    assert (await admin.delete(url)).status_code == 204
    assert (await admin.get(url)).json() == {"quota": DEFAULTS}
    assert project["id"] not in {
        q["project_id"] for q in (await admin.get(f"{V20}/quotas")).json()["quotas"]
    }


async def test_project_endpoints(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.get(f"{V20}/quotas/project", headers=auth(token))
    assert r.json() == {"project": {"project_id": project["id"]}}
    r = await admin.get(f"{V20}/quotas/tenant", headers=auth(token))
    assert r.json() == {"tenant": {"tenant_id": project["id"]}}


async def test_members_only_read_their_own(admin: httpx.AsyncClient) -> None:
    other, _, _ = await project_member(admin)
    _, _, token = await project_member(admin)
    url = f"{V20}/quotas/{other['id']}"
    assert_fault(await admin.get(url, headers=auth(token)), 403, "PolicyNotAuthorized")
    assert_fault(await admin.get(f"{url}/details", headers=auth(token)), 403)
    r = await admin.put(url, json={"quota": {"network": 1}}, headers=auth(token))
    assert_fault(r, 403, "PolicyNotAuthorized")
    assert_fault(await admin.delete(url, headers=auth(token)), 403)
    assert_fault(await admin.get(f"{V20}/quotas", headers=auth(token)), 403)


async def test_bad_updates(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    url = f"{V20}/quotas/{project['id']}"
    for body, message in (
        ({"quota": {"wheels": 4}}, "Unrecognized attribute(s) 'wheels'"),
        (
            {"quota": {"network": -2}},
            "Invalid input for network. Reason: '-2' is too small - must be at least '-1'.",
        ),
        ({"network": 1}, "Unable to find 'quota' in request body"),
    ):
        assert assert_fault(await admin.put(url, json=body), 400)["message"] == message
    assert_fault(await admin.put(url, json={"quota": {"network": "lots"}}), 400, "InvalidInput")
    # A limit below what is in use needs force.
    await create(admin, "network", token)
    await create(admin, "network", token)
    r = await admin.put(url, json={"quota": {"network": 1}})
    fault = assert_fault(r, 400)
    assert (
        fault["message"]
        == "Quota limit 1 for network must be greater than or equal to already used 2"
    )
    r = await admin.put(url, json={"quota": {"network": 1, "force": True}})
    assert r.status_code == 200 and r.json()["quota"]["network"] == 1
    r = await admin.post(f"{V20}/networks", json={"network": {}}, headers=auth(token))
    assert_fault(r, 409, "OverQuota")
    r = await admin.get(f"{url}/details", headers=auth(token))
    assert r.json()["quota"]["network"] == {"limit": 1, "used": 2, "reserved": 0}
    assert r.json()["quota"]["security_group"]["limit"] == 10
