"""The list machinery every resource shares: filters, fields, sorting, pages, tag filters."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.functional.network.support import V20, assert_fault, create


async def _names(c: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    r = await c.get(f"{V20}/{path}", params=params)
    assert r.status_code == 200, r.text
    return [item["name"] for item in r.json()[path]]


async def _five(c: httpx.AsyncClient) -> list[dict[str, Any]]:
    made = []
    for i, name in enumerate(["delta", "alpha", "echo", "charlie", "bravo"]):
        made.append(await create(c, "network", name=name, admin_state_up=i % 2 == 0, mtu=1400 + i))
    return made


async def test_filters(admin: httpx.AsyncClient) -> None:
    await _five(admin)
    assert await _names(admin, "networks", name="alpha") == ["alpha"]
    # A repeated filter matches any of its values.
    got = await _names(admin, "networks", name=["alpha", "echo", "nobody"])
    assert sorted(got) == ["alpha", "echo"]
    # Values convert as the attribute does (booleans in any spelling).
    got = await _names(admin, "networks", admin_state_up="False")
    assert sorted(got) == ["alpha", "charlie"]
    got = await _names(admin, "networks", admin_state_up="1", mtu="1404")
    assert got == ["bravo"]
    # Filters combine with AND across attributes.
    assert await _names(admin, "networks", name="alpha", admin_state_up="true") == []
    # An empty value filters nothing.
    assert len(await _names(admin, "networks", name="")) == 5


async def test_unknown_and_unfilterable_attributes_are_400(admin: httpx.AsyncClient) -> None:
    fault = assert_fault(await admin.get(f"{V20}/networks", params={"colour": "red"}), 400)
    assert fault["message"] == "['colour'] is invalid attribute for filtering"
    fault = assert_fault(await admin.get(f"{V20}/networks", params={"subnets": "x"}), 400)
    assert fault["message"] == "['subnets'] is invalid attribute for filtering"
    r = await admin.get(f"{V20}/networks", params={"admin_state_up": "maybe"})
    assert_fault(r, 400, "InvalidInput")
    r = await admin.get(f"{V20}/networks", params={"project_id": "a", "tenant_id": "a"})
    assert_fault(r, 400, "TenantIdProjectIdFilterConflict")


async def test_fields(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network", name="only")
    r = await admin.get(f"{V20}/networks", params={"fields": ["name", "mtu"]})
    assert r.json() == {"networks": [{"name": "only", "mtu": 1450}]}
    r = await admin.get(f"{V20}/networks/{net['id']}", params={"fields": "id"})
    assert r.json() == {"network": {"id": net["id"]}}


async def test_sorting(admin: httpx.AsyncClient) -> None:
    await _five(admin)
    got = await _names(admin, "networks", sort_key="name", sort_dir="asc")
    assert got == ["alpha", "bravo", "charlie", "delta", "echo"]
    got = await _names(admin, "networks", sort_key="name", sort_dir="desc")
    assert got == ["echo", "delta", "charlie", "bravo", "alpha"]
    got = await _names(
        admin, "networks", sort_key=["admin_state_up", "mtu"], sort_dir=["asc", "desc"]
    )
    assert got == ["charlie", "alpha", "bravo", "echo", "delta"]
    r = await admin.get(f"{V20}/networks", params={"sort_key": "name"})
    assert assert_fault(r, 400)["message"] == "The number of sort_keys and sort_dirs must be same"
    r = await admin.get(f"{V20}/networks", params={"sort_key": "subnets", "sort_dir": "asc"})
    assert assert_fault(r, 400)["message"] == "['subnets'] is invalid attribute for sort_keys"
    r = await admin.get(f"{V20}/networks", params={"sort_key": "name", "sort_dir": "up"})
    assert assert_fault(r, 400)["message"] == (
        "['up'] is invalid value for sort_dirs, valid value is 'asc' and 'desc'"
    )


def _link(body: dict[str, Any], rel: str) -> dict[str, list[str]] | None:
    for link in body.get("networks_links", []):
        if link["rel"] == rel:
            return parse_qs(urlsplit(link["href"]).query)
    return None


async def test_pages_follow_next_links_to_the_end(admin: httpx.AsyncClient) -> None:
    await _five(admin)
    params: dict[str, Any] = {"limit": 2, "sort_key": "name", "sort_dir": "asc"}
    seen: list[str] = []
    for _ in range(5):
        r = await admin.get(f"{V20}/networks", params=params)
        body = r.json()
        seen += [n["name"] for n in body["networks"]]
        nxt = _link(body, "next")
        if nxt is None:
            break
        assert nxt["limit"] == ["2"] and nxt["sort_key"] == ["name"]
        params = {k: v if len(v) > 1 else v[0] for k, v in nxt.items()}
    assert seen == ["alpha", "bravo", "charlie", "delta", "echo"]
    # The last page is short: it has a previous link but no next one.
    assert _link(body, "previous") is not None and len(body["networks"]) == 1


async def test_previous_pages_and_page_reverse(admin: httpx.AsyncClient) -> None:
    await _five(admin)
    base = {"sort_key": "name", "sort_dir": "asc"}
    r = await admin.get(f"{V20}/networks", params={**base, "limit": 2})
    first = r.json()
    # Neutron offers a previous link even on the first page.
    assert _link(first, "previous") is not None and _link(first, "next") is not None
    marker = first["networks"][-1]["id"]
    r = await admin.get(f"{V20}/networks", params={**base, "limit": 2, "marker": marker})
    second = r.json()
    assert [n["name"] for n in second["networks"]] == ["charlie", "delta"]
    back = _link(second, "previous")
    assert back is not None and back["page_reverse"] == ["True"]
    assert back["marker"] == [second["networks"][0]["id"]]
    r = await admin.get(
        f"{V20}/networks",
        params={**base, "limit": 2, "marker": back["marker"][0], "page_reverse": "True"},
    )
    assert [n["name"] for n in r.json()["networks"]] == ["alpha", "bravo"]
    # Without a marker, page_reverse starts from the end.
    r = await admin.get(f"{V20}/networks", params={**base, "limit": 2, "page_reverse": "true"})
    assert [n["name"] for n in r.json()["networks"]] == ["delta", "echo"]


async def test_paging_errors(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V20}/networks", params={"limit": "many"})
    fault = assert_fault(r, 400, "BadRequest")
    assert (
        fault["message"]
        == "Bad limit request: Limit must be an integer 0 or greater and not 'many'."
    )
    assert_fault(await admin.get(f"{V20}/networks", params={"limit": -1}), 400)
    missing = "00000000-0000-4000-8000-000000000000"
    r = await admin.get(f"{V20}/networks", params={"limit": 1, "marker": missing})
    assert_fault(r, 404, "NetworkNotFound")
    # No limit: no links and the marker is ignored, as Neutron does.
    r = await admin.get(f"{V20}/networks", params={"marker": missing})
    assert r.status_code == 200 and "networks_links" not in r.json()


async def test_tag_filters(admin: httpx.AsyncClient) -> None:
    nets = {n["name"]: n for n in await _five(admin)}
    for name, tags in (("alpha", ["red", "big"]), ("bravo", ["red"]), ("charlie", ["big"])):
        r = await admin.put(f"{V20}/networks/{nets[name]['id']}/tags", json={"tags": tags})
        assert r.status_code == 200, r.text
    assert sorted(await _names(admin, "networks", tags="red")) == ["alpha", "bravo"]
    assert await _names(admin, "networks", tags="red,big") == ["alpha"]
    assert sorted(await _names(admin, "networks", **{"tags-any": "red,big"})) == [
        "alpha",
        "bravo",
        "charlie",
    ]
    assert sorted(await _names(admin, "networks", **{"not-tags": "red,big"})) == [
        "bravo",
        "charlie",
        "delta",
        "echo",
    ]
    assert sorted(await _names(admin, "networks", **{"not-tags-any": "red,big"})) == [
        "delta",
        "echo",
    ]

    # Resources without tags have no tag filters (agents once answered 500).
    for path in ("agents", "security-group-rules"):
        for key in ("tags", "tags-any", "not-tags", "not-tags-any"):
            fault = assert_fault(await admin.get(f"{V20}/{path}", params={key: "red"}), 400)
            assert fault["message"] == f"['{key}'] is invalid attribute for filtering"


async def test_every_resource_lists_the_same_way(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network", name="n")
    await create(admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.9.0.0/24", name="s")
    await create(admin, "port", network_id=net["id"], name="p")
    await create(admin, "subnetpool", prefixes=["10.100.0.0/16"], name="sp")
    await create(admin, "security_group", name="sg")
    for path, name in (
        ("subnets", "s"),
        ("ports", "p"),
        ("subnetpools", "sp"),
        ("security_groups", "sg"),
    ):
        url = f"{V20}/{path.replace('_', '-')}"
        r = await admin.get(url, params={"name": name, "fields": "name", "limit": 5})
        assert r.status_code == 200, r.text
        assert r.json()[path] == [{"name": name}]
        assert f"{path}_links" in r.json()
        assert_fault(await admin.get(url, params={"bogus": 1}), 400)
