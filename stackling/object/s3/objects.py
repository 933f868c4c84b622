"""Object requests: PUT (and copy), GET and HEAD with ranges and conditions, DELETE."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import mimetypes
import re
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

from starlette.datastructures import Headers
from starlette.responses import Response, StreamingResponse

from stackling.common import errors
from stackling.object import models as m
from stackling.object.s3.buckets import bucket_of
from stackling.object.s3.call import S3Call
from stackling.object.s3.errors import S3Error
from stackling.object.s3.xmlbody import parse_delete
from stackling.object.service import clock, containers, objects
from stackling.object.service.objects import NewObject
from stackling.object.swift import content, large, meta
from stackling.object.swift.call import Call

AMZ_META = "x-amz-meta-"
SWIFT_META = "x-object-meta-"
# Headers stored with the object and returned by GET/HEAD (Swift's allowed_headers).
STORED = (
    "content-disposition",
    "content-encoding",
    "content-language",
    "cache-control",
    "expires",
)
# What a response header value may hold: tab, printable ASCII and latin-1.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\xa0-\xff]*")
_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def check_key(call: S3Call) -> str:
    """The path's key; KeyTooLongError past the object name limit."""
    key = call.key or ""
    if len(key.encode()) > call.svc.conf.max_object_name_length:
        raise S3Error("KeyTooLongError", Size=str(len(key.encode())))
    return key


def content_md5(headers: Headers) -> str | None:
    """Content-MD5 (base64) as hex; InvalidDigest when it is not an MD5."""
    raw = headers.get("content-md5")
    if raw is None:
        return None
    try:
        digest = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise S3Error("InvalidDigest", **{"Content-MD5": raw}) from None
    if len(digest) != 16:
        raise S3Error("InvalidDigest", **{"Content-MD5": raw})
    return digest.hex()


def request_meta(call: S3Call) -> dict[str, str]:
    """x-amz-meta-* (stored as Swift's x-object-meta-*) and the stored headers of a write."""
    out: dict[str, str] = {}
    for name, value in call.headers.items():
        if name.startswith(AMZ_META):
            out[SWIFT_META + name[len(AMZ_META) :]] = value.strip()
        elif name in STORED:
            out[name] = value.strip()
    # aws-chunked describes the upload's framing, not the object.
    encodings = [e.strip() for e in out.get("content-encoding", "").split(",")]
    encodings = [e for e in encodings if e and e != "aws-chunked"]
    out["content-encoding"] = ",".join(encodings)
    try:
        meta.check(out, SWIFT_META, call.svc.conf)
    except errors.BadRequest as exc:
        raise S3Error("MetadataTooLarge", exc.message) from None
    return {k: v for k, v in out.items() if v != ""}


def content_type(call: S3Call, key: str) -> str:
    """Content-Type sent, or guessed from the key as Swift does."""
    sent = call.headers.get("content-type")
    if sent:
        return sent
    guessed, _ = mimetypes.guess_type(key, strict=False)
    return guessed or "application/octet-stream"


def length_of(call: S3Call) -> int | None:
    """The payload length announced; MissingContentLength when there is none."""
    raw = call.headers.get("x-amz-decoded-content-length") or call.headers.get("content-length")
    if raw is None:
        if "chunked" in call.headers.get("transfer-encoding", "").lower():
            return None
        raise S3Error("MissingContentLength")
    if not raw.isdigit():
        raise S3Error("InvalidArgument", "Invalid Content-Length", ArgumentName="Content-Length")
    return int(raw)


async def put(call: S3Call) -> Response:
    """PUT object, or a copy when x-amz-copy-source is given."""
    container = await bucket_of(call)
    key = check_key(call)
    if "x-amz-copy-source" in call.headers:
        return await copy(call, container, key)
    new = NewObject(
        content_type=content_type(call, key),
        meta=request_meta(call),
        etag=content_md5(call.headers),
        length=length_of(call),
    )
    row = await objects.put_object(call.svc, container, key, call.body(), new)
    return call.reply(200, headers={"ETag": f'"{row.etag}"'})


