"""The image records API as Glance v2 defines it: create, show, list, patch, delete, discovery.

Proves that every standard attribute round-trips, that every list filter,
sort and marker page answers what Glance answers (pages walked through their
`next` links lose and repeat nothing, even sorted by a key with NULLs), that
JSON-patch in both media-type dialects changes exactly what it says and
refuses what Glance refuses, and that errors come in Glance's fault format.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from tests.support.image import (
    PATCH_TYPE,
    PATCH_V20_TYPE,
    V2,
    active_image,
    assert_glance_fault,
    create_image,
    list_ids,
    other_project,
    patch,
    show_image,
)

STANDARD = {
    "name": "cirros-0.6",
    "disk_format": "qcow2",
    "container_format": "bare",
    "visibility": "private",
    "min_disk": 1,
    "min_ram": 128,
    "protected": False,
    "os_hidden": False,
}
CORE_KEYS = {
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "owner",
    "size",
    "virtual_size",
    "min_ram",
    "min_disk",
    "disk_format",
    "container_format",
    "created_at",
    "updated_at",
    "tags",
    "self",
    "file",
    "schema",
}


async def _admin_project(c: httpx.AsyncClient) -> str:
    r = await c.get(
        "/identity/v3/auth/tokens", headers={"X-Subject-Token": c.headers["X-Auth-Token"]}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"]["project"]["id"])


def _parse_time(value: str) -> dt.datetime:
    assert value.endswith("Z"), value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- create and show ---------------------------------------------------------------------------


async def test_create_with_every_standard_attribute_then_show(admin: httpx.AsyncClient) -> None:
    body = {**STANDARD, "tags": ["a", "b"], "os_distro": "cirros", "hw_disk_bus": "virtio"}
    r = await admin.post(f"{V2}/images", json=body)
    assert r.status_code == 201, r.text
    image = r.json()
    assert r.headers["location"].endswith(f"/image/v2/images/{image['id']}")
    methods = r.headers["openstack-image-import-methods"].split(",")
    assert set(methods) == {"glance-direct", "copy-image"}
    assert r.headers["openstack-image-store-ids"] == "file"
    assert set(image) >= CORE_KEYS, set(image) ^ CORE_KEYS
    for key, value in STANDARD.items():
        assert image[key] == value, key
    assert image["status"] == "queued"
    assert sorted(image["tags"]) == ["a", "b"]
    assert image["os_distro"] == "cirros" and image["hw_disk_bus"] == "virtio"
    assert image["owner"] == await _admin_project(admin)
    for unset in ("size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value"):
        assert image[unset] is None, unset
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert str(uuid.UUID(image["id"])) == image["id"]
    created = _parse_time(image["created_at"])
    assert _parse_time(image["updated_at"]) == created
    assert "stores" not in image and "locations" not in image
    assert await show_image(admin, image["id"]) == image


async def test_create_defaults(admin: httpx.AsyncClient) -> None:
    r = await admin.post(f"{V2}/images", json={})
    assert r.status_code == 201, r.text
    image = r.json()
    assert image["name"] is None
    assert image["visibility"] == "shared"
    assert image["disk_format"] is None and image["container_format"] is None
    assert (image["min_disk"], image["min_ram"]) == (0, 0)
    assert image["protected"] is False and image["os_hidden"] is False
    assert image["tags"] == []


async def test_create_with_chosen_id_and_duplicate_is_409(admin: httpx.AsyncClient) -> None:
    chosen = str(uuid.uuid4())
    image = await create_image(admin, id=chosen, name="mine")
    assert image["id"] == chosen
    assert (await show_image(admin, chosen))["name"] == "mine"
    r = await admin.post(f"{V2}/images", json={"id": chosen, "name": "again"})
    assert_glance_fault(r, 409)
    assert (await show_image(admin, chosen))["name"] == "mine"
    assert_glance_fault(await admin.post(f"{V2}/images", json={"id": "not-a-uuid"}), 400)


BAD_CREATE_BODIES: list[tuple[dict[str, Any], int]] = [
    ({"status": "active"}, 403),
    ({"size": 10}, 403),
    ({"checksum": "x"}, 403),
    ({"os_hash_value": "x"}, 403),
    ({"created_at": "2020-01-01T00:00:00Z"}, 403),
    ({"locations": []}, 403),
    ({"os_glance_import_task": "x"}, 403),
    ({"disk_format": "floppy"}, 400),
    ({"container_format": "zip"}, 400),
    ({"visibility": "everyone"}, 400),
    ({"min_ram": -1}, 400),
    ({"min_disk": "1"}, 400),
    ({"protected": "yes"}, 400),
    ({"name": "x" * 256}, 400),
    ({"tags": "not-a-list"}, 400),
    ({"tags": ["x" * 256]}, 400),
    ({"custom": 5}, 400),
    ({"kernel_id": "not-a-uuid"}, 400),
]


async def test_create_refuses_bad_attributes(admin: httpx.AsyncClient) -> None:
    for body, status in BAD_CREATE_BODIES:
        r = await admin.post(f"{V2}/images", json={"name": "refused", **body})
        assert r.status_code == status, f"{body}: {r.status_code} {r.text}"
        assert_glance_fault(r, status)
    assert await list_ids(admin) == []


async def test_create_body_must_be_a_json_object(admin: httpx.AsyncClient) -> None:
    assert_glance_fault(await admin.post(f"{V2}/images", json=[{"name": "x"}]), 400)
    r = await admin.post(
        f"{V2}/images", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_glance_fault(r, 400)
    r = await admin.post(f"{V2}/images", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert_glance_fault(r, 415)
    assert await list_ids(admin) == []


async def test_show_unknown_and_empty_id_is_404_in_glance_fault_format(
    admin: httpx.AsyncClient,
) -> None:
    fault = assert_glance_fault(await admin.get(f"{V2}/images/{uuid.uuid4()}"), 404)
    assert fault["code"] == "404 Not Found" and fault["title"] == "Not Found"
    assert_glance_fault(await admin.get(f"{V2}/images/"), 404)
    assert_glance_fault(await admin.delete(f"{V2}/images/"), 404)


async def test_requests_without_a_token_are_401(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{V2}/images")
    assert_glance_fault(r, 401)
    assert_glance_fault(await client.post(f"{V2}/images", json={}), 401)


# -- list filters ------------------------------------------------------------------------------


@pytest.fixture
async def catalogue(admin: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """A handful of images with distinct attributes, by short name."""
    project, token = await other_project(admin)
    images = {
        "alpha": await active_image(
            admin,
            b"a" * 100,
            name="alpha",
            disk_format="raw",
            tags=["linux", "small"],
            os_distro="debian",
        ),
        "beta": await active_image(
            admin,
            b"b" * 1000,
            name="beta",
            disk_format="ami",
            container_format="ami",
            visibility="public",
            tags=["linux"],
            os_distro="fedora",
        ),
        "gamma": await create_image(
            admin,
            name="gamma",
            disk_format="qcow2",
            container_format="ovf",
            visibility="private",
            os_hidden=True,
        ),
        "delta": await create_image(
            admin, token, name="delta", visibility="private", tags=["small"]
        ),
        "epsilon": await create_image(
            admin, name="epsilon", visibility="community", os_distro="debian"
        ),
    }
    images["delta"]["_project"] = project
    return images


async def _names(admin: httpx.AsyncClient, **params: Any) -> set[str]:
    r = await admin.get(f"{V2}/images", params={"limit": 1000, **params})
    assert r.status_code == 200, f"{params}: {r.text}"
    return {i["name"] for i in r.json()["images"]}


async def test_default_list_hides_os_hidden_and_filters_by_equality(
    admin: httpx.AsyncClient, catalogue: dict[str, dict[str, Any]]
) -> None:
    assert await _names(admin) == {"alpha", "beta", "delta", "epsilon"}
    assert await _names(admin, os_hidden="true") == {"gamma"}
    assert await _names(admin, os_hidden="false") == {"alpha", "beta", "delta", "epsilon"}
    assert await _names(admin, name="beta") == {"beta"}
    assert await _names(admin, name="nothing") == set()
    assert await _names(admin, status="active") == {"alpha", "beta"}
    assert await _names(admin, status="queued") == {"delta", "epsilon"}
    assert await _names(admin, visibility="public") == {"beta"}
    assert await _names(admin, visibility="private") == {"delta"}
    assert await _names(admin, visibility="community") == {"epsilon"}
    assert await _names(admin, owner=catalogue["delta"]["_project"]) == {"delta"}
    assert await _names(admin, disk_format="ami") == {"beta"}
    assert await _names(admin, container_format="bare") == {"alpha", "delta", "epsilon"}
    assert await _names(admin, container_format="ovf", os_hidden="true") == {"gamma"}
    assert await _names(admin, os_distro="debian") == {"alpha", "epsilon"}
    assert await _names(admin, os_distro="debian", name="alpha") == {"alpha"}
    assert await _names(admin, protected="false") == {"alpha", "beta", "delta", "epsilon"}
    assert await _names(admin, id=catalogue["beta"]["id"]) == {"beta"}
    assert await _names(admin, checksum=catalogue["alpha"]["checksum"]) == {"alpha"}


async def test_in_lists(admin: httpx.AsyncClient, catalogue: dict[str, dict[str, Any]]) -> None:
    assert await _names(admin, name="in:alpha,beta,nothing") == {"alpha", "beta"}
    assert await _names(admin, name='in:"alpha","delta"') == {"alpha", "delta"}
    assert await _names(admin, status="in:active,queued") == {"alpha", "beta", "delta", "epsilon"}
    assert await _names(admin, disk_format="in:ami,raw") == {"alpha", "beta", "delta", "epsilon"}
    ids = f"in:{catalogue['alpha']['id']},{catalogue['epsilon']['id']}"
    assert await _names(admin, id=ids) == {"alpha", "epsilon"}


async def test_repeated_tag_filters_are_all_required(
    admin: httpx.AsyncClient, catalogue: dict[str, dict[str, Any]]
) -> None:
    assert await _names(admin, tag="linux") == {"alpha", "beta"}
    assert await _names(admin, tag="small") == {"alpha", "delta"}
    r = await admin.get(f"{V2}/images", params=[("tag", "linux"), ("tag", "small")])
    assert {i["name"] for i in r.json()["images"]} == {"alpha"}
    r = await admin.get(f"{V2}/images", params=[("tag", "linux"), ("tag", "absent")])
    assert r.json()["images"] == []


async def test_size_filters(admin: httpx.AsyncClient, catalogue: dict[str, dict[str, Any]]) -> None:
    assert await _names(admin, size_min=100) == {"alpha", "beta"}
    assert await _names(admin, size_min=101) == {"beta"}
    assert await _names(admin, size_max=100) == {"alpha"}
    assert await _names(admin, size_max=99) == set()
    assert await _names(admin, size_min=100, size_max=1000) == {"alpha", "beta"}
    assert await _names(admin, size_min=500, size_max=1000) == {"beta"}
    for bad in ("-1", "ten"):
        assert_glance_fault(await admin.get(f"{V2}/images", params={"size_min": bad}), 400)


async def test_time_filters(admin: httpx.AsyncClient, catalogue: dict[str, dict[str, Any]]) -> None:
    everyone = {"alpha", "beta", "delta", "epsilon"}
    now = dt.datetime.now(dt.UTC)
    past, future = _iso(now - dt.timedelta(hours=1)), _iso(now + dt.timedelta(hours=1))
    for key in ("created_at", "updated_at"):
        assert await _names(admin, **{key: f"gt:{past}"}) == everyone
        assert await _names(admin, **{key: f"gt:{future}"}) == set()
        assert await _names(admin, **{key: f"lte:{future}"}) == everyone
        assert await _names(admin, **{key: f"lte:{past}"}) == set()
        assert await _names(admin, **{key: f"gte:{past}"}) == everyone
        assert await _names(admin, **{key: f"lt:{past}"}) == set()
    alpha = catalogue["alpha"]
    at = alpha["created_at"]
    assert "alpha" in await _names(admin, created_at=f"lte:{at}")
    assert "alpha" not in await _names(admin, created_at=f"gt:{at}")
    assert "alpha" in await _names(admin, created_at=f"eq:{at}")
    assert "alpha" not in await _names(admin, created_at=f"neq:{at}")
    later = _iso(_parse_time(at) + dt.timedelta(seconds=1))
    assert "alpha" not in await _names(admin, created_at=f"gte:{later}")
    assert_glance_fault(await admin.get(f"{V2}/images", params={"created_at": "gt:yesterday"}), 400)


async def test_member_status_and_shared_visibility(
    admin: httpx.AsyncClient, catalogue: dict[str, dict[str, Any]]
) -> None:
    project, token = await other_project(admin)
    shared = await create_image(admin, name="for-member", visibility="shared")
    r = await admin.post(f"{V2}/images/{shared['id']}/members", json={"member": project})
    assert r.status_code == 200, r.text
    member = {"X-Auth-Token": token}

    async def names(**params: Any) -> set[str]:
        r = await admin.get(f"{V2}/images", params={"limit": 1000, **params}, headers=member)
        assert r.status_code == 200, r.text
        return {i["name"] for i in r.json()["images"]}

    assert await names() == {"beta"}
    assert await names(visibility="shared") == set()
    assert await names(visibility="shared", member_status="pending") == {"for-member"}
    assert await names(member_status="all", visibility="shared") == {"for-member"}
    assert await names(visibility="community") == {"epsilon"}
    r = await admin.put(
        f"{V2}/images/{shared['id']}/members/{project}", json={"status": "accepted"}, headers=member
    )
    assert r.status_code == 200, r.text
    assert await names() == {"beta", "for-member"}
    assert await names(visibility="shared") == {"for-member"}
    assert await names(visibility="shared", member_status="pending") == set()


BAD_LIST_PARAMS: list[dict[str, Any]] = [
    {"status": "sleeping"},
    {"visibility": "everyone"},
    {"member_status": "maybe"},
    {"os_hidden": "perhaps"},
    {"limit": "-1"},
    {"limit": "many"},
    {"sort_key": "colour"},
    {"sort_key": "name", "sort_dir": "sideways"},
    {"sort": "name:up"},
    {"sort": "colour:asc"},
    {"sort": "name", "sort_key": "name"},
    {"sort_key": "name,size", "sort_dir": ["asc", "desc", "asc"]},
    {"marker": str(uuid.uuid4())},
    {"marker": "not-even-a-uuid"},
    {"created_at": "lt:never"},
]


async def test_invalid_list_parameters_are_400(admin: httpx.AsyncClient) -> None:
    await create_image(admin, name="x")
    for params in BAD_LIST_PARAMS:
        r = await admin.get(f"{V2}/images", params=params)
        assert r.status_code == 400, f"{params}: {r.status_code} {r.text}"
        assert_glance_fault(r, 400)


async def test_marker_of_an_invisible_image_is_400(admin: httpx.AsyncClient) -> None:
    hidden = await create_image(admin, name="secret", visibility="private")
    _, token = await other_project(admin)
    r = await admin.get(
        f"{V2}/images", params={"marker": hidden["id"]}, headers={"X-Auth-Token": token}
    )
    assert_glance_fault(r, 400)


# -- sorting and pagination ---------------------------------------------------------------------


@pytest.fixture
async def sortable(admin: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Images with repeated and missing names and sizes (NULLs in both keys)."""
    out = []
    for i, name in enumerate(["m", None, "a", "z", None, "m", "b", None, "a"]):
        attrs: dict[str, Any] = {"min_ram": i % 3}
        if name is not None:
            attrs["name"] = name
        if i % 3 == 0:
            out.append(await active_image(admin, b"x" * (10 + (i % 2) * 5), **attrs))
        else:
            out.append(await create_image(admin, **attrs))
    return out


