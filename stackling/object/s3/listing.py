"""ListObjects (v1) and ListObjectsV2 over a container's objects."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from stackling.object import models as m
from stackling.object.s3.buckets import bucket_of
from stackling.object.s3.call import S3Call
from stackling.object.s3.errors import S3Error
from stackling.object.service import clock, containers
from stackling.object.service.listing import Query, Subdir

MAX_KEYS = 1000


def max_keys(call: S3Call, name: str = "max-keys") -> int:
    """The page size asked for: 1000 by default and at most."""
    raw = call.query.get(name, str(MAX_KEYS))
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise S3Error(
            "InvalidArgument",
            "Provided max-keys not an integer or within integer range",
            ArgumentName=name,
            ArgumentValue=raw,
        )
    return min(value, MAX_KEYS)


def _token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise S3Error(
            "InvalidArgument",
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
        ) from None


async def page(
    call: S3Call,
    container: m.ObjectContainer,
    *,
    prefix: str,
    delimiter: str,
    marker: str,
    limit: int,
) -> tuple[list[Any], bool]:
    """Up to `limit` rows and Subdirs after `marker`, and whether more follow."""
    q = Query(limit=limit + 2, prefix=prefix, marker=marker, delimiter=delimiter)
    items = await containers.list_objects(call.svc, container.id, q)
    # A marker that is itself a common prefix names everything under it as seen already;
    # the scan folds those names into that prefix again, so it is dropped here.
    if items and isinstance(items[0], Subdir) and items[0].name == marker:
        items = items[1:]
    # As S3, max-keys=0 answers an empty page that does not claim more.
    return items[:limit], limit > 0 and len(items) > limit


def _encode(call: S3Call, value: str) -> str:
    return quote(value, safe="/") if call.query.get("encoding-type") == "url" else value


def _contents(call: S3Call, items: list[Any], *, owner: bool) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for item in items:
        if isinstance(item, Subdir):
            continue
        entry: dict[str, Any] = {
            "Key": _encode(call, item.name),
            "LastModified": clock.s3_iso(item.timestamp),
            "ETag": f'"{item.etag}"',
            "Size": item.size,
            "StorageClass": "STANDARD",
        }
        if owner:
            entry["Owner"] = call.owner
        out.append(("Contents", entry))
    for item in items:
        if isinstance(item, Subdir):
            out.append(("CommonPrefixes", {"Prefix": _encode(call, item.name)}))
    return out


async def list_objects(call: S3Call) -> Response:
    """GET bucket: ListObjects, or ListObjectsV2 with list-type=2."""
    container = await bucket_of(call)
    if call.query.get("list-type") == "2":
        return await _v2(call, container)
    if "list-type" in call.query:
        raise S3Error("InvalidArgument", "Invalid list type", ArgumentName="list-type")
    prefix = call.query.get("prefix", "")
    delimiter = call.query.get("delimiter", "")
    marker = call.query.get("marker", "")
    limit = max_keys(call)
    items, truncated = await page(
        call, container, prefix=prefix, delimiter=delimiter, marker=marker, limit=limit
    )
    head: list[tuple[str, Any]] = [
        ("Name", container.name),
        ("Prefix", _encode(call, prefix)),
        ("Marker", _encode(call, marker)),
    ]
    if truncated and delimiter and items:
        head.append(("NextMarker", _encode(call, items[-1].name)))
    head += [("MaxKeys", limit)]
    if delimiter:
        head.append(("Delimiter", _encode(call, delimiter)))
    if call.query.get("encoding-type") == "url":
        head.append(("EncodingType", "url"))
    head.append(("IsTruncated", truncated))
    return call.xml("ListBucketResult", head + _contents(call, items, owner=True))


async def _v2(call: S3Call, container: m.ObjectContainer) -> Response:
    prefix = call.query.get("prefix", "")
    delimiter = call.query.get("delimiter", "")
    start_after = call.query.get("start-after", "")
    token = call.query.get("continuation-token")
    marker = _untoken(token) if token is not None else start_after
    limit = max_keys(call)
    items, truncated = await page(
        call, container, prefix=prefix, delimiter=delimiter, marker=marker, limit=limit
    )
    head: list[tuple[str, Any]] = [
        ("Name", container.name),
        ("Prefix", _encode(call, prefix)),
        ("MaxKeys", limit),
        ("KeyCount", len(items)),
    ]
    if delimiter:
        head.append(("Delimiter", _encode(call, delimiter)))
    if call.query.get("encoding-type") == "url":
        head.append(("EncodingType", "url"))
    head.append(("IsTruncated", truncated))
    if token is not None:
        head.append(("ContinuationToken", token))
    if truncated and items:
        head.append(("NextContinuationToken", _token(items[-1].name)))
    if start_after:
        head.append(("StartAfter", _encode(call, start_after)))
    owner = call.query.get("fetch-owner", "").lower() == "true"
    return call.xml("ListBucketResult", head + _contents(call, items, owner=owner))
