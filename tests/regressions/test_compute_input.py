"""Inputs that once made the compute API answer 500 (or hang the request).

Each test is named after what it guards: what Nova's schemas refuse is the
client's mistake (400), on SQLite as on PostgreSQL, and no request may hold the
cloud up for long. tests/functional/test_compute_fuzz.py offers the fuzzer values
of these kinds too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.identity import assert_fault
from tests.support.image import assert_glance_fault
from tests.support.servers import (
    V21,
    action,
    assert_nova_fault,
    boot,
    boot_image,
    create_server,
    mv,
    wait_status,
)

# Strings str.isdigit() takes for digits (after a '-', once stripped) that int() cannot read.
NOT_INTEGERS = ("²", "١٢³", "--1", "-²")


@pytest.fixture
async def image_id(admin: httpx.AsyncClient, tmp_path: Path) -> str:
    """A public bootable image."""
    return await boot_image(admin, tmp_path)


@pytest.fixture
async def server_id(admin: httpx.AsyncClient, image_id: str) -> str:
    """An ACTIVE server."""
    uuid = await boot(admin, image_id)
    await wait_status(admin, uuid, "ACTIVE")
    return uuid


async def test_counts_that_only_look_like_digits_are_400(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    for value in NOT_INTEGERS:
        for key in ("min_count", "max_count"):
            r = await create_server(admin, image_id, **{key: value})
            assert_nova_fault(r, 400, "badRequest")
    r = await create_server(admin, image_id, min_count="1", max_count="2")
    assert r.status_code == 202, r.text


async def test_integers_longer_than_int_reads_are_400(admin: httpx.AsyncClient) -> None:
    long = "9" * 5000
    body = {"flavor": {"name": "f", "ram": long, "vcpus": 1, "disk": 1}}
    assert_nova_fault(await admin.post(f"{V21}/flavors", json=body), 400, "badRequest")
    body = {"quota_class_set": {"cores": long}}
    r = await admin.put(f"{V21}/os-quota-class-sets/default", json=body)
    assert_nova_fault(r, 400, "badRequest")
    body = {"server_group": {"name": "g", "policy": "anti-affinity",
                             "rules": {"max_server_per_host": long}}}  # fmt: skip
    r = await admin.post(f"{V21}/os-server-groups", json=body, headers=mv("2.64"))
    assert_nova_fault(r, 400, "badRequest")
    body = {"flavor": {"name": "f", "ram": " 64 ", "vcpus": "1", "disk": 1.0}}
    assert (await admin.post(f"{V21}/flavors", json=body)).status_code == 200


async def test_a_huge_max_count_boots_what_the_quota_allows_at_once(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    async with asyncio.timeout(10):
        r = await create_server(admin, image_id, max_count=10**9, return_reservation_id=True)
        assert r.status_code == 202, r.text
        r = await create_server(admin, image_id, min_count=10**9, max_count=10**9)
        assert_nova_fault(r, 403, "forbidden")
    r = await admin.get(f"{V21}/servers")
    # The default quota: ten servers, and the flavor's RAM and cores fit ten of them.
    assert len(r.json()["servers"]) == 10


async def test_console_lengths_that_only_look_like_integers_are_400(
    admin: httpx.AsyncClient, server_id: str
) -> None:
    for value in NOT_INTEGERS:
        r = await action(admin, server_id, {"os-getConsoleOutput": {"length": value}})
        assert_nova_fault(r, 400, "badRequest")
    r = await action(admin, server_id, {"os-getConsoleOutput": {"length": "-1"}})
    assert r.status_code == 200, r.text


async def test_backup_rotations_that_only_look_like_integers_are_400(
    admin: httpx.AsyncClient, server_id: str
) -> None:
    for value in NOT_INTEGERS:
        body = {"createBackup": {"name": "b", "backup_type": "daily", "rotation": value}}
        assert_nova_fault(await action(admin, server_id, body), 400, "badRequest")


async def test_rebuild_descriptions_are_checked_like_create(
    admin: httpx.AsyncClient, server_id: str, image_id: str
) -> None:
    for description in ({"a": 1}, ["x"], 5, "x" * 256, "a\x00b"):
        body = {"rebuild": {"imageRef": image_id, "description": description}}
        r = await action(admin, server_id, body, version="2.19")
        assert_nova_fault(r, 400, "badRequest")
    body = {"rebuild": {"imageRef": image_id, "description": "fine"}}
    r = await action(admin, server_id, body, version="2.19")
    assert r.status_code == 202, r.text
    assert r.json()["server"]["description"] == "fine"


async def test_times_beyond_the_calendar_in_utc_are_400(admin: httpx.AsyncClient) -> None:
    """Valid ISO 8601 whose UTC time no datetime holds; the image and identity APIs too."""
    token = await admin.get(
        "/identity/v3/auth/tokens", headers={"X-Subject-Token": admin.headers["X-Auth-Token"]}
    )
    user_id = token.json()["token"]["user"]["id"]
    for value in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        for key in ("changes-since", "changes-before"):
            r = await admin.get(f"{V21}/servers", params={key: value}, headers=mv("2.66"))
            assert_nova_fault(r, 400, "badRequest")
            r = await admin.get(f"{V21}/os-migrations", params={key: value}, headers=mv("2.66"))
            assert_nova_fault(r, 400, "badRequest")
        r = await admin.get("/image/v2/images", params={"created_at": f"gt:{value}"})
        assert_glance_fault(r, 400)
        body = {"application_credential": {"name": "c", "expires_at": value}}
        r = await admin.post(f"/identity/v3/users/{user_id}/application_credentials", json=body)
        assert_fault(r, 400)
    r = await admin.get(f"{V21}/servers", params={"changes-since": "0001-01-01T00:00:00Z"})
    assert r.status_code == 200, r.text
    r = await admin.get(f"{V21}/servers", params={"changes-since": "2020-01-01T01:00:00 01:00"})
    assert r.status_code == 200, r.text


async def test_server_name_filters_python_cannot_compile_are_400(
    admin: httpx.AsyncClient,
) -> None:
    for pattern in ("(" * 1000 + ")" * 1000, "a{4294967296}", "[", "x{2,1}"):
        for field in ("name", "description", "ip", "ip6"):
            r = await admin.get(f"{V21}/servers/detail", params={field: pattern})
            assert_nova_fault(r, 400, "badRequest")
    r = await admin.get(f"{V21}/servers", params={"name": "^a{2}"})
    assert r.status_code == 200, r.text