async def _walk(admin: httpx.AsyncClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every image of a listing, page by page through `next`, checking the page sizes."""
    limit = int(params["limit"])
    r = await admin.get(f"{V2}/images", params=params)
    assert r.status_code == 200, r.text
    seen: list[dict[str, Any]] = []
    for _ in range(100):
        page = r.json()
        assert page["first"] == "/v2/images" and page["schema"] == "/v2/schemas/images"
        assert len(page["images"]) <= limit
        seen.extend(page["images"])
        if "next" not in page:
            return seen
        assert page["next"].startswith("/v2/images?")
        assert len(page["images"]) == limit
        r = await admin.get(f"/image{page['next']}")
        assert r.status_code == 200, r.text
    raise AssertionError("pagination did not end")


def _check_order(images: list[dict[str, Any]], key: str, direction: str) -> None:
    """Values of `key` ordered as asked, NULLs all together at one end."""
    values = [i[key] for i in images]
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=direction == "desc"), values
    nulls = [i for i, v in enumerate(values) if v is None]
    if nulls:
        contiguous = nulls == list(range(nulls[0], nulls[0] + len(nulls)))
        at_an_end = nulls[0] == 0 or nulls[-1] == len(values) - 1
        assert contiguous and at_an_end, values


@pytest.mark.parametrize(
    ("params", "key", "direction"),
    [
        ({"sort_key": "name", "sort_dir": "asc"}, "name", "asc"),
        ({"sort_key": "name", "sort_dir": "desc"}, "name", "desc"),
        ({"sort_key": "size", "sort_dir": "asc"}, "size", "asc"),
        ({"sort_key": "size"}, "size", "desc"),
        ({"sort": "name:asc,size:desc"}, "name", "asc"),
        ({"sort": "size:asc,name"}, "size", "asc"),
        ({"sort_key": "min_ram", "sort_dir": "asc"}, "min_ram", "asc"),
        ({}, "created_at", "desc"),
        ({"sort_key": ["name", "size"], "sort_dir": ["desc", "asc"]}, "name", "desc"),
    ],
)
async def test_pages_walked_through_next_links_have_no_gaps_or_duplicates(
    admin: httpx.AsyncClient,
    sortable: list[dict[str, Any]],
    params: dict[str, Any],
    key: str,
    direction: str,
) -> None:
    full = await _walk(admin, {**params, "limit": 1000})
    assert len(full) == len(sortable)
    _check_order(full, key, direction)
    for limit in (1, 2, 4):
        walked = await _walk(admin, {**params, "limit": limit})
        ids = [i["id"] for i in walked]
        assert len(ids) == len(set(ids)), f"limit {limit}: a page repeated an image"
        assert ids == [i["id"] for i in full], f"limit {limit}: paging skipped or reordered"
        assert set(ids) == {i["id"] for i in sortable}


async def test_secondary_sort_keys_order_ties(
    admin: httpx.AsyncClient, sortable: list[dict[str, Any]]
) -> None:
    full = await _walk(admin, {"sort": "name:asc,min_ram:desc", "limit": 1000})
    pairs = [(i["name"] or "", -i["min_ram"]) for i in full]
    assert pairs == sorted(pairs)
    full = await _walk(
        admin, {"sort_key": ["min_ram", "name"], "sort_dir": ["desc", "asc"], "limit": 1000}
    )
    pairs = [(-i["min_ram"], i["name"] or "") for i in full]
    assert pairs == sorted(pairs)


async def test_limit_is_capped_and_default_applies(admin: httpx.AsyncClient) -> None:
    for _ in range(3):
        await create_image(admin)
    r = await admin.get(f"{V2}/images", params={"limit": 0})
    assert r.status_code == 200
    assert len(r.json()["images"]) == 0
    r = await admin.get(f"{V2}/images", params={"limit": 2})
    assert len(r.json()["images"]) == 2 and "next" in r.json()
    r = await admin.get(f"{V2}/images", params={"limit": 3})
    assert len(r.json()["images"]) == 3
    r = await admin.get(f"{V2}/images")
    assert len(r.json()["images"]) == 3 and "next" not in r.json()


# -- JSON-patch --------------------------------------------------------------------------------


async def test_patch_v21_adds_replaces_and_removes(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin, name="before", os_distro="cirros", tags=["t1"])
    r = await patch(
        admin,
        image["id"],
        [
            {"op": "replace", "path": "/name", "value": "after"},
            {"op": "replace", "path": "/min_ram", "value": 512},
            {"op": "replace", "path": "/visibility", "value": "private"},
            {"op": "replace", "path": "/protected", "value": True},
            {"op": "replace", "path": "/os_hidden", "value": True},
            {"op": "replace", "path": "/disk_format", "value": "qcow2"},
            {"op": "replace", "path": "/tags", "value": ["x", "y", "x"]},
            {"op": "add", "path": "/hw_disk_bus", "value": "scsi"},
            {"op": "add", "path": "/os_distro", "value": "debian"},
            {"op": "replace", "path": "/hw_disk_bus", "value": "virtio"},
            {"op": "add", "path": "/a~1b", "value": "slash"},
            {"op": "add", "path": "/min_disk", "value": 3},
        ],
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["name"] == "after" and got["min_ram"] == 512 and got["min_disk"] == 3
    assert got["visibility"] == "private" and got["protected"] is True
    assert got["os_hidden"] is True and got["disk_format"] == "qcow2"
    assert sorted(got["tags"]) == ["x", "y"]
    assert got["hw_disk_bus"] == "virtio" and got["os_distro"] == "debian"
    assert got["a/b"] == "slash"
    assert _parse_time(got["updated_at"]) >= _parse_time(got["created_at"])
    assert await show_image(admin, image["id"]) == got

    r = await patch(admin, image["id"], [{"op": "remove", "path": "/hw_disk_bus"}])
    assert r.status_code == 200, r.text
    assert "hw_disk_bus" not in r.json()
    assert "hw_disk_bus" not in await show_image(admin, image["id"])


async def test_patch_v20_dialect(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin, name="old", color="red")
    r = await patch(
        admin,
        image["id"],
        [
            {"replace": "/name", "value": "new"},
            {"add": "/flavour", "value": "vanilla"},
            {"remove": "/color"},
        ],
        content_type=PATCH_V20_TYPE,
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["name"] == "new" and got["flavour"] == "vanilla" and "color" not in got
    r = await patch(
        admin,
        image["id"],
        [{"replace": "/name", "add": "/x", "value": "v"}],
        content_type=PATCH_V20_TYPE,
    )
    assert_glance_fault(r, 400)


async def test_patch_is_all_or_nothing(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin, name="keep")
    r = await patch(
        admin,
        image["id"],
        [
            {"op": "replace", "path": "/name", "value": "changed"},
            {"op": "add", "path": "/prop", "value": "v"},
            {"op": "replace", "path": "/missing", "value": "v"},
        ],
    )
    assert_glance_fault(r, 409)
    after = await show_image(admin, image["id"])
    assert after["name"] == "keep" and "prop" not in after
    assert after["updated_at"] == image["updated_at"]


BAD_PATCHES: list[tuple[Any, int]] = [
    ([{"op": "replace", "path": "/status", "value": "active"}], 403),
    ([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], 403),
    ([{"op": "replace", "path": "/size", "value": 1}], 403),
    ([{"op": "add", "path": "/checksum", "value": "abc"}], 403),
    ([{"op": "replace", "path": "/created_at", "value": "2020-01-01T00:00:00Z"}], 403),
    ([{"op": "add", "path": "/os_glance_import_task", "value": "x"}], 403),
    ([{"op": "add", "path": "/os_glance_anything", "value": "x"}], 403),
    ([{"op": "remove", "path": "/name"}], 403),
    ([{"op": "remove", "path": "/tags"}], 403),
    ([{"op": "replace", "path": "/missing", "value": "x"}], 409),
    ([{"op": "remove", "path": "/missing"}], 409),
    ([{"op": "replace", "path": "name", "value": "x"}], 400),
    ([{"op": "replace", "path": "/", "value": "x"}], 400),
    ([{"op": "replace", "path": "/a/b", "value": "x"}], 400),
    ([{"op": "replace", "path": "/a~2", "value": "x"}], 400),
    ([{"op": "move", "path": "/name", "value": "x"}], 400),
    ([{"op": "replace", "path": "/name"}], 400),
    ([{"path": "/name", "value": "x"}], 400),
    ([{"op": "replace", "path": "/min_ram", "value": -5}], 400),
    ([{"op": "replace", "path": "/min_ram", "value": "5"}], 400),
    ([{"op": "replace", "path": "/visibility", "value": "hidden"}], 400),
    ([{"op": "replace", "path": "/disk_format", "value": "floppy"}], 400),
    ([{"op": "add", "path": "/prop", "value": 5}], 400),
    ([{"op": "replace", "path": "/tags", "value": ["x" * 256]}], 400),
    ({"op": "replace", "path": "/name", "value": "x"}, 400),
    (["not an object"], 400),
]


async def test_patch_refusals(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin, name="unchanged")
    for ops, status in BAD_PATCHES:
        r = await patch(admin, image["id"], ops)
        assert r.status_code == status, f"{ops}: {r.status_code} {r.text}"
        assert_glance_fault(r, status)
    assert await show_image(admin, image["id"]) == image


async def test_patch_needs_a_json_patch_media_type(admin: httpx.AsyncClient) -> None:
    image = await create_image(admin, name="unchanged")
    ops = [{"op": "replace", "path": "/name", "value": "x"}]
    for ctype in ("application/json", "application/json-patch+json", "text/plain"):
        assert_glance_fault(await patch(admin, image["id"], ops, content_type=ctype), 415)
    r = await admin.patch(
        f"{V2}/images/{image['id']}", content=b"[not json", headers={"Content-Type": PATCH_TYPE}
    )
    assert_glance_fault(r, 400)
    assert (await show_image(admin, image["id"]))["name"] == "unchanged"


async def test_patch_formats_of_an_active_image_are_frozen(admin: httpx.AsyncClient) -> None:
    image = await active_image(admin, b"data")
    r = await patch(
        admin, image["id"], [{"op": "replace", "path": "/disk_format", "value": "qcow2"}]
    )
    assert_glance_fault(r, 403)
    # Setting the same value is not a change.
    r = await patch(admin, image["id"], [{"op": "replace", "path": "/disk_format", "value": "raw"}])
    assert r.status_code == 200, r.text


async def test_patch_unknown_image_is_404(admin: httpx.AsyncClient) -> None:
    r = await patch(admin, str(uuid.uuid4()), [{"op": "replace", "path": "/name", "value": "x"}])
    assert_glance_fault(r, 404)


# -- delete, protection, (de)activation ---------------------------------------------------------


async def test_protected_image_cannot_be_deleted_until_unprotected(
    admin: httpx.AsyncClient,
) -> None:
    image = await create_image(admin, protected=True)
    assert_glance_fault(await admin.delete(f"{V2}/images/{image['id']}"), 403)
    assert (await show_image(admin, image["id"]))["status"] == "queued"
    r = await patch(admin, image["id"], [{"op": "replace", "path": "/protected", "value": False}])
    assert r.status_code == 200, r.text
    r = await admin.delete(f"{V2}/images/{image['id']}")
    assert r.status_code == 204, r.text
    assert_glance_fault(await admin.get(f"{V2}/images/{image['id']}"), 404)


async def test_delete_then_show_list_and_delete_again(admin: httpx.AsyncClient) -> None:
    image = await active_image(admin, b"bytes", tags=["t"], prop="v")
    r = await admin.delete(f"{V2}/images/{image['id']}")
    assert r.status_code == 204 and r.content == b""
    assert_glance_fault(await admin.get(f"{V2}/images/{image['id']}"), 404)
    assert_glance_fault(await admin.get(f"{V2}/images/{image['id']}/file"), 404)
    assert_glance_fault(await admin.delete(f"{V2}/images/{image['id']}"), 404)
    assert image["id"] not in await list_ids(admin)
    # As in Glance, a deleted image's id is never handed out again (OSSN-0075).
    assert_glance_fault(await admin.post(f"{V2}/images", json={"id": image["id"]}), 409)
    assert_glance_fault(await admin.get(f"{V2}/images/{image['id']}"), 404)
    r = await admin.get(f"{V2}/images", params={"marker": image["id"]})
    assert_glance_fault(r, 400)
    r = await admin.get(f"{V2}/info/usage")
    assert r.json()["usage"]["image_count_total"]["usage"] == 0
    assert r.json()["usage"]["image_size_total"]["usage"] == 0


async def test_deactivate_and_reactivate(admin: httpx.AsyncClient) -> None:
    project, token = await other_project(admin)
    owner = {"X-Auth-Token": token}
    image = await active_image(admin, b"secret data", token)
    queued = await create_image(admin, token)
    r = await admin.post(f"{V2}/images/{queued['id']}/actions/deactivate", headers=owner)
    assert_glance_fault(r, 403)

    r = await admin.post(f"{V2}/images/{image['id']}/actions/deactivate", headers=owner)
    assert r.status_code == 204, r.text
    assert (await show_image(admin, image["id"]))["status"] == "deactivated"
    # Deactivating twice is a no-op, as in Glance.
    r = await admin.post(f"{V2}/images/{image['id']}/actions/deactivate", headers=owner)
    assert r.status_code == 204, r.text
    assert_glance_fault(await admin.get(f"{V2}/images/{image['id']}/file", headers=owner), 403)
    r = await admin.get(f"{V2}/images/{image['id']}/file")
    assert r.status_code == 200 and r.content == b"secret data"
    assert image["id"] in await list_ids(admin, token, status="deactivated")

    r = await admin.post(f"{V2}/images/{image['id']}/actions/reactivate", headers=owner)
    assert r.status_code == 204, r.text
    assert (await show_image(admin, image["id"]))["status"] == "active"
    r = await admin.get(f"{V2}/images/{image['id']}/file", headers=owner)
    assert r.status_code == 200 and r.content == b"secret data"
    assert_glance_fault(
        await admin.post(f"{V2}/images/{queued['id']}/actions/reactivate", headers=owner), 403
    )
    assert_glance_fault(
        await admin.post(f"{V2}/images/{uuid.uuid4()}/actions/deactivate", headers=owner), 404
    )
    assert project


# -- discovery and schemas ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/image", "/image/", "/image/v2", "/image/v2/"])
async def test_version_discovery_is_300_multiple_choices(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(path)
    assert r.status_code == 300, r.text
    versions = r.json()["versions"]
    ids = [v["id"] for v in versions]
    assert "v2.0" in ids and "v2.1" in ids
    current = [v for v in versions if v["status"] == "CURRENT"]
    assert len(current) == 1 and current[0]["id"] == ids[0]
    assert {v["status"] for v in versions} <= {"CURRENT", "SUPPORTED"}
    for v in versions:
        assert v["links"] == [{"rel": "self", "href": "http://testserver/image/v2/"}]


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("image", "image"),
        ("images", "images"),
        ("member", "member"),
        ("members", "members"),
        ("task", "task"),
        ("tasks", "tasks"),
    ],
)
async def test_schemas(admin: httpx.AsyncClient, name: str, title: str) -> None:
    r = await admin.get(f"{V2}/schemas/{name}")
    assert r.status_code == 200, r.text
    schema = r.json()
    assert schema["name"] == title
    assert isinstance(schema["properties"], dict) and schema["properties"]
    if name == "image":
        props = schema["properties"]
        for key in ("id", "name", "status", "visibility", "disk_format", "os_hash_value"):
            assert key in props, key
        assert set(props["disk_format"]["enum"]) >= {"raw", "qcow2", "iso", None}
        assert props["status"]["readOnly"] is True
    if name == "images":
        assert schema["properties"]["images"]["items"]["name"] == "image"
        assert {link["rel"] for link in schema["links"]} >= {"first", "next", "describedby"}
    if name == "members":
        assert schema["properties"]["members"]["items"]["name"] == "member"


async def test_unknown_schema_is_404(admin: httpx.AsyncClient) -> None:
    assert_glance_fault(await admin.get(f"{V2}/schemas/flavor"), 404)
