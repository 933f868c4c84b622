"""The JSON Glance clients expect for images, members and tasks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from stackling.common.timeutil import isoformat
from stackling.image import models as m
from stackling.image.service.records import ImageRecord


def _time(value: Any) -> str | None:
    return isoformat(value, micro=False)


def image(rec: ImageRecord) -> dict[str, Any]:
    """One image: core attributes, then its custom properties at the top level."""
    img = rec.image
    body: dict[str, Any] = {
        **rec.properties,
        "id": img.id,
        "name": img.name,
        "status": img.status,
        "visibility": img.visibility,
        "protected": img.protected,
        "os_hidden": img.os_hidden,
        "checksum": img.checksum,
        "os_hash_algo": img.os_hash_algo,
        "os_hash_value": img.os_hash_value,
        "owner": img.owner,
        "size": img.size,
        "virtual_size": img.virtual_size,
        "min_ram": img.min_ram,
        "min_disk": img.min_disk,
        "disk_format": img.disk_format,
        "container_format": img.container_format,
        "created_at": _time(img.created_at),
        "updated_at": _time(img.updated_at),
        "tags": rec.tags,
        "self": f"/v2/images/{img.id}",
        "file": f"/v2/images/{img.id}/file",
        "schema": "/v2/schemas/image",
    }
    if rec.stores:
        body["stores"] = ",".join(rec.stores)
    return body


def images(records: list[ImageRecord], pairs: list[tuple[str, str]], limit: int) -> dict[str, Any]:
    """A page of images with Glance's `first`, `next` and `schema` links."""
    body: dict[str, Any] = {
        "images": [image(r) for r in records],
        "first": "/v2/images",
        "schema": "/v2/schemas/images",
    }
    if records and len(records) >= limit:
        params = [(k, v) for k, v in pairs if k != "marker"]
        params.append(("marker", records[-1].image.id))
        body["next"] = f"/v2/images?{urlencode(params)}"
    return body


def member(row: m.ImageMember) -> dict[str, Any]:
    """One image member."""
    return {
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
        "image_id": row.image_id,
        "member_id": row.member,
        "status": row.status,
        "schema": "/v2/schemas/member",
    }


def task(row: m.Task, *, detail: bool = True) -> dict[str, Any]:
    """One task; lists leave out input, result and message as Glance does."""
    body: dict[str, Any] = {
        "id": row.id,
        "type": row.type,
        "status": row.status,
        "owner": row.owner,
        "expires_at": _time(row.expires_at),
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
        "self": f"/v2/tasks/{row.id}",
        "schema": "/v2/schemas/task",
        "image_id": row.image_id,
        "request_id": row.request_id,
        "user_id": row.user_id,
    }
    if detail:
        body.update(input=row.input, result=row.result, message=row.message)
    return body