def copy_source(call: S3Call) -> tuple[str, str]:
    """(bucket, key) of x-amz-copy-source ("bucket/key", URL-encoded, ?versionId ignored)."""
    raw = call.headers["x-amz-copy-source"].partition("?")[0]
    bucket, _, key = unquote(raw).lstrip("/").partition("/")
    if not bucket or not key:
        raise S3Error(
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
            ArgumentValue=raw,
        )
    return bucket, key


async def source_object(call: S3Call) -> m.StoredObject:
    """The object x-amz-copy-source names, once its copy conditions hold."""
    bucket, key = copy_source(call)
    container = await containers.lookup(call.svc, call.project_id, bucket)
    if container is None:
        raise S3Error("NoSuchBucket", BucketName=bucket)
    try:
        row = await objects.get_object(call.svc, container.id, key)
    except errors.NotFound:
        raise S3Error("NoSuchKey", Key=key) from None
    if check_conditions(call.headers, row, prefix="x-amz-copy-source-") == 304:
        raise S3Error("PreconditionFailed")
    return row


async def copy(call: S3Call, container: m.ObjectContainer, key: str) -> Response:
    """CopyObject: the source's bytes under a new name, its metadata kept or replaced."""
    source = await source_object(call)
    directive = call.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error(
            "InvalidArgument",
            "Unknown metadata directive.",
            ArgumentName="x-amz-metadata-directive",
            ArgumentValue=directive,
        )
    if directive == "COPY":
        if source.container_id == container.id and source.name == key:
            raise S3Error(
                "InvalidRequest",
                "This copy request is illegal because it is trying to copy an object to itself "
                "without changing the object's metadata, storage class, website redirect "
                "location or encryption attributes.",
            )
        new = NewObject(content_type=source.content_type, meta=dict(source.meta))
    else:
        new = NewObject(content_type=content_type(call, key), meta=request_meta(call))
    row = await objects.copy_object(call.svc, source, container, key, new)
    return call.xml(
        "CopyObjectResult",
        {"LastModified": clock.s3_iso(row.timestamp), "ETag": f'"{row.etag}"'},
    )


def check_conditions(headers: Headers, row: m.StoredObject, *, prefix: str = "") -> int | None:
    """None when the If-* headers hold; else 304 or 412 (412 raised) as S3 decides."""
    etag = row.etag
    modified = int(clock.seconds(row.timestamp) + 0.999999)
    if_match = headers.get(prefix + "if-match")
    if if_match is not None and not _etag_in(if_match, etag):
        raise S3Error("PreconditionFailed", Condition="If-Match")
    since = _date(headers.get(prefix + "if-unmodified-since"))
    if if_match is None and since is not None and modified > since:
        raise S3Error("PreconditionFailed", Condition="If-Unmodified-Since")
    if_none = headers.get(prefix + "if-none-match")
    if if_none is not None and _etag_in(if_none, etag):
        return 304
    since = _date(headers.get(prefix + "if-modified-since"))
    if if_none is None and since is not None and modified <= since:
        return 304
    return None


def _etag_in(header: str, etag: str) -> bool:
    tags = {t.strip().strip('"') for t in header.split(",")}
    return "*" in tags or etag in tags


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _headers(row: m.StoredObject, etag: str) -> dict[str, str]:
    out = {
        "ETag": f'"{etag}"',
        "Last-Modified": clock.http_date(row.timestamp),
        "Accept-Ranges": "bytes",
        "Content-Type": row.content_type,
    }
    for name, value in row.meta.items():
        if name.startswith(SWIFT_META):
            out[AMZ_META + name[len(SWIFT_META) :]] = str(value)
        elif name in STORED and value != "":
            out[meta.title(name)] = str(value)
    return out


