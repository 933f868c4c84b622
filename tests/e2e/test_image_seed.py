"""`stackling up` registers the locally built guest as public `cirros` when there are no images."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.conftest import issue_token, make_settings, running_client

pytestmark = pytest.mark.e2e


async def _wait_for_images(client: httpx.AsyncClient, timeout_s: float = 300.0) -> list[dict]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        r = await client.get("/image/v2/images")
        assert r.status_code == 200, r.text
        if r.json()["images"]:
            return list(r.json()["images"])
        await asyncio.sleep(0.5)
    raise AssertionError("the test image was not registered in time")


async def test_test_image_is_registered_once_as_public_cirros(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", image={"register_test_image": True})
    async with running_client(settings) as client:
        client.headers["X-Auth-Token"] = await issue_token(client)
        images = await _wait_for_images(client)
        assert len(images) == 1
        cirros = images[0]
        assert cirros["name"] == "cirros"
        assert cirros["visibility"] == "public"
        assert cirros["status"] == "active"
        assert cirros["disk_format"] == "qcow2"
        assert cirros["stackling_test_image"] == "true"
        assert cirros["virtual_size"] > cirros["size"] > 0
        r = await client.get(
            f"/image/v2/images/{cirros['id']}/file", headers={"Range": "bytes=0-3"}
        )
        assert r.status_code == 206 and r.content == b"QFI\xfb"
    # A second start finds an image and registers nothing more.
    async with running_client(settings) as client:
        client.headers["X-Auth-Token"] = await issue_token(client)
        await asyncio.sleep(1.0)
        r = await client.get("/image/v2/images")
        assert [i["id"] for i in r.json()["images"]] == [cirros["id"]]
