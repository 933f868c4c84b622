"""Unified limits: registered limits, project and domain limits, the enforcement model."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.identity import (
    V3,
    as_token,
    assert_fault,
    create_domain,
    create_project,
    project_member,
    unique,
)


async def _service(admin: httpx.AsyncClient) -> str:
    r = await admin.post(f"{V3}/services", json={"service": {"type": unique("svc")}})
    assert r.status_code == 201, r.text
    return str(r.json()["service"]["id"])


async def _register(admin: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    r = await admin.post(f"{V3}/registered_limits", json={"registered_limits": [fields]})
    assert r.status_code == 201, r.text
    (row,) = r.json()["registered_limits"]
    return dict(row)


async def test_registered_limits(admin: httpx.AsyncClient) -> None:
    service_id = await _service(admin)
    reg = await _register(
        admin, service_id=service_id, resource_name="cores", default_limit=10, description="d"
    )
    assert reg["default_limit"] == 10 and reg["region_id"] is None
    assert reg["links"]["self"].endswith(f"/v3/registered_limits/{reg['id']}")

    # Anyone authenticated may read them.
    _, _, token = await project_member(admin)
    r = await admin.get(
        f"{V3}/registered_limits", params={"service_id": service_id}, headers=as_token(token)
    )
    assert r.status_code == 200 and r.json()["registered_limits"] == [reg]
    r = await admin.get(f"{V3}/registered_limits/{reg['id']}", headers=as_token(token))
    assert r.json()["registered_limit"] == reg
    body = {
        "registered_limits": [{"service_id": service_id, "resource_name": "x", "default_limit": 1}]
    }
    assert_fault(
        await admin.post(f"{V3}/registered_limits", json=body, headers=as_token(token)), 403
    )

    r = await admin.patch(
        f"{V3}/registered_limits/{reg['id']}", json={"registered_limit": {"default_limit": 20}}
    )
    assert r.status_code == 200 and r.json()["registered_limit"]["default_limit"] == 20
    dup = {"service_id": service_id, "resource_name": "cores", "default_limit": 1}
    assert_fault(
        await admin.post(f"{V3}/registered_limits", json={"registered_limits": [dup]}), 409
    )
    for bad in (
        {"service_id": "nope", "resource_name": "ram", "default_limit": 1},
        {"service_id": service_id, "resource_name": "ram", "default_limit": -2},
        {"service_id": service_id, "resource_name": "ram", "default_limit": "1"},
        {"service_id": service_id, "resource_name": "ram", "default_limit": 2**31},
        {"service_id": service_id, "resource_name": "ram", "default_limit": 1, "region_id": "nope"},
        {"service_id": service_id, "default_limit": 1},
    ):
        r = await admin.post(f"{V3}/registered_limits", json={"registered_limits": [bad]})
        assert_fault(r, 400)
    assert_fault(await admin.post(f"{V3}/registered_limits", json={"registered_limits": []}), 400)
    r = await admin.patch(
        f"{V3}/registered_limits/{reg['id']}", json={"registered_limit": {"resource_name": None}}
    )
    assert_fault(r, 400)

    assert (await admin.delete(f"{V3}/registered_limits/{reg['id']}")).status_code == 204
    assert_fault(await admin.get(f"{V3}/registered_limits/{reg['id']}"), 404)


async def test_project_and_domain_limits(admin: httpx.AsyncClient) -> None:
    service_id = await _service(admin)
    reg = await _register(admin, service_id=service_id, resource_name="cores", default_limit=10)
    project, _, member_token = await project_member(admin)
    other = await create_project(admin)
    domain = await create_domain(admin)

    items = [
        {
            "service_id": service_id,
            "resource_name": "cores",
            "resource_limit": 5,
            "project_id": project["id"],
        },
        {
            "service_id": service_id,
            "resource_name": "cores",
            "resource_limit": 7,
            "project_id": other["id"],
        },
        {
            "service_id": service_id,
            "resource_name": "cores",
            "resource_limit": 50,
            "domain_id": domain["id"],
        },
    ]
    r = await admin.post(f"{V3}/limits", json={"limits": items})
    assert r.status_code == 201, r.text
    mine, theirs, dom = r.json()["limits"]
    assert (mine["resource_limit"], mine["project_id"], mine["domain_id"]) == (
        5,
        project["id"],
        None,
    )
    assert dom["domain_id"] == domain["id"] and dom["project_id"] is None

    # A member sees the limits of their project only.
    r = await admin.get(f"{V3}/limits", headers=as_token(member_token))
    assert [x["id"] for x in r.json()["limits"]] == [mine["id"]]
    assert (
        await admin.get(f"{V3}/limits/{mine['id']}", headers=as_token(member_token))
    ).status_code == 200
    assert_fault(
        await admin.get(f"{V3}/limits/{theirs['id']}", headers=as_token(member_token)), 403
    )
    r = await admin.get(f"{V3}/limits", params={"service_id": service_id})
    assert {x["id"] for x in r.json()["limits"]} == {mine["id"], theirs["id"], dom["id"]}
    r = await admin.get(f"{V3}/limits", params={"project_id": other["id"]})
    assert [x["id"] for x in r.json()["limits"]] == [theirs["id"]]

    r = await admin.patch(f"{V3}/limits/{mine['id']}", json={"limit": {"resource_limit": 6}})
    assert r.status_code == 200 and r.json()["limit"]["resource_limit"] == 6
    r = await admin.patch(f"{V3}/limits/{mine['id']}", json={"limit": {"project_id": "x"}})
    assert_fault(r, 400)
    r = await admin.patch(
        f"{V3}/limits/{mine['id']}",
        json={"limit": {"resource_limit": 1}},
        headers=as_token(member_token),
    )
    assert_fault(r, 403)

    # Duplicates, limits with nothing registered to override, bad owners.
    assert_fault(await admin.post(f"{V3}/limits", json={"limits": items[:1]}), 409)
    unregistered = {**items[0], "resource_name": "ram"}
    assert_fault(await admin.post(f"{V3}/limits", json={"limits": [unregistered]}), 403)
    both = {**items[0], "domain_id": domain["id"]}
    assert_fault(await admin.post(f"{V3}/limits", json={"limits": [both]}), 400)
    missing = {**items[0], "project_id": "nope"}
    assert_fault(await admin.post(f"{V3}/limits", json={"limits": [missing]}), 400)

    # The registered limit cannot go while limits override it.
    assert_fault(await admin.delete(f"{V3}/registered_limits/{reg['id']}"), 403)
    r = await admin.patch(
        f"{V3}/registered_limits/{reg['id']}", json={"registered_limit": {"resource_name": "x"}}
    )
    assert_fault(r, 403)
    for row in (mine, theirs, dom):
        assert (await admin.delete(f"{V3}/limits/{row['id']}")).status_code == 204
    assert_fault(await admin.get(f"{V3}/limits/{mine['id']}"), 404)
    assert (await admin.delete(f"{V3}/registered_limits/{reg['id']}")).status_code == 204


async def test_limit_model(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V3}/limits/model")
    assert r.status_code == 200 and r.json()["model"]["name"] == "flat"
