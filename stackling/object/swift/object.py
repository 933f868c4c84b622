"""Object requests: PUT (and copies), GET and HEAD with ranges and conditions, POST, DELETE."""

from __future__ import annotations

import mimetypes
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from stackling.common import errors
from stackling.object import models as m
from stackling.object.errors import (
    ClientDisconnected,
    LengthRequired,
    PreconditionFailed,
    RangeNotSatisfiable,
)
from stackling.object.service import clock, objects
from stackling.object.service.objects import NewObject
from stackling.object.swift import access, content, large, meta
from stackling.object.swift.call import Call

_TRUE = ("true", "1", "yes", "on", "t", "y")
# Objects up to this size are answered from memory rather than streamed.
_INLINE_BYTES = 256 * 1024


def check_name(call: Call) -> str:
    """The object name of the path; 400 past Swift's length limit."""
    name = call.obj or ""
    limit = call.svc.conf.max_object_name_length
    if len(name.encode()) > limit:
        raise errors.BadRequest(f"Object name length of {len(name)} longer than {limit}")
    return name


async def body(call: Call) -> AsyncIterator[bytes]:
    """The request body as it arrives; a client that goes away is a 499."""
    try:
        async for chunk in call.request.stream():
            yield chunk
    except ClientDisconnect:
        raise ClientDisconnected("Client disconnected") from None


def delete_at(call: Call) -> int | None:
    """X-Delete-At, or now + X-Delete-After; 400 when malformed or in the past."""
    after = call.headers.get("x-delete-after")
    at = call.headers.get("x-delete-at")
    now = time.time()
    if after is not None:
        try:
            seconds = int(after)
        except ValueError:
            raise errors.BadRequest("Non-integer X-Delete-After") from None
        if seconds <= 0:
            raise errors.BadRequest("X-Delete-After in past")
        return int(now + seconds)
    if at is not None:
        try:
            when = int(float(at))
        except ValueError:
            raise errors.BadRequest("Non-integer X-Delete-At") from None
        if when <= now:
            raise errors.BadRequest("X-Delete-At in past")
        return when
    return None


def content_type(call: Call, name: str) -> str:
    """The Content-Type sent, or one guessed from the name when absent or asked for."""
    sent = call.headers.get("content-type")
    if sent and call.headers.get("x-detect-content-type", "").lower() not in _TRUE:
        return sent
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def _etag_sent(call: Call) -> str | None:
    etag = call.headers.get("etag")
    return etag.strip().strip('"').lower() if etag else None


def _length(call: Call) -> int | None:
    raw = call.headers.get("content-length")
    chunked = "chunked" in call.headers.get("transfer-encoding", "").lower()
    if raw is None:
        if not chunked:
            raise LengthRequired("Missing Content-Length header.")
        return None
    if not raw.isdigit():
        raise errors.BadRequest("Invalid Content-Length header value.")
    return int(raw)


def _check_manifest_header(value: str | None) -> None:
    if value is None:
        return
    container, sep, _prefix = unquote(value).lstrip("/").partition("/")
    if not sep or not container:
        raise errors.BadRequest("X-Object-Manifest must be in the format container/prefix")


def object_headers(row: m.StoredObject, etag: str) -> dict[str, str]:
    """What GET and HEAD report about an object besides length and ranges."""
    headers = {
        "ETag": etag,
        "Last-Modified": clock.http_date(row.timestamp),
        "X-Timestamp": row.timestamp,
        "Accept-Ranges": "bytes",
    }
    headers.update(meta.render(row.meta))
    if row.delete_at is not None:
        headers["X-Delete-At"] = str(row.delete_at)
    return headers


async def put(call: Call) -> Response:
    """Store an object (or copy one, with X-Copy-From)."""
    name = check_name(call)
    if call.headers.get("x-copy-from") is not None:
        if call.query.get("multipart-manifest") == "put":
            raise errors.MethodNotAllowed("Multipart Manifest PUTs cannot be COPY requests")
        account = call.headers.get("x-copy-from-account", "").removeprefix("AUTH_")
        return await copy_into(call, call.headers["x-copy-from"], name, account or call.account)
    if call.query.get("multipart-manifest") == "put":
        from stackling.object.swift import slo

        return await slo.put_manifest(call, name)
    if large.SLO in call.headers:
        raise errors.BadRequest(
            "X-Static-Large-Object is a reserved header. To create a static large object "
            "add query param multipart-manifest=put."
        )
    length = _length(call)
    _check_manifest_header(call.headers.get("x-object-manifest"))
    new = NewObject(
        content_type=content_type(call, name),
        meta=meta.object_meta(call.headers, call.svc.conf),
        delete_at=delete_at(call),
        etag=_etag_sent(call),
        length=length,
    )
    container = await access.container_for(call, write=True)
    await _if_none_match(call, container, name)
    row = await objects.put_object(call.svc, container, name, body(call), new)
    return created(call, row)


