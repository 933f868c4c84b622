"""Version discovery, microversion negotiation, the error format and who may call what."""

from __future__ import annotations

import httpx

from tests.functional.placement.support import (
    LATEST,
    P,
    assert_placement_fault,
    create_provider,
    mv,
)
from tests.support.identity import as_token, project_member


async def test_root_lists_the_version_range_without_a_token(client: httpx.AsyncClient) -> None:
    r = await client.get(P)
    assert r.status_code == 200, r.text
    (version,) = r.json()["versions"]
    assert version["id"] == "v1.0"
    assert version["min_version"] == "1.0"
    assert version["max_version"] == "1.39"
    assert version["status"] == "CURRENT"
    assert r.headers["openstack-api-version"] == "placement 1.0"
    assert r.headers["vary"] == "openstack-api-version"


async def test_requested_version_is_echoed_and_latest_is_the_maximum(
    admin: httpx.AsyncClient,
) -> None:
    r = await admin.get(f"{P}/resource_providers", headers=mv(14))
    assert r.headers["openstack-api-version"] == "placement 1.14"
    r = await admin.get(f"{P}/resource_providers", headers=LATEST)
    assert r.headers["openstack-api-version"] == "placement 1.39"
    # Another service's entry in the same header is not ours.
    r = await admin.get(
        f"{P}/resource_providers",
        headers={"OpenStack-API-Version": "compute 2.90, placement 1.20"},
    )
    assert r.headers["openstack-api-version"] == "placement 1.20"
    # 1.15+ responses with a body must not be cached.
    assert r.headers["cache-control"] == "no-cache"
    assert "last-modified" in r.headers


async def test_out_of_range_version_is_406_with_the_range(admin: httpx.AsyncClient) -> None:
    for asked in ("1.40", "2.0", "1.999"):
        r = await admin.get(
            f"{P}/resource_providers",
            headers=mv(0) | {"OpenStack-API-Version": f"placement {asked}"},
        )
        error = assert_placement_fault(r, 406)
        assert asked in error["detail"]
        assert error["max_version"] == "1.39"
        assert error["min_version"] == "1.0"
    r = await admin.get(
        f"{P}/resource_providers", headers={"OpenStack-API-Version": "placement one.two"}
    )
    assert_placement_fault(r, 400)


async def test_routes_newer_than_the_version_are_404(admin: httpx.AsyncClient) -> None:
    assert_placement_fault(await admin.get(f"{P}/traits", headers=mv(5)), 404)
    assert (await admin.get(f"{P}/traits", headers=mv(6))).status_code == 200
    assert_placement_fault(await admin.get(f"{P}/allocation_candidates?resources=VCPU:1"), 404)
    assert_placement_fault(await admin.get(f"{P}/usages?project_id=x", headers=mv(8)), 404)


async def test_no_token_is_401_and_non_admin_is_403(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{P}/resource_providers", headers={"X-Auth-Token": ""})
    assert_placement_fault(r, 401)
    _project, _user, token = await project_member(admin, "member")
    for method, path in (
        ("GET", "/resource_providers"),
        ("POST", "/resource_providers"),
        ("GET", "/traits"),
        ("GET", "/resource_classes"),
        ("GET", "/allocation_candidates?resources=VCPU:1"),
        ("PUT", f"/allocations/{'0' * 32}"),
    ):
        r = await admin.request(
            method, f"{P}{path}", headers=as_token(token) | LATEST, json={"name": "x"}
        )
        assert_placement_fault(r, 403)
    # A reader of a project sees its usages, and only its own.
    project, _user, reader = await project_member(admin, "reader")
    r = await admin.get(
        f"{P}/usages", params={"project_id": project["id"]}, headers=as_token(reader) | mv(9)
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"usages": {}}
    r = await admin.get(
        f"{P}/usages", params={"project_id": "someone-else"}, headers=as_token(reader) | mv(9)
    )
    assert_placement_fault(r, 403)


async def test_bad_bodies_are_400_or_415_never_500(admin: httpx.AsyncClient) -> None:
    rps = f"{P}/resource_providers"
    r = await admin.post(rps, content=b"{not json", headers={"Content-Type": "application/json"})
    assert_placement_fault(r, 400)
    r = await admin.post(rps, content=b"name=x", headers={"Content-Type": "text/plain"})
    assert_placement_fault(r, 415)
    for body in (
        [],
        {"name": 5},
        {"name": ""},
        {"name": "x", "bogus": 1},
        {"uuid": "nope"},
        {"name": "x", "uuid": "not-a-uuid"},
        {"name": "x" * 201},
    ):
        assert_placement_fault(await admin.post(rps, json=body, headers=LATEST), 400)
    # parent_provider_uuid only exists from 1.14.
    r = await admin.post(rps, json={"name": "x", "parent_provider_uuid": None}, headers=mv(13))
    assert_placement_fault(r, 400)
    rp = await create_provider(admin)
    inv = f"{rps}/{rp['uuid']}/inventories"
    for body in (
        {"inventories": {}},
        {"inventories": {"VCPU": {"total": 0}}, "resource_provider_generation": 0},
        {"inventories": {"VCPU": {"total": "8"}}, "resource_provider_generation": 0},
        {"inventories": {"VCPU": {"total": 8, "step": 1}}, "resource_provider_generation": 0},
        {"inventories": {"vcpu": {"total": 8}}, "resource_provider_generation": 0},
        {"inventories": {"NOPE": {"total": 8}}, "resource_provider_generation": 0},
        {
            "inventories": {"VCPU": {"total": 8, "allocation_ratio": 0}},
            "resource_provider_generation": 0,
        },
        {"inventories": [], "resource_provider_generation": 0},
    ):
        assert_placement_fault(await admin.put(inv, json=body), 400)
    for query in (
        "resources=VCPU",
        "resources=VCPU:0",
        "resources=NOPE:1",
        "required=",
        "member_of=not-a-uuid",
        "bogus=1",
        "resources1=VCPU:1",
    ):
        r = await admin.get(f"{P}/allocation_candidates?{query}", headers=LATEST)
        assert_placement_fault(r, 400)


async def test_unknown_path_under_placement_uses_placement_errors(
    admin: httpx.AsyncClient,
) -> None:
    error = assert_placement_fault(await admin.get(f"{P}/no-such-thing"), 404)
    assert error["title"] == "Not Found"


async def test_catalog_lists_placement(admin: httpx.AsyncClient) -> None:
    r = await admin.get("/identity/v3/auth/catalog")
    assert r.status_code == 200, r.text
    (entry,) = [s for s in r.json()["catalog"] if s["type"] == "placement"]
    assert entry["name"] == "placement"
    assert {e["url"].rstrip("/").rsplit("/", 1)[-1] for e in entry["endpoints"]} == {"placement"}
