"""Multipart uploads: initiate, upload (or copy) parts, list, complete, abort."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from stackling.object import models as m
from stackling.object.s3 import objects as s3objects
from stackling.object.s3.buckets import bucket_of
from stackling.object.s3.call import S3Call
from stackling.object.s3.errors import S3Error
from stackling.object.s3.listing import max_keys
from stackling.object.s3.xmlbody import MAX_PART_NUMBER, parse_complete_multipart
from stackling.object.service import clock, uploads

MAX_PARTS = 1000


def _initiator(call: S3Call, upload: m.MultipartUpload) -> dict[str, str]:
    user = upload.user_id or call.project_id
    name = call.ctx.user_name if call.ctx and call.ctx.user_id == user else user
    return {"ID": user, "DisplayName": name or user}


async def initiate(call: S3Call) -> Response:
    """POST ?uploads: a new upload, with the metadata the object will have."""
    container = await bucket_of(call)
    key = s3objects.check_key(call)
    upload = await uploads.initiate(
        call.svc,
        container,
        key,
        user_id=call.ctx.user_id if call.ctx else None,
        content_type=s3objects.content_type(call, key),
        meta=s3objects.request_meta(call),
    )
    return call.xml(
        "InitiateMultipartUploadResult",
        {"Bucket": container.name, "Key": key, "UploadId": upload.id},
    )


async def _upload(call: S3Call) -> tuple[m.ObjectContainer, m.MultipartUpload]:
    container = await bucket_of(call)
    key = s3objects.check_key(call)
    upload = await uploads.get_upload(call.svc, container, key, call.query["uploadId"])
    return container, upload


def _part_number(call: S3Call) -> int:
    raw = call.query.get("partNumber", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PART_NUMBER:
        raise S3Error(
            "InvalidArgument",
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=raw,
        )
    return int(raw)


async def upload_part(call: S3Call) -> Response:
    """PUT ?partNumber&uploadId: store one part (or copy an object as one: UploadPartCopy)."""
    number = _part_number(call)
    _, upload = await _upload(call)
    if "x-amz-copy-source" in call.headers:
        if "x-amz-copy-source-range" in call.headers:
            raise S3Error("NotImplemented", "Copying a range of an object is not supported.")
        source = await s3objects.source_object(call)
        part = await uploads.copy_part(call.svc, upload, number, source)
        return call.xml(
            "CopyPartResult",
            {"LastModified": clock.s3_iso(part.timestamp), "ETag": f'"{part.etag}"'},
        )
    s3objects.length_of(call)
    part = await uploads.upload_part(
        call.svc, upload, number, call.body(), etag=s3objects.content_md5(call.headers)
    )
    return call.reply(200, headers={"ETag": f'"{part.etag}"'})


async def list_parts(call: S3Call) -> Response:
    """GET ?uploadId: the parts uploaded so far."""
    container, upload = await _upload(call)
    limit = max_keys(call, "max-parts")
    raw_marker = call.query.get("part-number-marker", "0") or "0"
    if not raw_marker.isdigit():
        raise S3Error("InvalidArgument", ArgumentName="part-number-marker")
    marker = int(raw_marker)
    parts = await uploads.list_parts(call.svc, upload, marker=marker, limit=limit + 1)
    truncated = len(parts) > limit
    parts = parts[:limit]
    body: list[tuple[str, Any]] = [
        ("Bucket", container.name),
        ("Key", upload.name),
        ("UploadId", upload.id),
        ("Initiator", _initiator(call, upload)),
        ("Owner", call.owner),
        ("StorageClass", "STANDARD"),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", parts[-1].part_number if parts else marker),
        ("MaxParts", limit),
        ("IsTruncated", truncated),
    ]
    for part in parts:
        entry = {
            "PartNumber": part.part_number,
            "LastModified": clock.s3_iso(part.timestamp),
            "ETag": f'"{part.etag}"',
            "Size": part.size,
        }
        body.append(("Part", entry))
    return call.xml("ListPartsResult", body)


async def complete(call: S3Call) -> Response:
    """POST ?uploadId: the listed parts become the object."""
    container, upload = await _upload(call)
    listed = parse_complete_multipart(await call.read_body())
    row = await uploads.complete(
        call.svc,
        container,
        upload.name,
        upload.id,
        [uploads.Listed(p.part_number, p.etag) for p in listed],
    )
    location = str(call.request.url.replace(query=""))
    return call.xml(
        "CompleteMultipartUploadResult",
        {
            "Location": location.rstrip("?"),
            "Bucket": container.name,
            "Key": row.name,
            "ETag": f'"{row.etag}"',
        },
    )


async def abort(call: S3Call) -> Response:
    """DELETE ?uploadId: forget the upload and its parts."""
    container = await bucket_of(call)
    key = s3objects.check_key(call)
    await uploads.abort(call.svc, container, key, call.query["uploadId"])
    return call.reply(204)


async def list_uploads(call: S3Call) -> Response:
    """GET bucket ?uploads: uploads in progress."""
    container = await bucket_of(call)
    limit = max_keys(call, "max-uploads")
    prefix = call.query.get("prefix", "")
    key_marker = call.query.get("key-marker", "")
    id_marker = call.query.get("upload-id-marker", "") if key_marker else ""
    rows = await uploads.list_uploads(
        call.svc,
        container,
        prefix=prefix,
        key_marker=key_marker,
        upload_id_marker=id_marker,
        limit=limit + 1,
    )
    # max-uploads=0 asks for no uploads, not for a page that never ends.
    truncated = limit > 0 and len(rows) > limit
    rows = rows[:limit]
    body: list[tuple[str, Any]] = [
        ("Bucket", container.name),
        ("KeyMarker", key_marker),
        ("UploadIdMarker", id_marker),
        ("NextKeyMarker", rows[-1].name if truncated else None),
        ("NextUploadIdMarker", rows[-1].id if truncated else None),
        ("Prefix", prefix),
        ("MaxUploads", limit),
        ("IsTruncated", truncated),
    ]
    for row in rows:
        entry = {
            "Key": row.name,
            "UploadId": row.id,
            "Initiator": _initiator(call, row),
            "Owner": call.owner,
            "StorageClass": "STANDARD",
            "Initiated": clock.s3_iso(row.timestamp),
        }
        body.append(("Upload", entry))
    return call.xml("ListMultipartUploadsResult", body)