def created(call: Call, row: m.StoredObject, extra: dict[str, str] | None = None) -> Response:
    """201 for a stored object."""
    headers = {"ETag": row.etag, "Last-Modified": clock.http_date(row.timestamp)}
    if extra:
        headers.update(extra)
    return call.reply(201, headers=headers, content_type="text/html; charset=UTF-8")


async def _if_none_match(call: Call, container: m.ObjectContainer, name: str) -> None:
    value = call.headers.get("if-none-match")
    if value is None:
        return
    if value.strip() != "*":
        raise errors.BadRequest("If-None-Match only supports *")
    async with call.svc.db.session() as s:
        if await objects.find(s, container.id, name) is not None:
            raise PreconditionFailed("Precondition Failed")


def _split_path(value: str) -> tuple[str, str]:
    path = unquote(value).lstrip("/")
    container, sep, name = path.partition("/")
    if not sep or not container or not name:
        raise PreconditionFailed(
            "Bad URL: copy source and destination must be in the form container/object"
        )
    return container, name


async def copy_into(call: Call, source: str, name: str, src_account: str) -> Response:
    """PUT with X-Copy-From (or COPY): the source's bytes under a new name."""
    if call.headers.get("content-length", "0") not in ("0", ""):
        raise errors.BadRequest("Copy requests require a zero byte body")
    src_container_name, src_name = _split_path(source)
    src_call = _view(call, src_account, src_container_name, src_name)
    src_container = await access.container_for(src_call, write=False)
    src_row = await objects.get_object(call.svc, src_container.id, src_name)
    target = await access.container_for(call, write=True)
    fresh = call.headers.get("x-fresh-metadata", "").lower() in _TRUE
    new_meta = {} if fresh else dict(src_row.meta)
    if call.query.get("multipart-manifest") != "get":
        new_meta.pop(large.SLO, None)
        new_meta.pop(large.DLO, None)
    new_meta.update(meta.object_meta(call.headers, call.svc.conf))
    new = NewObject(
        content_type=call.headers.get("content-type") or src_row.content_type,
        meta=new_meta,
        delete_at=delete_at(call) if not fresh else None,
    )
    if large.is_large(src_row) and call.query.get("multipart-manifest") != "get":
        got = await large.served(src_call, src_container, src_row)
        chunks = content.stream(call.svc.store, got.content)
        row = await objects.put_object(call.svc, target, name, chunks, new)
    else:
        if large.SLO in src_row.meta:
            new.listed_size, new.listed_etag = src_row.size, src_row.etag
        row = await objects.copy_object(call.svc, src_row, target, name, new)
    extra = meta.render(row.meta)
    extra |= {
        "X-Copied-From": f"{quote(src_container.name)}/{quote(src_name)}",
        "X-Copied-From-Last-Modified": clock.http_date(src_row.timestamp),
    }
    if src_account != call.account:
        extra["X-Copied-From-Account"] = f"AUTH_{src_account}"
    return created(call, row, extra)


def _view(call: Call, account: str, container: str, obj: str | None) -> Call:
    """The same caller looking at another path (a copy's source or destination)."""
    return Call(
        request=call.request,
        svc=call.svc,
        runtime=call.runtime,
        account=account,
        container=container,
        obj=obj,
        trans_id=call.trans_id,
        ctx=call.ctx,
        temp_url=False,
        query=call.query,
    )


async def copy(call: Call) -> Response:
    """COPY: PUT to the Destination with the request's path as the source."""
    dest = call.headers.get("destination")
    if not dest:
        raise PreconditionFailed("You must provide a Destination header")
    dest_container, dest_name = _split_path(dest)
    dest_account = call.headers.get("destination-account", "").removeprefix("AUTH_") or call.account
    target = _view(call, dest_account, dest_container, dest_name)
    return await copy_into(target, f"{call.container}/{call.obj}", dest_name, call.account)


def _not_modified(call: Call, row: m.StoredObject, etag: str) -> Response | None:
    """304 or 412 from the conditional headers, or None to go on."""
    plain = etag.strip('"')
    if_match = call.headers.get("if-match")
    if if_match is not None:
        tags = {t.strip().strip('"') for t in if_match.split(",")}
        if "*" not in tags and plain not in tags:
            raise PreconditionFailed("Precondition Failed")
    if_none = call.headers.get("if-none-match")
    if if_none is not None:
        tags = {t.strip().strip('"') for t in if_none.split(",")}
        if "*" in tags or plain in tags:
            return call.reply(
                304, headers={"ETag": etag, "Last-Modified": clock.http_date(row.timestamp)}
            )
    modified = float(row.timestamp)
    since = _http_time(call.headers.get("if-modified-since"))
    if since is not None and if_none is None and int(modified + 0.99999) <= since:
        return call.reply(
            304, headers={"ETag": etag, "Last-Modified": clock.http_date(row.timestamp)}
        )
    unmodified = _http_time(call.headers.get("if-unmodified-since"))
    if unmodified is not None and if_match is None and int(modified + 0.99999) > unmodified:
        raise PreconditionFailed("Precondition Failed")
    return None


def _http_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


