"""Glance metadefs (/image/v2/metadefs): namespaces, objects, properties, tags, resource types."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.identity import as_token, create_project, project_member, unique

V2 = "/image/v2"
MD = f"{V2}/metadefs"
NS = f"{MD}/namespaces"
CAP = {"title": "Cap", "type": "string"}


def assert_fault(r: httpx.Response, status: int) -> dict[str, Any]:
    """Assert a Glance error of `status` ({"code": "404 Not Found", "title", "message"})."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    body = r.json()
    assert set(body) == {"code", "title", "message"}, body
    assert body["code"].startswith(f"{status} "), body
    return dict(body)


async def make_ns(c: httpx.AsyncClient, name: str | None = None, **fields: Any) -> dict[str, Any]:
    """Create a namespace as `c` (public and unprotected unless told); its JSON."""
    body = {"namespace": name or unique("ns"), "visibility": "public", **fields}
    r = await c.post(NS, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def reader_token(c: httpx.AsyncClient, project_id: str | None = None) -> str:
    """A token of a new user holding `reader` on a (new) project."""
    _, _, token = await project_member(c, "reader", project_id)
    return token


# -- schemas and resource types -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("namespace", "namespace"),
        ("namespaces", "namespaces"),
        ("resource_type", "resource_type_association"),
        ("resource_types", "resource_type_associations"),
        ("object", "object"),
        ("objects", "objects"),
        ("property", "property"),
        ("properties", "properties"),
        ("tag", "tag"),
        ("tags", "tags"),
    ],
)
async def test_schemas_are_named_after_what_they_describe(
    admin: httpx.AsyncClient, kind: str, name: str
) -> None:
    reader = await reader_token(admin)
    r = await admin.get(f"{V2}/schemas/metadefs/{kind}", headers=as_token(reader))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["name"] == name
    assert isinstance(doc["properties"], dict) and doc["properties"]


async def test_schema_documents_describe_the_api(admin: httpx.AsyncClient) -> None:
    ns = (await admin.get(f"{V2}/schemas/metadefs/namespace")).json()
    assert ns["required"] == ["namespace"] and ns["additionalProperties"] is False
    assert ns["properties"]["visibility"]["enum"] == ["public", "private"]
    assert "property" in ns["definitions"]
    many = (await admin.get(f"{V2}/schemas/metadefs/namespaces")).json()
    assert many["properties"]["namespaces"]["items"]["name"] == "namespace"
    assert "definitions" not in many["properties"]["namespaces"]["items"]
    assert {link["rel"] for link in many["links"]} == {"first", "next", "describedby"}
    props = (await admin.get(f"{V2}/schemas/metadefs/properties")).json()
    item = props["properties"]["properties"]["additionalProperties"]
    assert sorted(item["required"]) == ["title", "type"]
    prop = (await admin.get(f"{V2}/schemas/metadefs/property")).json()
    assert sorted(prop["required"]) == ["name", "title", "type"]
    assert_fault(await admin.get(f"{V2}/schemas/metadefs/nothing"), 404)
    assert_fault(await admin.post(f"{V2}/schemas/metadefs/tag", json={}), 405)


async def test_schemas_need_a_token(client: httpx.AsyncClient) -> None:
    assert_fault(await client.get(f"{V2}/schemas/metadefs/namespace"), 401)
    assert_fault(await client.get(NS), 401)


async def test_default_resource_types_are_listed(admin: httpx.AsyncClient) -> None:
    reader = await reader_token(admin)
    r = await admin.get(f"{MD}/resource_types", headers=as_token(reader))
    assert r.status_code == 200, r.text
    types = r.json()["resource_types"]
    names = [t["name"] for t in types]
    assert names[0] == "OS::Glance::Image"
    for expected in ("OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Server"):
        assert expected in names
    assert all(t["created_at"].endswith("Z") and len(t["created_at"]) == 20 for t in types)
    # Listing again neither duplicates nor reorders them.
    again = (await admin.get(f"{MD}/resource_types")).json()["resource_types"]
    assert [t["name"] for t in again] == names


