"""Concurrent requests on one image or one project: each decision sees the others' writes.

On PostgreSQL (READ COMMITTED) two transactions could both read an image as
`queued` and both claim it, or both count a project's images before either
inserted, so two uploads overwrote each other's file and a 500 followed, and
quotas were exceeded several times over. The image row is now locked by the
transactions that decide on it, and quota checks hold a per-project lock.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.conftest import issue_token, make_settings, running_client
from tests.support.image import V2, assert_glance_fault, create_image, other_project, put_data


async def test_concurrent_uploads_to_one_image_store_exactly_one(
    admin: httpx.AsyncClient,
) -> None:
    images = [await create_image(admin) for _ in range(5)]
    bodies = (b"a" * (3 << 20), b"b" * (3 << 20))
    responses = await asyncio.gather(
        *(put_data(admin, image["id"], body) for image in images for body in bodies)
    )
    for i, image in enumerate(images):
        pair = responses[2 * i : 2 * i + 2]
        assert sorted(r.status_code for r in pair) == [204, 409], [r.text for r in pair]
        winner = bodies[[r.status_code for r in pair].index(204)]
        r = await admin.get(f"{V2}/images/{image['id']}/file")
        assert r.status_code == 200 and r.content == winner
        shown = (await admin.get(f"{V2}/images/{image['id']}")).json()
        assert shown["status"] == "active" and shown["size"] == len(winner)


async def test_concurrent_adds_of_one_member_tag_or_id_agree(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin)
    project, _ = await other_project(admin)
    url = f"{V2}/images/{image['id']}"
    rs = await asyncio.gather(
        *(admin.post(f"{url}/members", json={"member": project}) for _ in range(4))
    )
    assert sorted(r.status_code for r in rs) == [200, 409, 409, 409], [r.text for r in rs]
    rs = await asyncio.gather(*(admin.put(f"{url}/tags/same") for _ in range(4)))
    assert [r.status_code for r in rs] == [204] * 4, [r.text for r in rs]
    assert (await admin.get(url)).json()["tags"] == ["same"]
    chosen = "11111111-2222-3333-4444-555555555555"
    rs = await asyncio.gather(*(admin.post(f"{V2}/images", json={"id": chosen}) for _ in range(4)))
    assert sorted(r.status_code for r in rs) == [201, 409, 409, 409], [r.text for r in rs]
    for r in rs:
        if r.status_code == 409:
            assert_glance_fault(r, 409)


async def test_concurrent_requests_respect_project_quotas(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(
        tmp_path / "data",
        database={"url": db_url},
        image={"image_count_total": 3, "image_size_total_bytes": 3000},
    )
    async with running_client(settings) as c:
        c.headers["X-Auth-Token"] = await issue_token(c)
        body = {"disk_format": "raw", "container_format": "bare"}
        rs = await asyncio.gather(*(c.post(f"{V2}/images", json=body) for _ in range(10)))
        assert sorted(r.status_code for r in rs) == [201] * 3 + [413] * 7
        ids = [r.json()["id"] for r in rs if r.status_code == 201]
        rs = await asyncio.gather(*(put_data(c, image_id, b"x" * 1500) for image_id in ids))
        assert sorted(r.status_code for r in rs) == [204, 204, 413], [r.text for r in rs]
        usage = (await c.get(f"{V2}/info/usage")).json()["usage"]
        assert usage["image_count_total"] == {"limit": 3, "usage": 3}
        assert usage["image_size_total"] == {"limit": 3000, "usage": 3000}
        statuses = sorted([(await c.get(f"{V2}/images/{i}")).json()["status"] for i in ids])
        assert statuses == ["active", "active", "queued"]
