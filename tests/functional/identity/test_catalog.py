"""Regions, services and endpoints, and what the token catalog shows of them."""

from __future__ import annotations

import httpx

from tests.support.identity import V3, as_token, assert_fault, project_member, unique


async def _catalog(admin: httpx.AsyncClient) -> list[dict]:
    r = await admin.get(f"{V3}/auth/catalog")
    assert r.status_code == 200, r.text
    return list(r.json()["catalog"])


async def test_bootstrap_catalog(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V3}/services", params={"type": "identity"})
    assert r.status_code == 200
    (service,) = r.json()["services"]
    assert service["name"] == "keystone" and service["enabled"] is True
    r = await admin.get(f"{V3}/endpoints", params={"service_id": service["id"]})
    assert {e["interface"] for e in r.json()["endpoints"]} == {"public", "internal", "admin"}
    r = await admin.get(f"{V3}/regions/RegionOne")
    assert r.status_code == 200 and r.json()["region"]["id"] == "RegionOne"


async def test_service_and_endpoint_lifecycle(admin: httpx.AsyncClient) -> None:
    kind = unique("svc")
    r = await admin.post(f"{V3}/services", json={"service": {"type": kind, "name": "thing"}})
    assert r.status_code == 201, r.text
    service = r.json()["service"]
    assert service["type"] == kind and service["name"] == "thing"

    url = "http://127.0.0.1:9/v1/$(project_id)s"
    r = await admin.post(
        f"{V3}/endpoints",
        json={
            "endpoint": {
                "service_id": service["id"],
                "interface": "public",
                "url": url,
                "region_id": "RegionOne",
            }
        },
    )
    assert r.status_code == 201, r.text
    endpoint = r.json()["endpoint"]
    assert endpoint["url"] == url and endpoint["region_id"] == "RegionOne"

    # The token catalog shows it, with the project id filled in.
    entry = next(s for s in await _catalog(admin) if s["type"] == kind)
    (shown,) = entry["endpoints"]
    token = (
        await admin.get(
            f"{V3}/auth/tokens", headers={"X-Subject-Token": admin.headers["X-Auth-Token"]}
        )
    ).json()
    assert shown["url"] == f"http://127.0.0.1:9/v1/{token['token']['project']['id']}"

    # A disabled endpoint leaves the catalog; a disabled service too.
    r = await admin.patch(f"{V3}/endpoints/{endpoint['id']}", json={"endpoint": {"enabled": False}})
    assert r.status_code == 200
    entry = next(s for s in await _catalog(admin) if s["type"] == kind)
    assert entry["endpoints"] == []
    r = await admin.patch(f"{V3}/services/{service['id']}", json={"service": {"enabled": False}})
    assert r.status_code == 200
    assert kind not in {s["type"] for s in await _catalog(admin)}

    # Deleting the service deletes its endpoints.
    assert (await admin.delete(f"{V3}/services/{service['id']}")).status_code == 204
    assert_fault(await admin.get(f"{V3}/endpoints/{endpoint['id']}"), 404)


async def test_endpoint_needs_known_service_and_region(admin: httpx.AsyncClient) -> None:
    # Keystone: a ValidationError (400) naming the missing service or region.
    r = await admin.post(
        f"{V3}/endpoints",
        json={"endpoint": {"service_id": "0" * 32, "interface": "public", "url": "http://a/"}},
    )
    assert_fault(r, 400)
    r = await admin.get(f"{V3}/services")
    service_id = r.json()["services"][0]["id"]
    r = await admin.post(
        f"{V3}/endpoints",
        json={
            "endpoint": {
                "service_id": service_id,
                "interface": "public",
                "url": "http://a/",
                "region_id": unique("nowhere"),
            }
        },
    )
    assert_fault(r, 400)
    r = await admin.get(f"{V3}/endpoints", params={"service_id": service_id})
    assert all(e["url"] != "http://a/" for e in r.json()["endpoints"])


async def test_regions(admin: httpx.AsyncClient) -> None:
    parent = unique("region")
    r = await admin.put(f"{V3}/regions/{parent}", json={"region": {"description": "top"}})
    assert r.status_code == 201, r.text
    r = await admin.post(
        f"{V3}/regions", json={"region": {"id": parent + "-a", "parent_region_id": parent}}
    )
    assert r.status_code == 201, r.text
    assert r.json()["region"]["parent_region_id"] == parent
    assert_fault(await admin.put(f"{V3}/regions/{parent}", json={"region": {}}), 409)
    r = await admin.post(
        f"{V3}/regions", json={"region": {"id": unique(), "parent_region_id": "nope-" + parent}}
    )
    assert r.status_code in (400, 404), r.text
    # A parent with children cannot go; the child first, then the parent.
    r = await admin.delete(f"{V3}/regions/{parent}")
    assert r.status_code in (400, 403, 409), r.text
    assert (await admin.delete(f"{V3}/regions/{parent}-a")).status_code == 204
    assert (await admin.delete(f"{V3}/regions/{parent}")).status_code == 204
    assert_fault(await admin.get(f"{V3}/regions/{parent}"), 404)


async def test_member_reads_regions_not_endpoints(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    assert (await admin.get(f"{V3}/regions", headers=as_token(token))).status_code == 200
    for path in ("services", "endpoints"):
        assert_fault(await admin.get(f"{V3}/{path}", headers=as_token(token)), 403)
    r = await admin.post(
        f"{V3}/endpoints",
        json={"endpoint": {"service_id": "x", "interface": "public", "url": "http://a/"}},
        headers=as_token(token),
    )
    assert_fault(r, 403)
