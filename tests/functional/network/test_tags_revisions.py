"""Tags (standard-attr-tag), revision numbers and If-Match (revision-if-match), timestamps."""

from __future__ import annotations

import httpx

from tests.functional.network.support import V20, assert_fault, auth, create
from tests.support.identity import project_member


async def test_tags_api(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network")
    url = f"{V20}/networks/{net['id']}/tags"
    r = await admin.put(url, json={"tags": ["b", "a", "b"]})
    assert r.status_code == 200 and r.json() == {"tags": ["a", "b"]}
    assert (await admin.get(url)).json() == {"tags": ["a", "b"]}
    assert (await admin.put(f"{url}/c")).status_code == 201
    assert (await admin.get(f"{url}/c")).status_code == 204
    fault = assert_fault(await admin.get(f"{url}/zzz"), 404, "TagNotFound")
    assert fault["message"] == f"Tag zzz could not be found for network {net['id']}."
    assert (await admin.delete(f"{url}/a")).status_code == 204
    assert_fault(await admin.delete(f"{url}/a"), 404, "TagNotFound")
    r = await admin.get(f"{V20}/networks/{net['id']}")
    assert r.json()["network"]["tags"] == ["b", "c"]
    assert (await admin.delete(url)).status_code == 204
    assert (await admin.get(url)).json() == {"tags": []}
    assert_fault(await admin.put(url, json={"tags": "a"}), 400)
    assert_fault(await admin.put(url, json={"tags": ["x" * 256]}), 400)
    assert_fault(await admin.put(url, json={"tags": [1]}), 400)
    assert_fault(await admin.get(f"{V20}/routers/{net['id']}/tags"), 404)
    missing = "3d8c9c41-0000-4000-8000-000000000000"
    assert_fault(await admin.get(f"{V20}/ports/{missing}/tags"), 404, "PortNotFound")
    # Neutron's URLs spell collections with hyphens only.
    sg = await create(admin, "security_group", name="s")
    assert (await admin.get(f"{V20}/security-groups/{sg['id']}/tags")).status_code == 200
    assert_fault(await admin.get(f"{V20}/security_groups/{sg['id']}/tags"), 404)


async def test_every_taggable_resource(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network")
    sub = await create(admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.70.0.0/24")
    port = await create(admin, "port", network_id=net["id"])
    pool = await create(admin, "subnetpool", prefixes=["10.71.0.0/16"])
    sg = await create(admin, "security_group", name="t")
    for collection, member, ident in (
        ("subnets", "subnet", sub["id"]),
        ("ports", "port", port["id"]),
        ("subnetpools", "subnetpool", pool["id"]),
        ("security_groups", "security_group", sg["id"]),
    ):
        url = f"{V20}/{collection.replace('_', '-')}"
        assert (await admin.put(f"{url}/{ident}/tags/blue")).status_code == 201
        r = await admin.get(f"{url}/{ident}")
        assert r.json()[member]["tags"] == ["blue"]
        assert r.json()[member]["revision_number"] == 1
        r = await admin.get(url, params={"tags": "blue"})
        assert [i["id"] for i in r.json()[collection]] == [ident]


async def test_only_owners_tag(admin: httpx.AsyncClient) -> None:
    _, _, bob = await project_member(admin)
    shared = await create(admin, "network", shared=True)
    r = await admin.put(f"{V20}/networks/{shared['id']}/tags/x", headers=auth(bob))
    assert_fault(r, 403, "PolicyNotAuthorized")
    assert (
        await admin.get(f"{V20}/networks/{shared['id']}/tags", headers=auth(bob))
    ).status_code == 200


async def test_revisions_and_if_match(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network", name="r")
    url = f"{V20}/networks/{net['id']}"
    assert net["revision_number"] == 0
    r = await admin.put(
        url, json={"network": {"name": "r1"}}, headers={"If-Match": "revision_number=0"}
    )
    assert r.status_code == 200 and r.json()["network"]["revision_number"] == 1
    r = await admin.put(
        url, json={"network": {"name": "r2"}}, headers={"If-Match": "revision_number=0"}
    )
    fault = assert_fault(r, 412, "RevisionNumberConstraintFailed")
    assert fault["message"] == "Constrained to 0, but current revision is 1"
    assert (await admin.get(url)).json()["network"]["name"] == "r1"
    assert_fault(await admin.delete(url, headers={"If-Match": "revision_number=7"}), 412)
    r = await admin.put(
        url, json={"network": {"name": "r2"}}, headers={"If-Match": "revision_number=x"}
    )
    assert_fault(r, 400, "BadRequest")
    r = await admin.put(
        url,
        json={"network": {"name": "r2"}},
        headers={"If-Match": '"revision_number=1", "revision_number=1"'},
    )
    assert_fault(r, 400, "BadRequest")
    # Other etags are not revision constraints.
    r = await admin.put(url, json={"network": {"name": "r2"}}, headers={"If-Match": '"abc"'})
    assert r.status_code == 200 and r.json()["network"]["revision_number"] == 2
    assert (await admin.delete(url, headers={"If-Match": "revision_number=2"})).status_code == 204


async def test_filters_on_revision_and_description(admin: httpx.AsyncClient) -> None:
    one = await create(admin, "network", description="first")
    two = await create(admin, "network", description="second")
    await admin.put(f"{V20}/networks/{two['id']}", json={"network": {"name": "x"}})
    r = await admin.get(f"{V20}/networks", params={"revision_number": 1})
    assert [n["id"] for n in r.json()["networks"]] == [two["id"]]
    r = await admin.get(f"{V20}/networks", params={"description": "first"})
    assert [n["id"] for n in r.json()["networks"]] == [one["id"]]
    r = await admin.get(
        f"{V20}/networks", params={"sort_key": "created_at", "sort_dir": "desc", "fields": "id"}
    )
    assert len(r.json()["networks"]) == 2