# -- namespaces -----------------------------------------------------------------------------


async def test_namespace_lifecycle(admin: httpx.AsyncClient) -> None:
    name = unique("OS::Test")
    r = await admin.post(
        NS,
        json={
            "namespace": name,
            "display_name": "Test",
            "description": "a namespace",
            "visibility": "public",
            "protected": True,
            "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"}],
            "properties": {"cpus": {"title": "CPUs", "type": "integer", "minimum": 1}},
            "objects": [
                {"name": "Limits", "properties": {"cap": {"title": "C", "type": "string"}}}
            ],
            "tags": [{"name": "t1"}, {"name": "t2"}],
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"/image/v2/metadefs/namespaces/{name}")
    created = r.json()
    assert created["self"] == f"/v2/metadefs/namespaces/{name}"
    assert created["schema"] == "/v2/schemas/metadefs/namespace"
    assert (created["visibility"], created["protected"]) == ("public", True)
    assert created["created_at"].endswith("Z") and len(created["created_at"]) == 20
    projects = (await admin.get("/identity/v3/auth/projects")).json()["projects"]
    assert created["owner"] in {p["id"] for p in projects}

    shown = (await admin.get(f"{NS}/{name}")).json()
    assert shown["display_name"] == "Test" and shown["description"] == "a namespace"
    assert [a["name"] for a in shown["resource_type_associations"]] == ["OS::Glance::Image"]
    assert shown["properties"] == {"cpus": {"title": "CPUs", "type": "integer", "minimum": 1}}
    assert shown["objects"][0]["name"] == "Limits"
    assert shown["objects"][0]["self"] == f"/v2/metadefs/namespaces/{name}/objects/Limits"
    assert sorted(t["name"] for t in shown["tags"]) == ["t1", "t2"]

    prefixed = (
        await admin.get(f"{NS}/{name}", params={"resource_type": "OS::Glance::Image"})
    ).json()
    assert list(prefixed["properties"]) == ["hw_cpus"]
    assert list(prefixed["objects"][0]["properties"]) == ["hw_cap"]

    listed = (await admin.get(NS)).json()
    assert name in [n["namespace"] for n in listed["namespaces"]]
    assert listed["schema"] == "/v2/schemas/metadefs/namespaces"
    assert listed["first"] == "/v2/metadefs/namespaces"

    assert_fault(await admin.delete(f"{NS}/{name}"), 403)

    renamed = unique("OS::Renamed")
    r = await admin.put(
        f"{NS}/{name}",
        json={"namespace": renamed, "visibility": "private", "protected": False},
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert (updated["namespace"], updated["visibility"], updated["protected"]) == (
        renamed,
        "private",
        False,
    )
    # A PUT replaces: what it leaves out goes back to its default.
    assert "display_name" not in updated and "description" not in updated
    assert_fault(await admin.get(f"{NS}/{name}"), 404)
    moved = (await admin.get(f"{NS}/{renamed}")).json()
    assert moved["objects"][0]["self"].endswith(f"/{renamed}/objects/Limits")

    assert (await admin.delete(f"{NS}/{renamed}")).status_code == 204
    assert_fault(await admin.get(f"{NS}/{renamed}"), 404)
    assert_fault(await admin.delete(f"{NS}/{renamed}"), 404)
    # Its content went with it: a namespace of the same name starts empty.
    fresh = await make_ns(admin, renamed)
    assert "objects" not in fresh and "tags" not in fresh and "properties" not in fresh


async def test_defaults_of_a_new_namespace(admin: httpx.AsyncClient) -> None:
    r = await admin.post(NS, json={"namespace": unique("bare")})
    assert r.status_code == 201, r.text
    ns = r.json()
    assert (ns["visibility"], ns["protected"]) == ("private", False)
    assert "display_name" not in ns and "resource_type_associations" not in ns


async def test_duplicate_namespaces_conflict(admin: httpx.AsyncClient) -> None:
    first = await make_ns(admin)
    second = await make_ns(admin)
    assert_fault(await admin.post(NS, json={"namespace": first["namespace"]}), 409)
    r = await admin.put(f"{NS}/{second['namespace']}", json={"namespace": first["namespace"]})
    assert_fault(r, 409)
    r = await admin.post(
        NS, json={"namespace": unique("ns"), "tags": [{"name": "a"}, {"name": "a"}]}
    )
    assert_fault(r, 409)


async def test_a_protected_namespace_keeps_its_content(admin: httpx.AsyncClient) -> None:
    ns = await make_ns(
        admin,
        protected=True,
        resource_type_associations=[{"name": "OS::Nova::Flavor"}],
        properties={"p": {"title": "P", "type": "string"}},
        objects=[{"name": "o"}],
        tags=[{"name": "t"}],
    )
    base = f"{NS}/{ns['namespace']}"
    for path in (
        base,
        f"{base}/objects/o",
        f"{base}/properties/p",
        f"{base}/tags/t",
        f"{base}/resource_types/OS::Nova::Flavor",
        f"{base}/objects",
        f"{base}/properties",
        f"{base}/tags",
    ):
        assert_fault(await admin.delete(path), 403)
    shown = (await admin.get(base)).json()
    assert len(shown["objects"]) == len(shown["tags"]) == len(shown["properties"]) == 1
    assert len(shown["resource_type_associations"]) == 1
    # Missing things are still 404, protected or not.
    assert_fault(await admin.delete(f"{base}/objects/nope"), 404)

    r = await admin.put(base, json={"namespace": ns["namespace"], "protected": False})
    assert r.status_code == 200, r.text
    for path in (f"{base}/objects", f"{base}/properties", f"{base}/tags"):
        assert (await admin.delete(path)).status_code == 204, path
    shown = (await admin.get(base)).json()
    assert not {"objects", "properties", "tags"} & set(shown)
    assert (await admin.delete(base)).status_code == 204


async def test_private_namespaces_are_invisible_to_other_projects(
    admin: httpx.AsyncClient,
) -> None:
    project_a = await create_project(admin)
    a_reader = await reader_token(admin, project_a["id"])
    b_reader = await reader_token(admin)
    private = await make_ns(
        admin,
        visibility="private",
        owner=project_a["id"],
        objects=[{"name": "o"}],
        properties={"p": {"title": "P", "type": "string"}},
        tags=[{"name": "t"}],
        resource_type_associations=[{"name": "OS::Glance::Image"}],
    )
    public = await make_ns(admin, visibility="public")
    base = f"{NS}/{private['namespace']}"

    # Project A's reader sees its project's private namespace and what it holds.
    a = as_token(a_reader)
    assert (await admin.get(base, headers=a)).json()["owner"] == project_a["id"]
    for path in ("objects", "objects/o", "properties", "properties/p", "tags", "tags/t"):
        assert (await admin.get(f"{base}/{path}", headers=a)).status_code == 200, path
    listed = {n["namespace"] for n in (await admin.get(NS, headers=a)).json()["namespaces"]}
    assert {private["namespace"], public["namespace"]} <= listed

    # Project B's reader cannot tell it exists.
    b = as_token(b_reader)
    for path in (
        "",
        "/objects",
        "/objects/o",
        "/properties",
        "/properties/p",
        "/tags",
        "/tags/t",
        "/resource_types",
    ):
        assert_fault(await admin.get(base + path, headers=b), 404)
    for method, path, body in (
        ("DELETE", "", None),
        ("PUT", "", {"namespace": "x"}),
        ("POST", "/objects", {"name": "x"}),
        ("DELETE", "/tags", None),
        ("DELETE", "/resource_types/OS::Glance::Image", None),
    ):
        r = await admin.request(method, base + path, json=body, headers=b)
        assert_fault(r, 404)
    listed = {n["namespace"] for n in (await admin.get(NS, headers=b)).json()["namespaces"]}
    assert public["namespace"] in listed and private["namespace"] not in listed
    r = await admin.get(NS, headers=b, params={"marker": private["namespace"]})
    assert_fault(r, 404)

    # The admin sees everything; the visibility filter narrows what anyone sees.
    everything = {n["namespace"] for n in (await admin.get(NS)).json()["namespaces"]}
    assert {private["namespace"], public["namespace"]} <= everything
    r = await admin.get(NS, params={"visibility": "private"})
    assert {n["visibility"] for n in r.json()["namespaces"]} == {"private"}


async def test_only_admins_change_the_catalog(admin: httpx.AsyncClient) -> None:
    project, _, member = await project_member(admin, "member")
    m = as_token(member)
    assert_fault(await admin.post(NS, json={"namespace": unique("ns")}, headers=m), 403)
    ns = await make_ns(admin, visibility="public", objects=[{"name": "o"}], tags=[{"name": "t"}])
    own = await make_ns(admin, visibility="private", owner=project["id"])
    for target in (ns, own):
        base = f"{NS}/{target['namespace']}"
        # Readable...
        assert (await admin.get(base, headers=m)).status_code == 200
        # ...but not changeable.
        for method, path, body in (
            ("PUT", "", {"namespace": target["namespace"]}),
            ("DELETE", "", None),
            ("POST", "/objects", {"name": "x"}),
            ("POST", "/properties", {"name": "x", "title": "X", "type": "string"}),
            ("POST", "/tags", {"tags": [{"name": "x"}]}),
            ("POST", "/tags/x", None),
            ("DELETE", "/tags", None),
            ("POST", "/resource_types", {"name": "OS::Nova::Server"}),
        ):
            r = await admin.request(method, base + path, json=body, headers=m)
            assert_fault(r, 403)
    assert len((await admin.get(f"{NS}/{ns['namespace']}/tags")).json()["tags"]) == 1


async def test_bad_namespace_input_is_refused(admin: httpx.AsyncClient) -> None:
    bad_bodies: list[Any] = [
        {},
        {"namespace": ""},
        {"namespace": "x" * 81},
        {"namespace": 5},
        {"namespace": "n", "visibility": "shared"},
        {"namespace": "n", "protected": "yes"},
        {"namespace": "n", "description": "d" * 501},
        {"namespace": "n", "colour": "blue"},
        {"namespace": "n", "properties": {"p": {"title": "P"}}},
        {"namespace": "n", "properties": {"p": {"title": "P", "type": "float"}}},
        {"namespace": "n", "properties": {"p": {"title": "P", "type": "string", "minLength": -1}}},
        {"namespace": "n", "properties": {"p": {"title": "P", "type": "string", "pattern": "("}}},
        {"namespace": "n", "objects": [{"description": "no name"}]},
        {"namespace": "n", "objects": {"name": "o"}},
        {"namespace": "n", "tags": [{"name": "t", "colour": "red"}]},
        {"namespace": "n", "resource_type_associations": [{"prefix": "hw_"}]},
        ["namespace"],
    ]
    for body in bad_bodies:
        assert_fault(await admin.post(NS, json=body), 400)
    for read_only in ("self", "schema", "created_at", "updated_at"):
        assert_fault(await admin.post(NS, json={"namespace": "n", read_only: "x"}), 403)
    r = await admin.post(NS, content=b"{not json", headers={"content-type": "application/json"})
    assert_fault(r, 400)
    r = await admin.post(NS, content=b"", headers={"content-type": "application/json"})
    assert_fault(r, 400)
    r = await admin.post(NS, content=b"namespace=n", headers={"content-type": "text/plain"})
    assert_fault(r, 415)
    for params in (
        {"limit": "-1"},
        {"limit": "ten"},
        {"sort_dir": "up"},
        {"sort_key": "colour"},
        {"visibility": "shared"},
    ):
        assert_fault(await admin.get(NS, params=params), 400)
    assert_fault(await admin.get(NS, params={"marker": "no-such-namespace"}), 404)
    # Nothing was made along the way.
    assert (await admin.get(NS)).json()["namespaces"] == []


async def test_namespaces_page_by_marker(admin: httpx.AsyncClient) -> None:
    names = [f"page-{i}" for i in range(5)]
    for name in reversed(names):
        await make_ns(admin, name)
    seen: list[str] = []
    url = f"{NS}?limit=2&sort_key=namespace&sort_dir=asc"
    pages = 0
    while url:
        r = await admin.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["first"] == "/v2/metadefs/namespaces?limit=2&sort_key=namespace&sort_dir=asc"
        seen += [n["namespace"] for n in body["namespaces"]]
        pages += 1
        nxt = body.get("next")
        assert nxt is None or nxt.startswith("/v2/metadefs/namespaces?")
        url = f"/image{nxt}" if nxt else ""
        assert pages <= 4
    assert seen == names
    assert pages == 3

    # Descending by default (newest first); the default page holds them all.
    newest_first = [n["namespace"] for n in (await admin.get(NS)).json()["namespaces"]]
    assert newest_first == names
    r = await admin.get(NS, params={"limit": 2, "sort_key": "namespace", "marker": "page-3"})
    assert [n["namespace"] for n in r.json()["namespaces"]] == ["page-2", "page-1"]
    query = parse_qs(urlsplit(r.json()["next"]).query)
    assert query == {"limit": ["2"], "sort_key": ["namespace"], "marker": ["page-1"]}
    r = await admin.get(NS, params={"limit": 0})
    assert r.json()["namespaces"] == [] and "next" not in r.json()


async def test_namespaces_filtered_by_resource_type(admin: httpx.AsyncClient) -> None:
    image = await make_ns(admin, resource_type_associations=[{"name": "OS::Glance::Image"}])
    flavor = await make_ns(admin, resource_type_associations=[{"name": "OS::Nova::Flavor"}])
    await make_ns(admin)

    async def names(types: str) -> set[str]:
        r = await admin.get(NS, params={"resource_types": types})
        assert r.status_code == 200, r.text
        return {n["namespace"] for n in r.json()["namespaces"]}

    assert await names("OS::Glance::Image") == {image["namespace"]}
    both = {image["namespace"], flavor["namespace"]}
    assert await names("OS::Glance::Image,OS::Nova::Flavor") == both
    assert await names("OS::Nothing") == set()


# -- objects --------------------------------------------------------------------------------


async def test_object_lifecycle(admin: httpx.AsyncClient) -> None:
    ns = await make_ns(admin)
    base = f"{NS}/{ns['namespace']}/objects"
    body = {
        "name": "CPU Limits",
        "description": "limits",
        "required": ["quota:cpu_period"],
        "properties": {
            "quota:cpu_period": {
                "title": "Period",
                "type": "integer",
                "minimum": 1000,
                "maximum": 1000000,
            }
        },
    }
    r = await admin.post(base, json=body)
    assert r.status_code == 201, r.text
    obj = r.json()
    assert obj["self"] == f"/v2/metadefs/namespaces/{ns['namespace']}/objects/CPU Limits"
    assert obj["schema"] == "/v2/schemas/metadefs/object"
    assert obj["required"] == ["quota:cpu_period"]
    assert obj["properties"] == body["properties"]
    assert_fault(await admin.post(base, json={"name": "CPU Limits"}), 409)

    assert (await admin.get(f"{base}/CPU Limits")).json()["description"] == "limits"
    listed = (await admin.get(base)).json()
    assert [o["name"] for o in listed["objects"]] == ["CPU Limits"]
    assert listed["schema"] == "v2/schemas/metadefs/objects"

    await admin.post(base, json={"name": "other"})
    assert_fault(await admin.put(f"{base}/CPU Limits", json={"name": "other"}), 409)
    r = await admin.put(f"{base}/CPU Limits", json={"name": "Renamed"})
    assert r.status_code == 200, r.text
    renamed = r.json()
    assert renamed["name"] == "Renamed" and renamed["self"].endswith("/objects/Renamed")
    # A PUT replaces the whole object.
    assert renamed["required"] == [] and renamed["properties"] == {}
    assert "description" not in renamed
    assert_fault(await admin.get(f"{base}/CPU Limits"), 404)

    assert (await admin.delete(f"{base}/Renamed")).status_code == 204
    assert_fault(await admin.delete(f"{base}/Renamed"), 404)
    assert [o["name"] for o in (await admin.get(base)).json()["objects"]] == ["other"]
    assert_fault(await admin.get(f"{NS}/nope/objects"), 404)
    assert_fault(await admin.post(f"{NS}/nope/objects", json={"name": "o"}), 404)


async def test_bad_object_input_is_refused(admin: httpx.AsyncClient) -> None:
    ns = await make_ns(admin)
    base = f"{NS}/{ns['namespace']}/objects"
    for body in (
        {},
        {"name": ""},
        {"name": "o", "required": "a"},
        {"name": "o", "required": ["a", "a"]},
        {"name": "o", "properties": {"p": {"type": "string"}}},
        {"name": "o", "properties": {"p": {"title": "P", "type": "string", "bogus": 1}}},
        {"name": "o", "colour": "red"},
    ):
        assert_fault(await admin.post(base, json=body), 400)
    assert_fault(await admin.post(base, json={"name": "o", "self": "/x"}), 403)
    assert_fault(await admin.get(base, params={"limit": 0}), 400)
    assert (await admin.get(base)).json()["objects"] == []


# -- properties -----------------------------------------------------------------------------


async def test_property_lifecycle(admin: httpx.AsyncClient) -> None:
    ns = await make_ns(admin)
    base = f"{NS}/{ns['namespace']}/properties"
    hypervisors = ["xen", "qemu", "kvm"]
    body = {"name": "OS::Glance::Image", "title": "Hypervisor", "type": "string"}
    r = await admin.post(base, json={**body, "enum": hypervisors})
    assert r.status_code == 201, r.text
    assert r.json() == {**body, "enum": hypervisors}
    assert_fault(await admin.post(base, json=body), 409)

    shown = (await admin.get(f"{base}/OS::Glance::Image")).json()
    assert shown["name"] == "OS::Glance::Image" and shown["enum"] == hypervisors
    r = await admin.post(
        base,
        json={
            "name": "list",
            "title": "List",
            "type": "array",
            "items": {"type": "string", "enum": ["a", "b"]},
            "uniqueItems": True,
            "minItems": 1,
            "readonly": False,
            "default": ["a"],
            "operators": ["<or>"],
        },
    )
    assert r.status_code == 201, r.text
    listed = (await admin.get(base)).json()["properties"]
    assert set(listed) == {"OS::Glance::Image", "list"}
    assert listed["list"]["items"] == {"type": "string", "enum": ["a", "b"]}

    r = await admin.put(
        f"{base}/OS::Glance::Image",
        json={"name": "OS::Glance::Image", "title": "New title", "type": "string"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "New title" and "enum" not in r.json()
    r = await admin.put(f"{base}/list", json={"name": "OS::Glance::Image", **body})
    assert_fault(r, 409)
    r = await admin.put(f"{base}/list", json={"name": "renamed", "title": "L", "type": "string"})
    assert r.json()["name"] == "renamed"

    assert (await admin.delete(f"{base}/OS::Glance::Image")).status_code == 204
    assert_fault(await admin.get(f"{base}/OS::Glance::Image"), 404)
    assert list((await admin.get(base)).json()["properties"]) == ["renamed"]


async def test_property_names_with_a_resource_type_prefix(admin: httpx.AsyncClient) -> None:
    ns = await make_ns(
        admin,
        resource_type_associations=[
            {"name": "OS::Nova::Flavor", "prefix": "hw:"},
            {"name": "OS::Glance::Image"},
        ],
        properties={"cpu_policy": {"title": "CPU policy", "type": "string"}},
    )
    base = f"{NS}/{ns['namespace']}/properties"
    r = await admin.get(f"{base}/hw:cpu_policy", params={"resource_type": "OS::Nova::Flavor"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "cpu_policy"
    for name, rtype in (
        ("cpu_policy", "OS::Nova::Flavor"),
        ("cpu_policy", "OS::Glance::Image"),
        ("hw:cpu_policy", "OS::Cinder::Volume"),
    ):
        assert_fault(await admin.get(f"{base}/{name}", params={"resource_type": rtype}), 404)


async def test_bad_property_input_is_refused(admin: httpx.AsyncClient) -> None:
    ns = await make_ns(admin)
    base = f"{NS}/{ns['namespace']}/properties"
    for body in (
        {"title": "T", "type": "string"},
        {"name": "p", "type": "string"},
        {"name": "p", "title": "T"},
        {"name": "p", "title": "T", "type": None},
        {"name": "p", "title": "T", "type": "string", "minimum": "1"},
        {"name": "p", "title": "T", "type": "string", "maxItems": True},
        {"name": "p", "title": "T", "type": "array", "items": {"enum": ["a"]}},
        {"name": "p", "title": "T", "type": "string", "enum": "a"},
        {"name": "p" * 81, "title": "T", "type": "string"},
    ):
        assert_fault(await admin.post(base, json=body), 400)
    body = {"name": "p", "title": "T", "type": "string", "created_at": "now"}
    assert_fault(await admin.post(base, json=body), 403)
    assert (await admin.get(base)).json()["properties"] == {}


# -- tags -----------------------------------------------------------------------------------


async def test_tag_lifecycle(admin: httpx.AsyncClient) -> None:
    ns = await make_ns(admin)
    base = f"{NS}/{ns['namespace']}/tags"
    sample = [{"name": "sample-tag1"}, {"name": "sample-tag2"}, {"name": "sample-tag3"}]
    r = await admin.post(base, json={"tags": sample})
    assert r.status_code == 201, r.text
    assert r.json() == {"tags": sample}
    listed = (await admin.get(base)).json()["tags"]
    assert sorted(t["name"] for t in listed) == ["sample-tag1", "sample-tag2", "sample-tag3"]

    # Posting a list replaces the tags, unless told to append.
    r = await admin.post(base, json={"tags": [{"name": "fresh"}]})
    assert r.status_code == 201
    assert [t["name"] for t in (await admin.get(base)).json()["tags"]] == ["fresh"]
    r = await admin.post(
        base, json={"tags": [{"name": "more"}]}, headers={"X-Openstack-Append": "True"}
    )
    assert r.status_code == 201, r.text
    names = {t["name"] for t in (await admin.get(base)).json()["tags"]}
    assert names == {"fresh", "more"}
    r = await admin.post(
        base, json={"tags": [{"name": "more"}]}, headers={"X-Openstack-Append": "true"}
    )
    assert_fault(r, 409)
    assert_fault(await admin.post(base, json={"tags": [{"name": "x"}, {"name": "x"}]}), 409)

    r = await admin.post(f"{base}/single")
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "single" and r.json()["created_at"].endswith("Z")
    assert_fault(await admin.post(f"{base}/single"), 409)
    assert (await admin.get(f"{base}/single")).json()["name"] == "single"

    r = await admin.put(f"{base}/single", json={"name": "renamed"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "renamed"
    assert_fault(await admin.put(f"{base}/renamed", json={"name": "fresh"}), 409)
    assert_fault(await admin.get(f"{base}/single"), 404)

    assert (await admin.delete(f"{base}/renamed")).status_code == 204
    assert_fault(await admin.delete(f"{base}/renamed"), 404)
    assert (await admin.delete(base)).status_code == 204
    assert (await admin.get(base)).json()["tags"] == []


async def test_tags_page_by_marker(admin: httpx.AsyncClient) -> None:
    ns = await make_ns(admin)
    base = f"{NS}/{ns['namespace']}/tags"
    for name in ("c", "a", "d", "b"):
        assert (await admin.post(f"{base}/{name}")).status_code == 201
    params = {"sort_key": "name", "sort_dir": "asc", "limit": 2}
    first = (await admin.get(base, params=params)).json()["tags"]
    assert [t["name"] for t in first] == ["a", "b"]
    rest = (await admin.get(base, params={**params, "marker": "b"})).json()["tags"]
    assert [t["name"] for t in rest] == ["c", "d"]
    # Newest first by default.
    assert [t["name"] for t in (await admin.get(base)).json()["tags"]] == ["b", "d", "a", "c"]
    assert_fault(await admin.get(base, params={"marker": "zz"}), 404)
    assert_fault(await admin.get(base, params={"sort_key": "colour"}), 400)


async def test_bad_tag_input_is_refused(admin: httpx.AsyncClient) -> None:
    ns = await make_ns(admin)
    base = f"{NS}/{ns['namespace']}/tags"
    for body in (
        {},
        {"tags": "a"},
        {"tags": [{"name": ""}]},
        {"tags": [{}]},
        {"tags": [{"name": "a"}], "extra": 1},
    ):
        assert_fault(await admin.post(base, json=body), 400)
    assert_fault(await admin.post(f"{base}/{'t' * 81}"), 400)
    await admin.post(f"{base}/t")
    assert_fault(await admin.put(f"{base}/t", json={}), 400)
    assert_fault(await admin.put(f"{base}/t", json={"name": "u", "created_at": "x"}), 403)
    assert [t["name"] for t in (await admin.get(base)).json()["tags"]] == ["t"]


# -- resource type associations -------------------------------------------------------------


async def test_resource_type_associations(admin: httpx.AsyncClient) -> None:
    ns = await make_ns(admin)
    base = f"{NS}/{ns['namespace']}/resource_types"
    r = await admin.post(
        base, json={"name": "OS::Cinder::Volume", "prefix": "hw_", "properties_target": "image"}
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["name"], created["prefix"], created["properties_target"]) == (
        "OS::Cinder::Volume",
        "hw_",
        "image",
    )
    assert created["created_at"].endswith("Z")
    assert_fault(await admin.post(base, json={"name": "OS::Cinder::Volume"}), 409)
    listed = (await admin.get(base)).json()["resource_type_associations"]
    assert [a["name"] for a in listed] == ["OS::Cinder::Volume"]

    # A resource type nobody has heard of is made by its first association.
    assert (await admin.post(base, json={"name": "OS::Custom::Thing"})).status_code == 201
    types = (await admin.get(f"{MD}/resource_types")).json()["resource_types"]
    assert "OS::Custom::Thing" in [t["name"] for t in types]

    assert (await admin.delete(f"{base}/OS::Cinder::Volume")).status_code == 204
    assert_fault(await admin.delete(f"{base}/OS::Cinder::Volume"), 404)
    assert_fault(await admin.delete(f"{base}/OS::No::Such"), 404)
    listed = (await admin.get(base)).json()["resource_type_associations"]
    assert [a["name"] for a in listed] == ["OS::Custom::Thing"]
    for body in ({}, {"name": ""}, {"name": "n", "prefix": 3}, {"name": "n", "x": 1}):
        assert_fault(await admin.post(base, json=body), 400)
    assert_fault(await admin.post(base, json={"name": "n", "updated_at": "x"}), 403)
    assert_fault(await admin.get(f"{NS}/nope/resource_types"), 404)


async def test_tempest_namespace_scenario(admin: httpx.AsyncClient) -> None:
    """The sequence Tempest's test_basic_metadata_definition_namespaces drives."""
    rtype = (await admin.get(f"{MD}/resource_types")).json()["resource_types"][0]["name"]
    name = unique("tempest-namespace")
    await make_ns(
        admin,
        name,
        description="Tempest",
        display_name=name,
        resource_type_associations=[{"name": rtype}],
        protected=True,
    )
    assert name in [n["namespace"] for n in (await admin.get(NS)).json()["namespaces"]]
    assert (await admin.get(f"{NS}/{name}")).json()["visibility"] == "public"
    assert_fault(await admin.delete(f"{NS}/{name}"), 403)
    r = await admin.put(
        f"{NS}/{name}",
        json={
            "namespace": name,
            "description": "Tempest",
            "visibility": "private",
            "display_name": name,
            "protected": False,
        },
    )
    assert (r.json()["visibility"], r.json()["protected"]) == ("private", False)
    assert (await admin.delete(f"{NS}/{name}")).status_code == 204
    assert_fault(await admin.get(f"{NS}/{name}"), 404)