async def get(call: Call, *, head: bool = False) -> Response:
    """The object's bytes (or a range of them); HEAD reports without them."""
    name = check_name(call)
    found, row = await objects.locate(call.svc, call.account, call.container or "", name)
    container = access.check(call, found, write=False)
    if row is None:
        raise errors.NotFound("The resource could not be found.")
    got = await large.served(call, container, row)
    is_manifest_get = call.query.get("multipart-manifest") == "get" and large.is_large(row)
    etag = got.etag if is_manifest_get or not large.is_large(row) else f'"{got.etag}"'
    early = _not_modified(call, row, etag)
    if early is not None:
        return early
    headers = object_headers(row, etag)
    if is_manifest_get and large.SLO in row.meta:
        headers["Content-Type"] = "application/json; charset=utf-8"
    ctype = (
        row.content_type if not is_manifest_get else headers.pop("Content-Type", row.content_type)
    )
    size = got.content.size
    ranges = content.parse_ranges(call.headers.get("range"), size) if not head else None
    if head and call.headers.get("range"):
        ranges = content.parse_ranges(call.headers.get("range"), size)
    if ranges == []:
        headers["Content-Range"] = f"bytes */{size}"
        err = RangeNotSatisfiable("Requested Range Not Satisfiable")
        raise _with_headers(err, headers)
    status, length = 200, size
    stream: AsyncIterator[bytes] | None = None
    if ranges and len(ranges) == 1:
        first, last = ranges[0]
        status, length = 206, last - first + 1
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        if not head:
            stream = content.stream(call.svc.store, got.content, first, length)
    elif ranges:
        status = 206
        mark = content.boundary()
        length = content.multirange_length(ranges, ctype, mark, size)
        multipart_type = f"multipart/byteranges;boundary={mark}"
        if not head:
            stream = content.multirange(call.svc.store, got.content, ranges, ctype, mark)
        ctype = multipart_type
    elif not head:
        if size <= _INLINE_BYTES:
            # A small object is read in one go and sent in one piece: a streamed
            # response costs a task group and a message per chunk.
            data = b"".join([c async for c in content.stream(call.svc.store, got.content)])
            headers["X-Trans-Id"] = call.trans_id
            headers["X-Openstack-Request-Id"] = call.trans_id
            small = Response(data, status_code=200, headers=headers)
            small.headers["content-type"] = ctype
            return small
        stream = content.stream(call.svc.store, got.content)
    headers["Content-Length"] = str(length)
    headers["X-Trans-Id"] = call.trans_id
    headers["X-Openstack-Request-Id"] = call.trans_id
    if head:
        resp = Response(b"", status_code=status, headers=headers)
        resp.headers["content-type"] = ctype
        resp.headers["content-length"] = str(length)
        return resp
    assert stream is not None
    # Set directly: starlette would append a charset to text/* types, and Swift
    # returns the stored Content-Type exactly as it was sent.
    headers["Content-Type"] = ctype
    return StreamingResponse(stream, status_code=status, headers=headers)


class _HeaderedError(errors.StacklingError):
    """An error response that carries headers (a 416's Content-Range)."""

    def __init__(self, err: errors.StacklingError, headers: dict[str, str]) -> None:
        super().__init__(err.message)
        self.status = err.status
        self.title = err.title
        self.headers = headers


def _with_headers(err: errors.StacklingError, headers: dict[str, str]) -> errors.StacklingError:
    return _HeaderedError(err, {"Content-Range": headers["Content-Range"]})


async def head(call: Call) -> Response:
    """GET without the bytes."""
    return await get(call, head=True)


async def post(call: Call) -> Response:
    """Replace the object's user metadata (and content type, expiry, stored headers)."""
    name = check_name(call)
    container = await access.container_for(call, write=True)
    user = meta.object_meta(call.headers, call.svc.conf)
    _check_manifest_header(call.headers.get("x-object-manifest"))
    when = delete_at(call)
    remove_expiry = "x-remove-delete-at" in call.headers
    new_type = call.headers.get("content-type")

    def change(row: m.StoredObject) -> None:
        kept = {k: v for k, v in row.meta.items() if k == large.SLO or k.startswith("x-sys-")}
        if large.DLO in row.meta and large.DLO not in user:
            kept[large.DLO] = row.meta[large.DLO]
        kept.update(user)
        row.meta = kept
        if new_type:
            row.content_type = new_type
        if when is not None:
            row.delete_at = when
        elif remove_expiry:
            row.delete_at = None

    await objects.update_object(call.svc, container, name, change)
    return call.reply(202, b"", content_type="text/html; charset=UTF-8")


async def delete(call: Call) -> Response:
    """Delete the object (and a manifest's segments, with multipart-manifest=delete)."""
    name = check_name(call)
    container = await access.container_for(call, write=True)
    if call.query.get("multipart-manifest") == "delete":
        from stackling.object.swift import slo

        return await slo.delete_manifest(call, container, name)
    await objects.delete_object(call.svc, container, name)
    return call.reply(204)
