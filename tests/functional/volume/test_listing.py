"""Volume lists: filters, sort, limit and marker with next links, as Cinder pages them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx

from tests.functional.volume.support import V3, assert_fault, auth, create_volume


async def test_filters_sort_and_pages(admin: httpx.AsyncClient) -> None:
    made = [await create_volume(admin, name=f"v{n}", size=n + 1) for n in range(5)]
    await create_volume(admin, name="tagged", metadata={"tier": "gold"})
    r = await admin.get(f"{V3}/volumes/detail", params={"name": "v3"})
    assert [v["id"] for v in r.json()["volumes"]] == [made[3]["id"]]
    r = await admin.get(f"{V3}/volumes", params={"metadata": "{'tier': 'gold'}"})
    assert [v["name"] for v in r.json()["volumes"]] == ["tagged"]
    r = await admin.get(f"{V3}/volumes", params={"status": "available", "bootable": "false"})
    assert len(r.json()["volumes"]) == 6
    r = await admin.get(f"{V3}/volumes/detail", params={"sort": "size:asc,name:asc"})
    assert [v["name"] for v in r.json()["volumes"]] == ["tagged", "v0", "v1", "v2", "v3", "v4"]
    seen: list[str] = []
    params: dict[str, str] = {"sort": "name:asc", "limit": "2"}
    for _ in range(5):
        r = await admin.get(f"{V3}/volumes", params=params)
        body = r.json()
        seen += [v["name"] for v in body["volumes"]]
        links = body.get("volumes_links")
        if not links:
            break
        assert links[0]["rel"] == "next"
        params = {k: v[0] for k, v in parse_qs(urlparse(links[0]["href"]).query).items()}
    assert seen == ["tagged", "v0", "v1", "v2", "v3", "v4"]
    r = await admin.get(f"{V3}/volumes", params={"with_count": "true"}, headers=auth(None, "3.45"))
    assert r.json()["count"] == 6


async def test_bad_list_parameters(admin: httpx.AsyncClient) -> None:
    for params in (
        {"sort": "nope:asc"},
        {"sort": "name:sideways"},
        {"limit": "-1"},
        {"limit": "x"},
        {"colour": "blue"},
        {"bootable": "maybe"},
    ):
        r = await admin.get(f"{V3}/volumes", params=params)
        assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{V3}/volumes", params={"marker": "7a1f3e2b-0000-4000-8000-000000000000"})
    assert_fault(r, 404, "itemNotFound")
