"""Inputs that once made the image API answer 500 (on SQLite) or differ between backends.

Each test is named after what it guards: a value the database cannot hold or a
query it cannot plan is the client's mistake (400), on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import httpx

from tests.support.image import V2, active_image, assert_glance_fault, create_image


async def test_integer_filters_beyond_the_column_range_are_400(admin: httpx.AsyncClient) -> None:
    await active_image(admin, b"data", name="x")
    for params in (
        {"size_min": str(10**30)},
        {"size_max": str(2**63)},
        {"size": str(2**64)},
        {"min_ram": str(2**31)},
        {"min_disk": str(2**40)},
    ):
        r = await admin.get(f"{V2}/images", params=params)
        assert r.status_code == 400, f"{params}: {r.status_code} {r.text}"
        assert_glance_fault(r, 400)
    # The largest values the columns hold are valid filters.
    r = await admin.get(f"{V2}/images", params={"size_max": str(2**63 - 1), "min_ram": "0"})
    assert r.status_code == 200 and len(r.json()["images"]) == 1
    # A limit is capped, never refused for being large.
    r = await admin.get(f"{V2}/images", params={"limit": str(10**30)})
    assert r.status_code == 200 and len(r.json()["images"]) == 1


async def test_a_thousand_filters_are_400_not_a_query_too_deep(admin: httpx.AsyncClient) -> None:
    await create_image(admin, name="x", tags=["t"])
    many_tags = "&".join(["tag=t"] * 1000)
    assert_glance_fault(await admin.get(f"{V2}/images?{many_tags}"), 400)
    many_props = "&".join(f"p{i}=v" for i in range(1000))
    assert_glance_fault(await admin.get(f"{V2}/images?{many_props}"), 400)
    # A handful of filters is ordinary.
    r = await admin.get(f"{V2}/images?" + "&".join(["tag=t"] * 10))
    assert r.status_code == 200 and len(r.json()["images"]) == 1


async def test_lone_surrogates_in_json_bodies_are_400(admin: httpx.AsyncClient) -> None:
    json_type = {"Content-Type": "application/json"}
    for body in (b'{"name": "\\ud800"}', b'{"os_distro": "x\\udfff"}', b'{"tags": ["\\udc00"]}'):
        r = await admin.post(f"{V2}/images", content=body, headers=json_type)
        assert_glance_fault(r, 400)
    image = await create_image(admin)
    r = await admin.patch(
        f"{V2}/images/{image['id']}",
        content=b'[{"op": "add", "path": "/p", "value": "\\ud800"}]',
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
    )
    assert_glance_fault(r, 400)
    r = await admin.post(
        f"{V2}/images/{image['id']}/members", content=b'{"member": "\\ud800"}', headers=json_type
    )
    assert_glance_fault(r, 400)
    # A proper surrogate pair is just a character outside the BMP.
    r = await admin.post(f"{V2}/images", content=b'{"name": "\\ud83d\\ude00"}', headers=json_type)
    assert r.status_code == 201 and r.json()["name"] == "\U0001f600"


async def test_nul_characters_are_refused_on_every_backend(admin: httpx.AsyncClient) -> None:
    for body in ({"name": "a\x00b"}, {"owner": "a\x00b"}, {"tags": ["a\x00b"]}):
        assert_glance_fault(await admin.post(f"{V2}/images", json=body), 400)
    image = await create_image(admin)
    r = await admin.post(f"{V2}/images/{image['id']}/members", json={"member": "a\x00b"})
    assert_glance_fault(r, 400)
    assert_glance_fault(await admin.put(f"{V2}/images/{image['id']}/tags/a%00b"), 400)
    r = await admin.get(f"{V2}/images/{image['id']}/members")
    assert r.json()["members"] == []
    r = await admin.get(f"{V2}/images/{image['id']}")
    assert r.json()["tags"] == []