def _swift_call(call: S3Call, container: m.ObjectContainer, key: str) -> Call:
    """The Swift view of this request, for what Swift's layer serves (large objects)."""
    return Call(
        request=call.request,
        svc=call.svc,
        runtime=call.runtime,
        account=container.project_id,
        container=container.name,
        obj=key,
        trans_id=call.request_id,
        ctx=call.ctx,
        query={},
    )


async def _serve(call: S3Call, *, body: bool) -> Response:
    container = await bucket_of(call)
    key = check_key(call)
    try:
        row = await objects.get_object(call.svc, container.id, key)
    except errors.NotFound:
        raise S3Error("NoSuchKey", resource=key, Key=key) from None
    served = await large.served(_swift_call(call, container, key), container, row)
    headers = _headers(row, served.etag)
    if check_conditions(call.headers, row) == 304:
        return call.reply(304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
    for param, header in _OVERRIDES.items():
        if param in call.query:
            headers[header] = _override(param, call.query[param])
    data = served.content
    size = data.size
    ranges = _ranges(call.headers.get("range"), size)
    status, offset, length = 200, 0, size
    if ranges == []:
        raise S3Error(
            "InvalidRange",
            headers={"Content-Range": f"bytes */{size}"},
            RangeRequested=call.headers.get("range", ""),
            ActualObjectSize=str(size),
        )
    if ranges is not None and len(ranges) == 1:
        first, last = ranges[0]
        status, offset, length = 206, first, last - first + 1
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(length)
    headers.update({"x-amz-request-id": call.request_id, "x-amz-id-2": call.request_id})
    if not body:
        return Response(b"", status_code=status, headers=headers)
    stream = content.stream(call.svc.store, data, offset, length)
    # Content-Type is in the headers as stored: a media_type would gain a charset.
    return StreamingResponse(stream, status_code=status, headers=headers)


def _override(param: str, value: str) -> str:
    """A response-* value that can be sent as a header; InvalidArgument otherwise."""
    # The query decodes to any text, a header carries visible latin-1 only (a CR or LF
    # would even start a header of the client's choosing).
    if not _HEADER_VALUE.fullmatch(value):
        raise S3Error(
            "InvalidArgument", f"Invalid value for {param}", ArgumentName=param, ArgumentValue=value
        )
    return value


def _ranges(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """Swift's reading of Range, except that an open range from the end on is unsatisfiable."""
    spec = (header or "").strip().lower().removeprefix("bytes=").strip()
    first, dash, last = spec.partition("-")
    if dash and not last.strip() and first.strip().isdigit() and int(first) >= size > 0:
        return []
    return content.parse_ranges(header, size)


async def get(call: S3Call) -> Response:
    """GET object (whole or one range)."""
    return await _serve(call, body=True)


async def head(call: S3Call) -> Response:
    """HEAD object."""
    return await _serve(call, body=False)


async def delete(call: S3Call) -> Response:
    """DELETE object: 204 whether or not it was there."""
    container = await bucket_of(call)
    key = check_key(call)
    with contextlib.suppress(errors.NotFound):
        await objects.delete_object(call.svc, container, key)
    return call.reply(204)


async def delete_many(call: S3Call) -> Response:
    """POST ?delete: delete up to 1000 keys; missing ones count as deleted, as in S3."""
    container = await bucket_of(call)
    body = await call.read_body()
    wanted = content_md5(call.headers)
    if wanted is not None and hashlib.md5(body).hexdigest() != wanted:
        raise S3Error("BadDigest")
    request = parse_delete(body)
    keys = [key for key, _version in request.objects]
    limit = call.svc.conf.max_object_name_length
    too_long = {k for k in keys if len(k.encode()) > limit}
    await objects.delete_many(call.svc, container, [k for k in keys if k not in too_long])
    entries: list[tuple[str, Any]] = []
    for key, version in request.objects:
        if key in too_long:
            error = {"Key": key, "Code": "KeyTooLongError", "Message": "Your key is too long"}
            entries.append(("Error", error))
        elif not request.quiet:
            entries.append(("Deleted", {"Key": key, "VersionId": version}))
    return call.xml("DeleteResult", entries)
