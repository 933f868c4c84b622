"""Nova's image proxy (/images and their metadata) over the image service."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import issue_token, make_settings, running_client
from tests.support.identity import project_member
from tests.support.image import active_image, create_image, put_data
from tests.support.servers import V21, action, assert_nova_fault, boot, boot_image, mv, wait_status


async def _show(c: httpx.AsyncClient, image_id: str, token: str | None = None) -> dict[str, Any]:
    r = await c.get(f"{V21}/images/{image_id}", headers=mv("2.35", token))
    assert r.status_code == 200, r.text
    return dict(r.json()["image"])


async def _ids(c: httpx.AsyncClient, path: str = "images", **params: Any) -> list[str]:
    r = await c.get(f"{V21}/{path}", params=params)
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["images"]]


async def test_an_image_in_nova_format(admin: httpx.AsyncClient) -> None:
    queued = await create_image(admin, name="proxied", min_ram=64, os_distro="cirros")
    image = await _show(admin, queued["id"])
    assert (image["status"], image["progress"]) == ("SAVING", 25)
    assert image["metadata"] == {"os_distro": "cirros"}
    assert (image["minRam"], image["minDisk"], image["OS-EXT-IMG-SIZE:size"]) == (64, 0, None)
    assert image["created"].endswith("Z") and "server" not in image
    rels = {link["rel"]: link for link in image["links"]}
    assert rels["self"]["href"].endswith(f"/compute/v2.1/images/{queued['id']}")
    assert rels["bookmark"]["href"].endswith(f"/compute/images/{queued['id']}")
    assert rels["alternate"] == {
        "rel": "alternate",
        "type": "application/vnd.openstack.image",
        "href": f"http://testserver/image/images/{queued['id']}",
    }
    assert (await put_data(admin, queued["id"], b"x" * 1024)).status_code == 204
    image = await _show(admin, queued["id"])
    assert (image["status"], image["progress"], image["OS-EXT-IMG-SIZE:size"]) == (
        "ACTIVE",
        100,
        1024,
    )
    r = await admin.get(f"{V21}/images", params={"name": "proxied"})
    assert r.json() == {
        "images": [{"id": queued["id"], "name": "proxied", "links": image["links"]}]
    }
    r = await admin.get(f"{V21}/images/detail", params={"name": "proxied"})
    assert r.json()["images"] == [image]
    # Gone from 2.36, as in Nova.
    for path in ("images", "images/detail", f"images/{queued['id']}"):
        assert_nova_fault(await admin.get(f"{V21}/{path}", headers=mv("2.36")), 404)
    assert_nova_fault(await admin.get(f"{V21}/images/{queued['id']}x"), 404)


async def test_filters_and_pages(admin: httpx.AsyncClient) -> None:
    first = await active_image(admin, name="alpha", min_disk=2, flavour="sweet")
    second = await active_image(admin, name="beta")
    waiting = await create_image(admin, name="gamma")
    assert await _ids(admin, name="alpha") == [first["id"]]
    active = await _ids(admin, status="ACTIVE")
    assert first["id"] in active and waiting["id"] not in active
    assert await _ids(admin, "images/detail", status="queued") == [waiting["id"]]
    assert await _ids(admin, minDisk="2") == [first["id"]]
    assert await _ids(admin, **{"property-flavour": "sweet"}) == [first["id"]]
    assert len(await _ids(admin, **{"property-limit": "1"})) == 3
    assert set(await _ids(admin, **{"changes-since": second["updated_at"]})) >= {
        second["id"],
        waiting["id"],
    }
    assert await _ids(admin, **{"changes-since": "2999-01-01T00:00:00Z"}) == []
    assert_nova_fault(await admin.get(f"{V21}/images", params={"status": "bogus"}), 400)
    # One at a time, following the next links, gives the whole list in its order.
    everything = await _ids(admin)
    assert len(everything) == 3
    r = await admin.get(f"{V21}/images", params={"limit": 1})
    page = r.json()
    assert [i["id"] for i in page["images"]] == everything[:1]
    [link] = page["images_links"]
    assert link["rel"] == "next" and f"marker={everything[0]}" in link["href"]
    r = await admin.get(f"{V21}/images/detail", params={"limit": 2, "marker": everything[0]})
    assert [i["id"] for i in r.json()["images"]] == everything[1:]
    assert "images_links" in r.json()
    r = await admin.get(f"{V21}/images", params={"marker": everything[-1]})
    assert r.json() == {"images": []}
    assert_nova_fault(await admin.get(f"{V21}/images", params={"limit": "x"}), 400)
    assert_nova_fault(await admin.get(f"{V21}/images", params={"marker": "nope"}), 400)


async def test_snapshots_name_their_server(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    base = await boot_image(admin, tmp_path)
    sid = await boot(admin, base)
    await wait_status(admin, sid, "ACTIVE")
    r = await action(admin, sid, {"createImage": {"name": "snap"}}, version="2.45")
    assert r.status_code == 202, r.text
    snap_id = r.json()["image_id"]
    async with asyncio.timeout(30):
        while True:
            snap = await _show(admin, snap_id)
            if snap["status"] == "ACTIVE":
                break
            await asyncio.sleep(0.02)
    assert snap["server"]["id"] == sid
    assert snap["server"]["links"][0]["href"].endswith(f"/compute/v2.1/servers/{sid}")
    assert snap["metadata"]["image_type"] == "snapshot"
    assert await _ids(admin, server=sid) == [snap_id]
    assert await _ids(admin, server=f"http://testserver/compute/servers/{sid}") == [snap_id]
    assert await _ids(admin, type="snapshot") == [snap_id]
    assert base not in await _ids(admin, "images/detail", type="snapshot")
    await wait_status(admin, sid, "ACTIVE")


async def test_who_may_see_and_delete(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    own = await create_image(admin, token, name="mine")
    public = await active_image(admin, name="everyone", visibility="public")
    private = await create_image(admin, name="admins-only", visibility="private")
    r = await admin.get(f"{V21}/images", headers=mv("2.1", token))
    seen = {i["id"] for i in r.json()["images"]}
    assert {own["id"], public["id"]} <= seen and private["id"] not in seen
    fault = assert_nova_fault(
        await admin.get(f"{V21}/images/{private['id']}", headers=mv("2.1", token)), 404
    )
    assert fault["message"] == "Image not found."
    r = await admin.delete(f"{V21}/images/{public['id']}", headers=mv("2.1", token))
    assert_nova_fault(r, 403)
    r = await admin.delete(f"{V21}/images/{own['id']}", headers=mv("2.1", token))
    assert r.status_code == 204
    assert_nova_fault(await admin.get(f"{V21}/images/{own['id']}"), 404)
    assert_nova_fault(await admin.delete(f"{V21}/images/{own['id']}"), 404)
    assert_nova_fault(await admin.delete(f"{V21}/images/"), 404)
    assert_nova_fault(await admin.delete(f"{V21}/images/{public['id']}", headers=mv("2.36")), 404)


async def test_metadata_is_image_properties(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin, name="meta", a="1", b="2")
    url = f"{V21}/images/{image['id']}/metadata"
    assert (await admin.get(url)).json() == {"metadata": {"a": "1", "b": "2"}}
    r = await admin.post(url, json={"metadata": {"b": "two", "c": "3"}})
    assert r.json() == {"metadata": {"a": "1", "b": "two", "c": "3"}}
    r = await admin.put(url, json={"metadata": {"c": "three", "d": "4"}})
    assert r.json() == {"metadata": {"c": "three", "d": "4"}}
    assert (await admin.get(f"{url}/c")).json() == {"meta": {"c": "three"}}
    r = await admin.put(f"{url}/e", json={"meta": {"e": "5"}})
    assert r.status_code == 200 and r.json() == {"meta": {"e": "5"}}
    assert (await admin.delete(f"{url}/d")).status_code == 204
    assert (await admin.get(url)).json() == {"metadata": {"c": "three", "e": "5"}}
    glance = (await admin.get(f"/image/v2/images/{image['id']}")).json()
    assert (glance["c"], glance["e"], "d" in glance) == ("three", "5", False)
    fault = assert_nova_fault(await admin.get(f"{url}/d"), 404)
    assert fault["message"] == "Invalid metadata key"
    assert_nova_fault(await admin.delete(f"{url}/d"), 404)
    assert_nova_fault(await admin.put(f"{url}/e", json={"meta": {"f": "6"}}), 400)
    assert_nova_fault(await admin.put(f"{url}/e", json={"meta": {"e": "1", "f": "6"}}), 400)
    assert_nova_fault(await admin.post(url, json={"metadata": {"x": 1}}), 400)
    assert_nova_fault(await admin.post(url, json={"meta": {}}), 400)
    assert_nova_fault(await admin.get(url, headers=mv("2.39")), 404)
    assert (await admin.get(url, headers=mv("2.38"))).status_code == 200
    missing = f"{V21}/images/00000000-0000-4000-8000-000000000000/metadata"
    assert_nova_fault(await admin.get(missing), 404)
    assert_nova_fault(await admin.post(missing, json={"metadata": {"a": "b"}}), 404)
    assert_nova_fault(await admin.put(f"{missing}/a", json={"meta": {"a": "b"}}), 404)


async def test_metadata_counts_against_the_quota(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.put(
        f"{V21}/os-quota-sets/{project['id']}", json={"quota_set": {"metadata_items": 2}}
    )
    assert r.status_code == 200, r.text
    image = await create_image(admin, token, name="small")
    url = f"{V21}/images/{image['id']}/metadata"
    r = await admin.post(url, json={"metadata": {"a": "1", "b": "2"}}, headers=mv("2.1", token))
    assert r.status_code == 200, r.text
    r = await admin.post(url, json={"metadata": {"c": "3"}}, headers=mv("2.1", token))
    assert assert_nova_fault(r, 403)["message"] == "Image metadata limit exceeded"
    r = await admin.put(url, json={"metadata": {"c": "3"}}, headers=mv("2.1", token))
    assert r.json() == {"metadata": {"c": "3"}}


async def test_lists_read_the_image_service_page_after_page(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(
        tmp_path / "data",
        database={"url": db_url},
        image={"api_limit_max": 2},
        compute={"api_max_limit": 4},
    )
    async with running_client(settings) as c:
        c.headers["X-Auth-Token"] = await issue_token(c)
        for n in range(5):
            await create_image(c, name=f"img-{n}")
        glance = (await c.get("/image/v2/images", params={"limit": 2})).json()["images"]
        everything = await _ids(c)
        # Two pages of the image service's at most two, and a last one: capped at four.
        assert len(everything) == 4 and everything[:2] == [i["id"] for i in glance]
        r = await c.get(f"{V21}/images/detail", params={"limit": 3})
        assert [i["id"] for i in r.json()["images"]] == everything[:3]
        assert "images_links" in r.json()
