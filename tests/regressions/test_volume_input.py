"""Inputs that once made the volume API answer 500.

Each test is named after what it guards: what Cinder's schemas and list
parameters refuse is the client's mistake (400, in Cinder's fault format), on
SQLite as on PostgreSQL. tests/functional/test_volume_fuzz.py offers the fuzzer
values of these kinds too.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from stackling.settings import Settings
from tests.conftest import make_settings
from tests.functional.volume.support import V3, assert_fault, create_volume

# Strings str.isdigit() takes for digits (after a '-', once stripped) that int() cannot read,
# and more digits than int() reads.
NOT_INTEGERS = ("²", "١٢³", "--1", "-²", "9" * 5000)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A cloud serving identity and volume, with the in-memory backend."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "volume"],
        volume={"backend": "fake"},
    )


async def test_sizes_that_only_look_like_digits_are_400(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    for value in NOT_INTEGERS:
        r = await admin.post(f"{V3}/volumes", json={"volume": {"size": value}})
        assert_fault(r, 400, "badRequest")
        body = {"os-extend": {"new_size": value}}
        r = await admin.post(f"{V3}/volumes/{vol['id']}/action", json=body)
        assert_fault(r, 400, "badRequest")
    r = await admin.post(f"{V3}/volumes", json={"volume": {"size": " 2 "}})
    assert r.status_code == 202, r.text
    assert r.json()["volume"]["size"] == 2


async def test_quota_limits_that_only_look_like_digits_are_400(
    admin: httpx.AsyncClient,
) -> None:
    token = admin.headers["X-Auth-Token"]
    r = await admin.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": token})
    project = r.json()["token"]["project"]["id"]
    for value in NOT_INTEGERS:
        r = await admin.put(f"{V3}/os-quota-sets/{project}", json={"quota_set": {"volumes": value}})
        assert_fault(r, 400, "badRequest")
        body = {"quota_class_set": {"snapshots": value}}
        r = await admin.put(f"{V3}/os-quota-class-sets/default", json=body)
        assert_fault(r, 400, "badRequest")
    r = await admin.put(f"{V3}/os-quota-sets/{project}", json={"quota_set": {"volumes": "-1"}})
    assert r.status_code == 200, r.text
    assert r.json()["quota_set"]["volumes"] == -1


async def test_metadata_filters_python_cannot_read_are_400(admin: httpx.AsyncClient) -> None:
    for value in ("{[1]: 2}", "{{}}", "{" * 300 + "}" * 300, "[" * 10_000):
        for path in ("volumes", "volumes/detail", "snapshots/detail"):
            r = await admin.get(f"{V3}/{path}", params={"metadata": value})
            assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{V3}/volumes", params={"metadata": "{'k': 'v'}"})
    assert r.status_code == 200, r.text


async def test_offsets_and_sizes_beyond_the_column_range_are_400(
    admin: httpx.AsyncClient,
) -> None:
    await create_volume(admin)
    for value in (2**31, 2**63, 10**30):
        for params in ({"offset": value}, {"size": value}):
            for path in ("volumes", "volumes/detail"):
                r = await admin.get(f"{V3}/{path}", params=params)
                assert_fault(r, 400, "badRequest")
        r = await admin.get(f"{V3}/snapshots", params={"offset": value})
        assert_fault(r, 400, "badRequest")
        r = await admin.get(f"{V3}/backups", params={"offset": value})
        assert_fault(r, 400, "badRequest")
    # A limit is only ever cut down to the largest page, as Cinder does.
    r = await admin.get(f"{V3}/volumes", params={"limit": 10**30, "offset": 2**31 - 1})
    assert r.status_code == 200, r.text
    assert r.json()["volumes"] == []


async def test_pages_sorted_by_bootable_continue_after_the_marker(
    admin: httpx.AsyncClient,
) -> None:
    ids = [(await create_volume(admin, name=f"v{i}"))["id"] for i in range(3)]
    body = {"os-set_bootable": {"bootable": True}}
    r = await admin.post(f"{V3}/volumes/{ids[1]}/action", json=body)
    assert r.status_code == 200, r.text
    for sort in ("bootable:asc", "bootable:desc,name:asc"):
        seen: list[str] = []
        params = {"sort": sort, "limit": 1}
        while True:
            r = await admin.get(f"{V3}/volumes", params=params)
            assert r.status_code == 200, r.text
            page = [v["id"] for v in r.json()["volumes"]]
            if not page:
                break
            seen += page
            params["marker"] = page[-1]
        assert sorted(seen) == sorted(ids), (sort, seen)
        assert (seen[-1] if sort == "bootable:asc" else seen[0]) == ids[1], (sort, seen)
