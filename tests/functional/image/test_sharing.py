"""Who may see and change an image: members, tags, visibility, roles, ownership.

Proves Glance's sharing handshake (the owner proposes, only the member
accepts or rejects, and a pending image stays out of the member's default
list), tag semantics, and the visibility and role rules: another project gets
404 for a private image on every route, a reader may look but not touch, only
admins publish images or give them to another project.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.identity import project_member
from tests.support.image import (
    V2,
    active_image,
    assert_glance_fault,
    create_image,
    list_ids,
    other_project,
    patch,
    put_data,
    show_image,
)


@dataclass
class Project:
    """A project with a member-role user's token."""

    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Headers authenticating as this project's user."""
        return {"X-Auth-Token": self.token}


@pytest.fixture
async def owner(admin: httpx.AsyncClient) -> Project:
    """The project owning the images under test."""
    return Project(*await other_project(admin))


@pytest.fixture
async def consumer(admin: httpx.AsyncClient) -> Project:
    """A project images get shared with."""
    return Project(*await other_project(admin))


@pytest.fixture
async def stranger(admin: httpx.AsyncClient) -> Project:
    """A project nothing is shared with."""
    return Project(*await other_project(admin))


async def _add_member(
    c: httpx.AsyncClient, image_id: str, member: str, owner: Project
) -> dict[str, Any]:
    r = await c.post(
        f"{V2}/images/{image_id}/members", json={"member": member}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _set_status(
    c: httpx.AsyncClient, image_id: str, member: str, status: Any, who: Project
) -> httpx.Response:
    return await c.put(
        f"{V2}/images/{image_id}/members/{member}", json={"status": status}, headers=who.headers
    )


# -- members ------------------------------------------------------------------------------------


async def test_sharing_handshake(
    admin: httpx.AsyncClient, owner: Project, consumer: Project, stranger: Project
) -> None:
    image = await active_image(admin, b"shared bytes", owner.token, name="shared")
    assert image["visibility"] == "shared"
    # Before any membership the consumer cannot see it at all.
    assert_glance_fault(
        await admin.get(f"{V2}/images/{image['id']}", headers=consumer.headers), 404
    )

    member = await _add_member(admin, image["id"], consumer.id, owner)
    assert member["status"] == "pending"
    assert member["image_id"] == image["id"] and member["member_id"] == consumer.id
    assert member["schema"] == "/v2/schemas/member"
    assert member["created_at"] and member["updated_at"]

    # Pending: visible by id, but not in the default list.
    assert (await show_image(admin, image["id"], consumer.token))["name"] == "shared"
    assert image["id"] not in await list_ids(admin, consumer.token)
    assert await list_ids(admin, consumer.token, visibility="shared") == []
    assert await list_ids(admin, consumer.token, visibility="shared", member_status="pending") == [
        image["id"]
    ]
    # The owner's project sees it as always; strangers still do not.
    assert image["id"] in await list_ids(admin, owner.token)
    assert_glance_fault(
        await admin.get(f"{V2}/images/{image['id']}", headers=stranger.headers), 404
    )

    # The owner cannot accept on the member's behalf.
    assert_glance_fault(await _set_status(admin, image["id"], consumer.id, "accepted", owner), 403)
    for bad in ("approved", "", None, 1):
        assert_glance_fault(await _set_status(admin, image["id"], consumer.id, bad, consumer), 400)
    r = await admin.put(
        f"{V2}/images/{image['id']}/members/{consumer.id}", json={}, headers=consumer.headers
    )
    assert_glance_fault(r, 400)

    r = await _set_status(admin, image["id"], consumer.id, "accepted", consumer)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"
    assert image["id"] in await list_ids(admin, consumer.token)
    assert await list_ids(admin, consumer.token, visibility="shared") == [image["id"]]
    r = await admin.get(f"{V2}/images/{image['id']}/file", headers=consumer.headers)
    assert r.status_code == 200 and r.content == b"shared bytes"

    r = await _set_status(admin, image["id"], consumer.id, "rejected", consumer)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert image["id"] not in await list_ids(admin, consumer.token)
    assert await list_ids(admin, consumer.token, visibility="shared", member_status="rejected") == [
        image["id"]
    ]
    assert await list_ids(admin, consumer.token, visibility="shared", member_status="all") == [
        image["id"]
    ]
    # A member may look but not change the image.
    r = await patch(
        admin, image["id"], [{"op": "replace", "path": "/name", "value": "x"}], consumer.token
    )
    assert_glance_fault(r, 403)
    assert_glance_fault(
        await admin.delete(f"{V2}/images/{image['id']}", headers=consumer.headers), 403
    )
    r = await admin.post(
        f"{V2}/images/{image['id']}/members", json={"member": stranger.id}, headers=consumer.headers
    )
    assert_glance_fault(r, 403)


async def test_member_lists_and_shows_only_itself(
    admin: httpx.AsyncClient, owner: Project, consumer: Project, stranger: Project
) -> None:
    image = await create_image(admin, owner.token)
    await _add_member(admin, image["id"], consumer.id, owner)
    await _add_member(admin, image["id"], stranger.id, owner)
    r = await admin.get(f"{V2}/images/{image['id']}/members", headers=owner.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["schema"] == "/v2/schemas/members"
    assert {m["member_id"] for m in body["members"]} == {consumer.id, stranger.id}
    r = await admin.get(f"{V2}/images/{image['id']}/members", headers=consumer.headers)
    assert [m["member_id"] for m in r.json()["members"]] == [consumer.id]
    r = await admin.get(
        f"{V2}/images/{image['id']}/members/{consumer.id}", headers=consumer.headers
    )
    assert r.status_code == 200 and r.json()["member_id"] == consumer.id
    r = await admin.get(
        f"{V2}/images/{image['id']}/members/{stranger.id}", headers=consumer.headers
    )
    assert_glance_fault(r, 404)
    r = await admin.get(f"{V2}/images/{image['id']}/members/{stranger.id}", headers=owner.headers)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    # A member cannot decide for another member.
    assert_glance_fault(
        await _set_status(admin, image["id"], stranger.id, "accepted", consumer), 404
    )


async def test_duplicate_member_is_409_and_remove_member(
    admin: httpx.AsyncClient, owner: Project, consumer: Project
) -> None:
    image = await create_image(admin, owner.token)
    await _add_member(admin, image["id"], consumer.id, owner)
    r = await admin.post(
        f"{V2}/images/{image['id']}/members", json={"member": consumer.id}, headers=owner.headers
    )
    assert_glance_fault(r, 409)
    for bad in ({}, {"member": ""}, {"member": 5}, {"member": "x" * 256}):
        r = await admin.post(f"{V2}/images/{image['id']}/members", json=bad, headers=owner.headers)
        assert_glance_fault(r, 400)
    assert (
        await _set_status(admin, image["id"], consumer.id, "accepted", consumer)
    ).status_code == 200
    assert image["id"] in await list_ids(admin, consumer.token)

    # The member cannot remove itself; the owner can.
    r = await admin.delete(
        f"{V2}/images/{image['id']}/members/{consumer.id}", headers=consumer.headers
    )
    assert_glance_fault(r, 403)
    r = await admin.delete(
        f"{V2}/images/{image['id']}/members/{consumer.id}", headers=owner.headers
    )
    assert r.status_code == 204, r.text
    r = await admin.get(f"{V2}/images/{image['id']}/members", headers=owner.headers)
    assert r.json()["members"] == []
    assert image["id"] not in await list_ids(admin, consumer.token, member_status="all")
    assert_glance_fault(
        await admin.get(f"{V2}/images/{image['id']}", headers=consumer.headers), 404
    )
    r = await admin.delete(
        f"{V2}/images/{image['id']}/members/{consumer.id}", headers=owner.headers
    )
    assert_glance_fault(r, 404)


@pytest.mark.parametrize("visibility", ["private", "public", "community"])
async def test_members_only_for_shared_images(
    admin: httpx.AsyncClient, owner: Project, consumer: Project, visibility: str
) -> None:
    # Admin creates it for the owner project, since only admins may publish.
    image = await create_image(admin, visibility=visibility, owner=owner.id)
    r = await admin.post(
        f"{V2}/images/{image['id']}/members", json={"member": consumer.id}, headers=owner.headers
    )
    assert_glance_fault(r, 403)
    r = await admin.get(f"{V2}/images/{image['id']}/members", headers=owner.headers)
    assert_glance_fault(r, 403)


async def test_members_go_when_an_image_leaves_shared(
    admin: httpx.AsyncClient, owner: Project, consumer: Project
) -> None:
    image = await create_image(admin, owner.token)
    await _add_member(admin, image["id"], consumer.id, owner)
    await _set_status(admin, image["id"], consumer.id, "accepted", consumer)
    r = await patch(
        admin,
        image["id"],
        [{"op": "replace", "path": "/visibility", "value": "private"}],
        owner.token,
    )
    assert r.status_code == 200, r.text
    # A private image is its owner's alone, whatever memberships it had.
    assert_glance_fault(
        await admin.get(f"{V2}/images/{image['id']}", headers=consumer.headers), 404
    )
    assert image["id"] not in await list_ids(admin, consumer.token)


# -- tags ---------------------------------------------------------------------------------------


async def test_tags(admin: httpx.AsyncClient, owner: Project, consumer: Project) -> None:
    image = await create_image(admin, owner.token, tags=["one"])
    url = f"{V2}/images/{image['id']}/tags"
    r = await admin.put(f"{url}/two", headers=owner.headers)
    assert r.status_code == 204 and r.content == b""
    r = await admin.put(f"{url}/two", headers=owner.headers)
    assert r.status_code == 204
    got = await show_image(admin, image["id"], owner.token)
    assert sorted(got["tags"]) == ["one", "two"]
    assert image["id"] in await list_ids(admin, owner.token, tag="two")
    r = await admin.put(f"{url}/{'t' * 256}", headers=owner.headers)
    assert_glance_fault(r, 400)
    r = await admin.put(f"{url}/{'t' * 255}", headers=owner.headers)
    assert r.status_code == 204
    r = await admin.delete(f"{url}/one", headers=owner.headers)
    assert r.status_code == 204
    assert_glance_fault(await admin.delete(f"{url}/one", headers=owner.headers), 404)
    assert_glance_fault(await admin.delete(f"{url}/never", headers=owner.headers), 404)
    got = await show_image(admin, image["id"], owner.token)
    assert sorted(got["tags"]) == sorted(["two", "t" * 255])
    # Tags with spaces and unicode survive the URL.
    r = await admin.put(f"{url}/caf%C3%A9%20au%20lait", headers=owner.headers)
    assert r.status_code == 204
    assert "café au lait" in (await show_image(admin, image["id"], owner.token))["tags"]
    # Others may not tag it.
    await _add_member(admin, image["id"], consumer.id, owner)
    assert_glance_fault(await admin.put(f"{url}/theirs", headers=consumer.headers), 403)
    assert_glance_fault(await admin.delete(f"{url}/two", headers=consumer.headers), 403)
    assert_glance_fault(await admin.put(f"{V2}/images/{uuid.uuid4()}/tags/x"), 404)


# -- visibility and roles -----------------------------------------------------------------------


async def test_only_admins_make_images_public(admin: httpx.AsyncClient, owner: Project) -> None:
    r = await admin.post(f"{V2}/images", json={"visibility": "public"}, headers=owner.headers)
    assert_glance_fault(r, 403)
    assert await list_ids(admin, owner.token) == []
    image = await create_image(admin, owner.token, visibility="private")
    r = await patch(
        admin,
        image["id"],
        [{"op": "replace", "path": "/visibility", "value": "public"}],
        owner.token,
    )
    assert_glance_fault(r, 403)
    assert (await show_image(admin, image["id"]))["visibility"] == "private"
    for visibility in ("community", "shared", "private"):
        r = await patch(
            admin,
            image["id"],
            [{"op": "replace", "path": "/visibility", "value": visibility}],
            owner.token,
        )
        assert r.status_code == 200 and r.json()["visibility"] == visibility
    r = await patch(
        admin, image["id"], [{"op": "replace", "path": "/visibility", "value": "public"}]
    )
    assert r.status_code == 200 and r.json()["visibility"] == "public"
    public = await create_image(admin, visibility="public")
    assert public["visibility"] == "public"


async def test_public_images_are_listed_for_everyone(
    admin: httpx.AsyncClient, stranger: Project
) -> None:
    public = await active_image(admin, b"for all", visibility="public")
    assert public["id"] in await list_ids(admin, stranger.token)
    r = await admin.get(f"{V2}/images/{public['id']}/file", headers=stranger.headers)
    assert r.content == b"for all"
    r = await patch(
        admin, public["id"], [{"op": "replace", "path": "/name", "value": "x"}], stranger.token
    )
    assert_glance_fault(r, 403)
    assert_glance_fault(
        await admin.delete(f"{V2}/images/{public['id']}", headers=stranger.headers), 403
    )


async def test_community_images_are_listed_only_when_asked_for(
    admin: httpx.AsyncClient, owner: Project, stranger: Project
) -> None:
    image = await active_image(admin, b"community", owner.token, visibility="community")
    assert image["id"] in await list_ids(admin, owner.token)
    assert image["id"] not in await list_ids(admin, stranger.token)
    assert await list_ids(admin, stranger.token, visibility="community") == [image["id"]]
    assert image["id"] in await list_ids(admin, stranger.token, visibility="all")
    assert (await show_image(admin, image["id"], stranger.token))["visibility"] == "community"
    r = await admin.get(f"{V2}/images/{image['id']}/file", headers=stranger.headers)
    assert r.content == b"community"
    r = await patch(
        admin, image["id"], [{"op": "replace", "path": "/name", "value": "x"}], stranger.token
    )
    assert_glance_fault(r, 403)


async def test_private_images_are_404_to_other_projects_on_every_route(
    admin: httpx.AsyncClient, owner: Project, stranger: Project
) -> None:
    image = await active_image(admin, b"private", owner.token, visibility="private")
    staged = await create_image(admin, owner.token, visibility="private")
    url = f"{V2}/images/{image['id']}"
    h = stranger.headers
    jp = {"Content-Type": "application/openstack-images-v2.1-json-patch", **h}
    attempts = [
        await admin.get(url, headers=h),
        await admin.get(f"{url}/file", headers=h),
        await admin.get(f"{url}/file", headers={"Range": "bytes=0-1", **h}),
        await admin.patch(
            url, content=b'[{"op":"replace","path":"/name","value":"x"}]', headers=jp
        ),
        await admin.delete(url, headers=h),
        await admin.get(f"{url}/members", headers=h),
        await admin.post(f"{url}/members", json={"member": stranger.id}, headers=h),
        await admin.get(f"{url}/members/{stranger.id}", headers=h),
        await admin.put(f"{url}/members/{stranger.id}", json={"status": "accepted"}, headers=h),
        await admin.delete(f"{url}/members/{owner.id}", headers=h),
        await admin.put(f"{url}/tags/x", headers=h),
        await admin.delete(f"{url}/tags/x", headers=h),
        await admin.post(f"{url}/actions/deactivate", headers=h),
        await admin.post(f"{url}/actions/reactivate", headers=h),
        await admin.get(f"{url}/tasks", headers=h),
        await put_data(admin, staged["id"], b"x", stranger.token),
        await put_data(admin, staged["id"], b"x", stranger.token, what="stage"),
        await admin.post(
            f"{V2}/images/{staged['id']}/import",
            json={"method": {"name": "glance-direct"}},
            headers=h,
        ),
    ]
    for r in attempts:
        assert r.status_code == 404, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
        assert_glance_fault(r, 404)
    assert image["id"] not in await list_ids(admin, stranger.token, visibility="all")
    assert image["id"] not in await list_ids(admin, stranger.token, visibility="private")
    got = await show_image(admin, image["id"], owner.token)
    assert got["name"] == image["name"] and got["status"] == "active"
    assert (await show_image(admin, staged["id"], owner.token))["status"] == "queued"


async def test_reader_may_look_but_not_touch(admin: httpx.AsyncClient, owner: Project) -> None:
    image = await active_image(admin, b"read only", owner.token, tags=["t"])
    _, _, reader_token = await project_member(admin, "reader", owner.id)
    h = {"X-Auth-Token": reader_token}
    assert image["id"] in await list_ids(admin, reader_token)
    assert (await show_image(admin, image["id"], reader_token))["id"] == image["id"]
    r = await admin.get(f"{V2}/images/{image['id']}/file", headers=h)
    assert r.status_code == 200 and r.content == b"read only"
    assert_glance_fault(await admin.post(f"{V2}/images", json={"name": "no"}, headers=h), 403)
    r = await patch(
        admin, image["id"], [{"op": "replace", "path": "/name", "value": "no"}], reader_token
    )
    assert_glance_fault(r, 403)
    assert_glance_fault(await admin.delete(f"{V2}/images/{image['id']}", headers=h), 403)
    assert_glance_fault(await admin.put(f"{V2}/images/{image['id']}/tags/x", headers=h), 403)
    assert_glance_fault(await admin.delete(f"{V2}/images/{image['id']}/tags/t", headers=h), 403)
    assert_glance_fault(
        await admin.post(f"{V2}/images/{image['id']}/actions/deactivate", headers=h), 403
    )
    got = await show_image(admin, image["id"], owner.token)
    assert got["name"] == image["name"] and got["tags"] == ["t"] and got["status"] == "active"


async def test_owner_changes_need_admin(
    admin: httpx.AsyncClient, owner: Project, consumer: Project
) -> None:
    r = await admin.post(f"{V2}/images", json={"owner": consumer.id}, headers=owner.headers)
    assert_glance_fault(r, 403)
    # Naming your own project as owner is fine.
    mine = await create_image(admin, owner.token, owner=owner.id)
    assert mine["owner"] == owner.id
    r = await patch(
        admin, mine["id"], [{"op": "replace", "path": "/owner", "value": consumer.id}], owner.token
    )
    assert_glance_fault(r, 403)
    assert (await show_image(admin, mine["id"]))["owner"] == owner.id

    given = await create_image(admin, owner=consumer.id, visibility="private")
    assert given["owner"] == consumer.id
    assert given["id"] in await list_ids(admin, consumer.token)
    r = await patch(admin, mine["id"], [{"op": "replace", "path": "/owner", "value": consumer.id}])
    assert r.status_code == 200 and r.json()["owner"] == consumer.id
    r = await patch(
        admin,
        mine["id"],
        [{"op": "replace", "path": "/name", "value": "now theirs"}],
        consumer.token,
    )
    assert r.status_code == 200, r.text
    assert mine["id"] not in await list_ids(admin, owner.token)
