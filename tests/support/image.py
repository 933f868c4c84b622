"""Shortcuts over the Glance v2 HTTP API, for tests that need images, data and projects."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.identity import project_member

V2 = "/image/v2"
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
PATCH_V20_TYPE = "application/openstack-images-v2.0-json-patch"
OCTETS = {"Content-Type": "application/octet-stream"}
MIB = 1 << 20


def assert_glance_fault(r: httpx.Response, status: int) -> dict[str, Any]:
    """Assert Glance's error body, `{"code": "404 Not Found", "title", "message"}`; the body."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    if r.request.method == "HEAD":
        return {}
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"code", "title", "message"}, body
    assert body["code"] == f"{status} {body['title']}", body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["message"], str) and body["message"], body
    return dict(body)


def headers_for(token: str | None, **extra: str) -> dict[str, str]:
    """Request headers authenticating as `token` (None: whoever the client is)."""
    out = dict(extra)
    if token is not None:
        out["X-Auth-Token"] = token
    return out


async def create_image(
    c: httpx.AsyncClient, token: str | None = None, **attrs: Any
) -> dict[str, Any]:
    """POST /v2/images (disk/container format default to raw/bare); the image."""
    body = {"disk_format": "raw", "container_format": "bare", **attrs}
    r = await c.post(f"{V2}/images", json=body, headers=headers_for(token))
    assert r.status_code == 201, f"create image: {r.status_code} {r.text}"
    return dict(r.json())


async def show_image(c: httpx.AsyncClient, image_id: str, token: str | None = None) -> dict:
    """GET /v2/images/{id}, asserting 200; the image."""
    r = await c.get(f"{V2}/images/{image_id}", headers=headers_for(token))
    assert r.status_code == 200, f"show image: {r.status_code} {r.text}"
    return dict(r.json())


async def put_data(
    c: httpx.AsyncClient,
    image_id: str,
    data: bytes | AsyncIterator[bytes],
    token: str | None = None,
    what: str = "file",
) -> httpx.Response:
    """PUT /file (or /stage) with an octet-stream body; the response."""
    return await c.put(
        f"{V2}/images/{image_id}/{what}", content=data, headers=headers_for(token, **OCTETS)
    )


async def upload(
    c: httpx.AsyncClient, image_id: str, data: bytes, token: str | None = None
) -> dict[str, Any]:
    """Upload `data` (204) and return the image, now active."""
    r = await put_data(c, image_id, data, token)
    assert r.status_code == 204, f"upload: {r.status_code} {r.text}"
    image = await show_image(c, image_id, token)
    assert image["status"] == "active", image
    return image


async def active_image(
    c: httpx.AsyncClient, data: bytes = b"image-data", token: str | None = None, **attrs: Any
) -> dict[str, Any]:
    """A new image holding `data`."""
    image = await create_image(c, token, **attrs)
    return await upload(c, image["id"], data, token)


async def patch(
    c: httpx.AsyncClient,
    image_id: str,
    ops: Any,
    token: str | None = None,
    content_type: str = PATCH_TYPE,
) -> httpx.Response:
    """PATCH /v2/images/{id} with a JSON-patch document."""
    return await c.patch(
        f"{V2}/images/{image_id}",
        content=json.dumps(ops),
        headers=headers_for(token, **{"Content-Type": content_type}),
    )


async def list_ids(c: httpx.AsyncClient, token: str | None = None, **params: Any) -> list[str]:
    """Ids of the first page of GET /v2/images?params (limit 1000 unless given)."""
    params.setdefault("limit", 1000)
    r = await c.get(f"{V2}/images", params=params, headers=headers_for(token))
    assert r.status_code == 200, f"list images {params}: {r.status_code} {r.text}"
    return [i["id"] for i in r.json()["images"]]


async def wait_for_status(
    c: httpx.AsyncClient,
    image_id: str,
    wanted: set[str],
    token: str | None = None,
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """Poll an image until its status is one of `wanted` (a background import ran)."""
    image: dict[str, Any] = {}
    async with asyncio.timeout(timeout_s):
        while True:
            image = await show_image(c, image_id, token)
            if image["status"] in wanted:
                return image
            await asyncio.sleep(0.02)


async def other_project(c: httpx.AsyncClient, role: str = "member") -> tuple[str, str]:
    """A new project with a user holding `role` on it; (project id, that user's token)."""
    project, _user, token = await project_member(c, role)
    return str(project["id"]), token


def hashes(data: bytes) -> tuple[str, str]:
    """(md5, sha512) hex digests, as Glance's checksum and os_hash_value."""
    return hashlib.md5(data).hexdigest(), hashlib.sha512(data).hexdigest()


def qemu_img(*args: str | Path) -> None:
    """Run qemu-img, failing the test with its stderr."""
    proc = subprocess.run(
        ["qemu-img", *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, f"qemu-img {args}: {proc.stderr}"


def make_qcow2(path: Path, size: int = MIB, *options: str) -> bytes:
    """A qcow2 image made by qemu-img; its bytes."""
    qemu_img("create", "-f", "qcow2", *options, path, str(size))
    return path.read_bytes()
