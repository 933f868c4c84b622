"""Flavors through the Nova API: defaults, views per microversion, management, access, specs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.identity import project_member
from tests.support.servers import V21, assert_nova_fault, mv


async def _create(c: httpx.AsyncClient, version: str = "2.1", **fields: Any) -> httpx.Response:
    flavor = {"name": "f-test", "ram": 256, "vcpus": 1, "disk": 2, **fields}
    return await c.post(f"{V21}/flavors", json={"flavor": flavor}, headers=mv(version))


async def _made(c: httpx.AsyncClient, version: str = "2.1", **fields: Any) -> dict[str, Any]:
    r = await _create(c, version, **fields)
    assert r.status_code == 200, r.text
    return dict(r.json()["flavor"])


async def test_default_flavors_fit_the_test_image(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    r = await admin.get(f"{V21}/flavors", headers=mv("2.1", token))
    assert r.status_code == 200, r.text
    names = {f["id"]: f["name"] for f in r.json()["flavors"]}
    assert names == {"1": "m1.tiny", "2": "m1.small", "3": "m1.medium", "100": "s1.nano"}
    assert set(r.json()["flavors"][0]) == {"id", "name", "links"}
    nano = (await admin.get(f"{V21}/flavors/100")).json()["flavor"]
    assert (nano["ram"], nano["vcpus"], nano["disk"]) == (128, 1, 1)
    assert nano["links"][0]["href"].endswith("/compute/v2.1/flavors/100")
    assert nano["links"][1]["href"].endswith("/compute/flavors/100")


async def test_views_change_with_the_microversion(admin: httpx.AsyncClient) -> None:
    old = (await admin.get(f"{V21}/flavors/1", headers=mv("2.1"))).json()["flavor"]
    assert old["swap"] == "" and old["rxtx_factor"] == 1.0
    assert "description" not in old and "extra_specs" not in old
    assert old["OS-FLV-EXT-DATA:ephemeral"] == 0 and old["OS-FLV-DISABLED:disabled"] is False
    assert old["os-flavor-access:is_public"] is True
    described = (await admin.get(f"{V21}/flavors/1", headers=mv("2.55"))).json()["flavor"]
    assert described["description"] is None and "extra_specs" not in described
    listed = (await admin.get(f"{V21}/flavors", headers=mv("2.55"))).json()["flavors"]
    assert all("description" in f for f in listed)
    specs = (await admin.get(f"{V21}/flavors/1", headers=mv("2.61"))).json()["flavor"]
    assert specs["extra_specs"] == {} and specs["swap"] == ""
    latest = (await admin.get(f"{V21}/flavors/1", headers=mv("2.96"))).json()["flavor"]
    assert latest["swap"] == 0
    made = await _made(admin, "2.1", swap=512)
    assert made["swap"] == 512


async def test_create_show_delete(admin: httpx.AsyncClient) -> None:
    made = await _made(admin, "2.55", description="small one", rxtx_factor="2.5", swap="64")
    assert len(made["id"]) == 36 and made["description"] == "small one"
    assert made["rxtx_factor"] == 2.5 and made["swap"] == 64
    r = await admin.get(f"{V21}/flavors/{made['id']}", headers=mv("2.55"))
    assert r.json()["flavor"] == made
    fault = assert_nova_fault(
        await _create(admin, name="f-test", id="other"), 409, "conflictingRequest"
    )
    assert fault["message"] == "Flavor with name f-test already exists."
    fault = assert_nova_fault(await _create(admin, name="new", id=made["id"]), 409)
    assert fault["message"] == f"Flavor with ID {made['id']} already exists."
    chosen = await _made(admin, name="numbered", id=42)
    assert chosen["id"] == "42"
    r = await admin.delete(f"{V21}/flavors/{made['id']}")
    assert r.status_code == 202 and r.headers["openstack-api-version"] == "compute 2.1"
    fault = assert_nova_fault(await admin.get(f"{V21}/flavors/{made['id']}"), 404, "itemNotFound")
    assert fault["message"] == f"Flavor {made['id']} could not be found."
    assert_nova_fault(await admin.delete(f"{V21}/flavors/{made['id']}"), 404)


@pytest.mark.parametrize(
    ("version", "fields"),
    [
        ("2.1", {"ram": 0}),
        ("2.1", {"vcpus": -1}),
        ("2.1", {"disk": -1}),
        ("2.1", {"ram": "lots"}),
        ("2.1", {"ram": True}),
        ("2.1", {"OS-FLV-EXT-DATA:ephemeral": -5}),
        ("2.1", {"swap": 1.5}),
        ("2.1", {"rxtx_factor": 0}),
        ("2.1", {"id": "bad/id"}),
        ("2.1", {"id": " padded"}),
        ("2.1", {"name": ""}),
        ("2.1", {"name": " padded "}),
        ("2.1", {"name": 7}),
        ("2.1", {"os-flavor-access:is_public": "maybe"}),
        ("2.1", {"unknown": 1}),
        ("2.54", {"description": "too early"}),
        ("2.55", {"description": "bell\x07"}),
        ("2.55", {"ram": 2**31}),
    ],
)
async def test_create_refuses_bad_bodies(
    admin: httpx.AsyncClient, version: str, fields: dict[str, Any]
) -> None:
    assert_nova_fault(await _create(admin, version, **fields), 400, "badRequest")


async def test_create_needs_its_fields_and_a_body(admin: httpx.AsyncClient) -> None:
    r = await admin.post(f"{V21}/flavors", json={"flavor": {"name": "x", "ram": 1, "vcpus": 1}})
    assert_nova_fault(r, 400)
    assert_nova_fault(await admin.post(f"{V21}/flavors", json={"flavor": []}), 400)
    assert_nova_fault(await admin.post(f"{V21}/flavors", json=[1]), 400)


async def test_members_cannot_manage_flavors(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    r = await admin.post(
        f"{V21}/flavors", json={"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 1}},
        headers=mv("2.1", token),
    )  # fmt: skip
    assert_nova_fault(r, 403, "forbidden")
    assert_nova_fault(await admin.delete(f"{V21}/flavors/1", headers=mv("2.1", token)), 403)
    r = await admin.put(
        f"{V21}/flavors/1", json={"flavor": {"description": "x"}}, headers=mv("2.55", token)
    )
    assert_nova_fault(r, 403)


async def test_update_description_from_2_55(admin: httpx.AsyncClient) -> None:
    body = {"flavor": {"description": "tiny and cheap"}}
    assert_nova_fault(await admin.put(f"{V21}/flavors/1", json=body, headers=mv("2.54")), 404)
    r = await admin.put(f"{V21}/flavors/1", json=body, headers=mv("2.75"))
    assert r.status_code == 200, r.text
    assert r.json()["flavor"]["description"] == "tiny and cheap" and r.json()["flavor"]["swap"] == 0
    r = await admin.get(f"{V21}/flavors", headers=mv("2.55"))
    assert {f["id"]: f["description"] for f in r.json()["flavors"]}["1"] == "tiny and cheap"
    bad = {"flavor": {"name": "renamed", "description": "x"}}
    assert_nova_fault(await admin.put(f"{V21}/flavors/1", json=bad, headers=mv("2.55")), 400)
    empty: dict[str, Any] = {"flavor": {}}
    assert_nova_fault(await admin.put(f"{V21}/flavors/1", json=empty, headers=mv("2.55")), 400)
    assert_nova_fault(await admin.put(f"{V21}/flavors/nope", json=body, headers=mv("2.55")), 404)


async def test_private_flavors_and_access(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    private = await _made(admin, name="secret", **{"os-flavor-access:is_public": False})
    fid = private["id"]
    member = mv("2.1", token)
    listed = (await admin.get(f"{V21}/flavors", headers=member)).json()["flavors"]
    assert fid not in {f["id"] for f in listed}
    assert_nova_fault(await admin.get(f"{V21}/flavors/{fid}", headers=member), 404)
    r = await admin.get(f"{V21}/flavors/{fid}/os-flavor-access")
    assert r.status_code == 200 and r.json() == {"flavor_access": []}
    add = {"addTenantAccess": {"tenant": project["id"]}}
    r = await admin.post(f"{V21}/flavors/{fid}/action", json=add)
    assert r.status_code == 200, r.text
    assert r.json()["flavor_access"] == [{"flavor_id": fid, "tenant_id": project["id"]}]
    fault = assert_nova_fault(await admin.post(f"{V21}/flavors/{fid}/action", json=add), 409)
    assert "already exists" in fault["message"]
    listed = (await admin.get(f"{V21}/flavors", headers=member)).json()["flavors"]
    assert fid in {f["id"] for f in listed}
    assert (await admin.get(f"{V21}/flavors/{fid}", headers=member)).status_code == 200
    # Admins list public flavors (and the ones shared with them) unless they ask for all.
    admin_ids = {f["id"] for f in (await admin.get(f"{V21}/flavors")).json()["flavors"]}
    assert fid not in admin_ids
    r = await admin.get(f"{V21}/flavors", params={"is_public": "None"})
    assert fid in {f["id"] for f in r.json()["flavors"]}
    r = await admin.get(f"{V21}/flavors", params={"is_public": "false"})
    assert {f["id"] for f in r.json()["flavors"]} == {fid}
    assert_nova_fault(await admin.get(f"{V21}/flavors", params={"is_public": "perhaps"}), 400)
    # Members cannot widen what they see nor read the access list.
    r = await admin.get(f"{V21}/flavors", params={"is_public": "false"}, headers=member)
    assert fid in {f["id"] for f in r.json()["flavors"]}
    assert_nova_fault(await admin.get(f"{V21}/flavors/{fid}/os-flavor-access", headers=member), 403)
    assert_nova_fault(
        await admin.post(f"{V21}/flavors/{fid}/action", json=add, headers=member), 403
    )
    remove = {"removeTenantAccess": {"tenant": project["id"]}}
    r = await admin.post(f"{V21}/flavors/{fid}/action", json=remove)
    assert r.status_code == 200 and r.json()["flavor_access"] == []
    assert_nova_fault(await admin.post(f"{V21}/flavors/{fid}/action", json=remove), 404)
    assert_nova_fault(await admin.get(f"{V21}/flavors/{fid}", headers=member), 404)


async def test_access_errors_on_public_flavors_and_bad_actions(admin: httpx.AsyncClient) -> None:
    fault = assert_nova_fault(await admin.get(f"{V21}/flavors/1/os-flavor-access"), 404)
    assert fault["message"] == "Access list not available for public flavors."
    add = {"addTenantAccess": {"tenant": "p1"}}
    fault = assert_nova_fault(await admin.post(f"{V21}/flavors/1/action", json=add), 409)
    assert fault["message"] == "Can not add access to a public flavor."
    assert_nova_fault(await admin.post(f"{V21}/flavors/1/action", json={"explode": {}}), 400)
    bad = {"addTenantAccess": {"tenant": ""}}
    assert_nova_fault(await admin.post(f"{V21}/flavors/1/action", json=bad), 400)
    assert_nova_fault(await admin.post(f"{V21}/flavors/none/action", json=add), 404)


async def test_list_filters_sorting_and_pages(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V21}/flavors", params={"minRam": 2048})
    assert {f["id"] for f in r.json()["flavors"]} == {"2", "3"}
    r = await admin.get(f"{V21}/flavors/detail", params={"minDisk": 20, "minRam": 4000})
    assert [f["id"] for f in r.json()["flavors"]] == ["3"]
    assert_nova_fault(await admin.get(f"{V21}/flavors", params={"minRam": "big"}), 400)
    r = await admin.get(f"{V21}/flavors", params={"minDisk": "9" * 30})
    assert r.status_code == 200 and r.json()["flavors"] == []
    r = await admin.get(f"{V21}/flavors", params={"sort_key": "memory_mb", "sort_dir": "desc"})
    assert [f["id"] for f in r.json()["flavors"]] == ["3", "2", "1", "100"]
    assert_nova_fault(await admin.get(f"{V21}/flavors", params={"sort_key": "colour"}), 400)
    assert_nova_fault(await admin.get(f"{V21}/flavors", params={"sort_dir": "up"}), 400)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3, "sort_key": "name"}
    r = await admin.get(f"{V21}/flavors/detail", params=params)
    page = r.json()
    seen += [f["id"] for f in page["flavors"]]
    assert len(seen) == 3 and page["flavors_links"][0]["rel"] == "next"
    assert "/flavors/detail?" in page["flavors_links"][0]["href"]
    r = await admin.get(f"{V21}/flavors/detail", params={**params, "marker": seen[-1]})
    rest = r.json()
    assert [f["id"] for f in rest["flavors"]] == ["100"] and "flavors_links" not in rest
    assert seen == ["3", "2", "1"]
    assert_nova_fault(await admin.get(f"{V21}/flavors", params={"marker": "nope"}), 400)
    assert_nova_fault(await admin.get(f"{V21}/flavors", params={"limit": "-1"}), 400)


async def test_unknown_query_parameters_refused_from_2_75(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V21}/flavors", params={"colour": "red"}, headers=mv("2.74"))
    assert r.status_code == 200
    r = await admin.get(f"{V21}/flavors", params={"colour": "red"}, headers=mv("2.75"))
    assert_nova_fault(r, 400)


async def test_extra_specs(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    url = f"{V21}/flavors/100/os-extra_specs"
    r = await admin.post(url, json={"extra_specs": {"hw:cpu_policy": "shared", "quota:n": 5}})
    assert r.status_code == 200, r.text
    assert r.json() == {"extra_specs": {"hw:cpu_policy": "shared", "quota:n": "5"}}
    member = mv("2.1", token)
    r = await admin.get(url, headers=member)
    assert r.json() == {"extra_specs": {"hw:cpu_policy": "shared", "quota:n": "5"}}
    r = await admin.get(f"{url}/quota:n", headers=member)
    assert r.status_code == 200 and r.json() == {"quota:n": "5"}
    r = await admin.put(f"{url}/quota:n", json={"quota:n": "6"})
    assert r.status_code == 200 and r.json() == {"quota:n": "6"}
    fault = assert_nova_fault(await admin.put(f"{url}/quota:n", json={"other": "1"}), 400)
    assert fault["message"] == "Request body and URI mismatch"
    assert_nova_fault(await admin.put(f"{url}/quota:n", json={"quota:n": "1", "b": "2"}), 400)
    shown = (await admin.get(f"{V21}/flavors/100", headers=mv("2.61"))).json()["flavor"]
    assert shown["extra_specs"] == {"hw:cpu_policy": "shared", "quota:n": "6"}
    r = await admin.delete(f"{url}/quota:n")
    assert r.status_code == 200
    fault = assert_nova_fault(await admin.get(f"{url}/quota:n"), 404)
    assert fault["message"] == "Flavor 100 has no extra specs with key quota:n."
    assert_nova_fault(await admin.delete(f"{url}/quota:n"), 404)
    # Members read but never write.
    assert_nova_fault(await admin.post(url, json={"extra_specs": {"a": "b"}}, headers=member), 403)
    assert_nova_fault(await admin.put(f"{url}/a", json={"a": "b"}, headers=member), 403)
    assert_nova_fault(await admin.delete(f"{url}/hw:cpu_policy", headers=member), 403)


@pytest.mark.parametrize(
    "body",
    [
        {"extra_specs": {"bad/key": "v"}},
        {"extra_specs": {"k": "v" * 256}},
        {"extra_specs": {"k": True}},
        {"extra_specs": {"k": None}},
        {"extra_specs": "k=v"},
        {"specs": {"k": "v"}},
    ],
)
async def test_extra_specs_refuse_bad_bodies(
    admin: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert_nova_fault(await admin.post(f"{V21}/flavors/1/os-extra_specs", json=body), 400)


async def test_extra_specs_of_missing_flavor(admin: httpx.AsyncClient) -> None:
    assert_nova_fault(await admin.get(f"{V21}/flavors/nope/os-extra_specs"), 404)
    body = {"extra_specs": {"a": "b"}}
    assert_nova_fault(await admin.post(f"{V21}/flavors/nope/os-extra_specs", json=body), 404)
