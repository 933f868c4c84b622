"""Bulk operations: many deletes in one request, and uploads from a tar archive.

As Swift's bulk middleware, both always answer 200: what happened is in the
body ("Response Status", counts, and the paths that failed), rendered as
text, JSON or XML by the Accept header.
"""

from __future__ import annotations

import asyncio
import json
import tarfile
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import quote, unquote_to_bytes
from xml.sax.saxutils import escape

from starlette.responses import Response

from stackling.common import errors
from stackling.object import models as m
from stackling.object.errors import PreconditionFailed
from stackling.object.service import containers, objects
from stackling.object.service.objects import HISTORY, VERSIONS, NewObject
from stackling.object.swift import access, large, meta
from stackling.object.swift import object as obj_api
from stackling.object.swift.call import PLAIN, Call

ACCEPTABLE = ("text/plain", "application/json", "application/xml", "text/xml")
MAX_FAILED = 1000
_CHUNK = 64 * 1024
# Swift's reason phrases where Python's differ (or have none).
_PHRASES = {413: "Request Entity Too Large", 499: "Client Disconnect"}
T = TypeVar("T")


class _Abort(Exception):
    """Stop the whole operation; its status and body go in the report."""

    def __init__(self, status: str, body: str = "") -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class _BadArchive(Exception):
    """The archive does not read as a tar (or its compression is broken)."""


def status_line(code: int, fallback: str = "") -> str:
    """A status as Swift writes it in bulk reports: "404 Not Found"."""
    phrase = _PHRASES.get(code)
    if phrase is None:
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = fallback
    return f"{code} {phrase}"


def _error_line(err: errors.StacklingError) -> str:
    return status_line(err.status, err.title)


def out_format(call: Call) -> str | None:
    """The report's media type from Accept (text/plain without one); None when none fits."""
    accept = call.headers.get("accept")
    if not accept or not accept.strip():
        return "text/plain"
    best, best_q = None, 0.0
    for kind in ACCEPTABLE:
        q = _quality(accept, kind)
        if q > best_q:
            best, best_q = kind, q
    return best


def _quality(accept: str, kind: str) -> float:
    major = kind.split("/")[0]
    found, rank = 0.0, -1
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        media = media.lower()
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        # The most specific range that matches decides (RFC 9110 12.5.1).
        specific = 2 if media == kind else 1 if media == f"{major}/*" else 0
        if media in (kind, f"{major}/*", "*/*") and specific > rank:
            found, rank = q, specific
    return found


def render(fmt: str | None, fields: dict[str, Any], failures: list[list[str]], root: str) -> bytes:
    """The report body, as Swift's get_heartbeat_response_body writes it."""
    if fmt == "application/json":
        return json.dumps({**fields, "Errors": failures}).encode()
    if fmt is not None and fmt.endswith("/xml"):
        out = [f"<{root}>\n"]
        for key in sorted(fields):
            tag = key.replace(" ", "_").lower()
            out.append(f"<{tag}>{escape(str(fields[key]))}</{tag}>\n")
        out.append("<errors>\n")
        for name, status in failures:
            out.append(
                f"<object><name>{escape(name)}</name><status>{escape(status)}</status></object>\n"
            )
        out.append(f"</errors>\n</{root}>\n")
        return "".join(out).encode()
    lines = [f"{key}: {fields[key]}\n" for key in sorted(fields)]
    lines.append("Errors:\n")
    lines.extend(f"{name}, {status}\n" for name, status in failures)
    return "".join(lines).encode()


def report(
    call: Call, fmt: str | None, fields: dict[str, Any], failures: list[list[str]], root: str
) -> Response:
    """200 with the report in the asked format."""
    return call.reply(200, render(fmt, fields, failures, root), content_type=fmt or PLAIN)


# Deletes ------------------------------------------------------------------


@dataclass(slots=True)
class Item:
    """A path to delete ("/container/object" or "/container"), or why it cannot be."""

    path: str
    error: errors.StacklingError | None = None

    @property
    def is_object(self) -> bool:
        """Whether the path names an object rather than a container."""
        return "/" in self.path.strip("/")


@dataclass(slots=True)
class _Tally:
    deleted: int = 0
    not_found: int = 0
    failures: list[list[str]] = field(default_factory=list)

    def failed(self, path: str, reason: str) -> None:
        self.failures.append([quote(path), reason])
        if len(self.failures) >= MAX_FAILED:
            raise _Abort(status_line(400), "Max delete failures exceeded")

    def refused(self, path: str, err: errors.StacklingError) -> None:
        if err.status == 404:
            self.not_found += 1
        else:
            self.failed(path, _error_line(err))


async def delete(call: Call) -> Response:
    """POST ?bulk-delete: delete the listed objects and empty containers."""
    fmt = out_format(call)
    try:
        if fmt is None:
            raise _Abort(status_line(406))
        incoming = call.headers.get("content-type")
        if incoming and not incoming.startswith("text/plain"):
            raise _Abort(status_line(406))
        items = await _read_paths(call)
    except _Abort as abort:
        fields = _delete_fields(_Tally(), abort.status, abort.body)
        return report(call, fmt, fields, [], "delete")
    return await delete_items(call, items, fmt)


async def delete_items(call: Call, items: list[Item], fmt: str | None) -> Response:
    """Delete the objects, then the containers, and report as Swift's bulk delete does."""
    tally = _Tally()
    status, body = status_line(200), ""
    try:
        await _delete_objects(call, [i for i in items if i.is_object], tally)
        for item in items:
            if not item.is_object and item.path.strip("/"):
                await _delete_container(call, item, tally)
        if tally.failures:
            status = status_line(400)
        elif not tally.deleted and not tally.not_found:
            status, body = status_line(400), "Invalid bulk delete."
    except _Abort as abort:
        status, body = abort.status, abort.body
    return report(call, fmt, _delete_fields(tally, status, body), tally.failures, "delete")


def _delete_fields(tally: _Tally, status: str, body: str) -> dict[str, Any]:
    return {
        "Response Status": status,
        "Response Body": body,
        "Number Deleted": tally.deleted,
        "Number Not Found": tally.not_found,
    }


async def _read_paths(call: Call) -> list[Item]:
    """The body's newline-separated, URL-encoded paths."""
    if call.headers.get("content-length") is None and "chunked" not in call.headers.get(
        "transfer-encoding", ""
    ):
        raise _Abort(status_line(411))
    conf = call.svc.conf
    longest = conf.max_object_name_length + conf.max_container_name_length + 2
    limit = conf.max_deletes_per_request
    items: list[Item] = []
    pending = b""
    async for chunk in obj_api.body(call):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            _add_path(items, line)
        if len(items) > limit:
            raise _Abort(status_line(413), f"Maximum Bulk Deletes: {limit} per request")
        if len(pending) > longest * 2:
            raise _Abort(status_line(400), "Invalid File Name")
    _add_path(items, pending)
    if len(items) > limit:
        raise _Abort(status_line(413), f"Maximum Bulk Deletes: {limit} per request")
    return items


def _add_path(items: list[Item], line: bytes) -> None:
    raw = unquote_to_bytes(line.strip())
    if not raw:
        return
    try:
        path = raw.decode("utf-8")
    except UnicodeDecodeError:
        path = raw.decode("utf-8", "replace")
        items.append(Item(path, PreconditionFailed("Invalid UTF8 or contains NULL")))
        return
    if "\x00" in path:
        items.append(Item(path, PreconditionFailed("Invalid UTF8 or contains NULL")))
        return
    items.append(Item(path))


async def _delete_objects(call: Call, items: list[Item], tally: _Tally) -> None:
    # One transaction per container rather than one per object.
    by_container: dict[str, list[tuple[Item, str]]] = {}
    for item in items:
        if item.error is not None:
            if item.error.status == 404:
                tally.not_found += 1
            else:
                reason = item.error.message if item.error.status == 400 else None
                tally.failed(item.path, reason or _error_line(item.error))
            continue
        cont, _, name = item.path.lstrip("/").partition("/")
        if len(name.encode()) > call.svc.conf.max_object_name_length:
            tally.failed(item.path, status_line(400))
            continue
        by_container.setdefault(cont, []).append((item, name))
    for cont, wanted in by_container.items():
        try:
            row = await access.container_for(large.at(call, cont), write=True)
        except errors.StacklingError as err:
            for item, _ in wanted:
                tally.refused(item.path, err)
            continue
        results = await _delete_names(call, row, list(dict.fromkeys(n for _, n in wanted)))
        for item, name in wanted:
            # A name listed twice is gone the second time.
            code = results.pop(name, 404)
            if code == 204:
                tally.deleted += 1
            elif code == 404:
                tally.not_found += 1
            else:
                tally.failed(item.path, status_line(code))


async def _delete_names(call: Call, row: m.ObjectContainer, names: list[str]) -> dict[str, int]:
    if not (row.meta.get(VERSIONS) or row.meta.get(HISTORY)):
        return await objects.delete_many(call.svc, row, names)
    # Versioned containers archive or restore on each delete: one at a time.
    out: dict[str, int] = {}
    for name in names:
        try:
            await objects.delete_object(call.svc, row, name)
            out[name] = 204
        except errors.StacklingError as err:
            out[name] = err.status
    return out


async def _delete_container(call: Call, item: Item, tally: _Tally) -> None:
    name = item.path.strip("/")
    if item.error is not None:
        tally.refused(item.path, item.error)
        return
    view = large.at(call, name)
    if not view.is_owner:
        tally.refused(item.path, access.deny(view))
        return
    try:
        await containers.delete_container(call.svc, call.account, name)
    except errors.StacklingError as err:
        tally.refused(item.path, err)
        return
    tally.deleted += 1


# Archive extraction -------------------------------------------------------

_KINDS = {"tar": "", "tar.gz": "gz", "tar.bz2": "bz2"}
_PAX_TYPE = ("SCHILY.xattr.user.mime_type", "LIBARCHIVE.xattr.user.mime_type")
_PAX_META = ("SCHILY.xattr.user.meta.", "LIBARCHIVE.xattr.user.meta.")


async def extract(call: Call) -> Response:
    """PUT ?extract-archive=tar|tar.gz|tar.bz2: create the archive's files as objects."""
    compression = _KINDS.get(call.query.get("extract-archive", "").lower().strip("."))
    if compression is None:
        raise errors.BadRequest("Unsupported archive format")
    fmt = out_format(call)
    fields: dict[str, Any] = {
        "Response Status": status_line(201),
        "Response Body": "",
        "Number Files Created": 0,
    }
    failures: list[list[str]] = []
    try:
        if fmt is None:
            raise _Abort(status_line(406))
        if call.headers.get("content-length") is None and "chunked" not in call.headers.get(
            "transfer-encoding", ""
        ):
            raise _Abort(status_line(411))
        await _Extraction(call, fields, failures).run(compression)
        if failures:
            fields["Response Status"] = status_line(400)
        elif not fields["Number Files Created"]:
            fields["Response Status"] = status_line(400)
            fields["Response Body"] = "Invalid Tar File: No Valid Files"
    except _Abort as abort:
        fields["Response Status"], fields["Response Body"] = abort.status, abort.body
    except _BadArchive as err:
        fields["Response Status"] = status_line(400)
        fields["Response Body"] = f"Invalid Tar File: {err}"
    return report(call, fmt, fields, failures, "extract")


class _BodyFile:
    """The request body as a blocking file for tarfile on a worker thread.

    Each read asks the event loop for the next chunks, so the archive streams
    through: only a chunk and tarfile's own buffer are in memory at a time.
    """

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._chunks = chunks
        self._loop = loop
        self._buf = bytearray()
        self._done = False

    async def _next(self) -> bytes | None:
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            return None

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative); b"" at the end."""
        while not self._done and (size < 0 or len(self._buf) < size):
            chunk = asyncio.run_coroutine_threadsafe(self._next(), self._loop).result()
            if chunk is None:
                self._done = True
            else:
                self._buf += chunk
        take = len(self._buf) if size < 0 else min(size, len(self._buf))
        out = bytes(self._buf[:take])
        del self._buf[:take]
        return out


async def _tar(fn: Callable[..., T], *args: Any) -> T:
    """Run a tarfile call on a worker thread; a damaged archive is a _BadArchive."""
    try:
        return await asyncio.to_thread(fn, *args)
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise _BadArchive(str(exc) or type(exc).__name__) from None


class _Extraction:
    """One archive upload: its members become objects, containers made as needed."""

    def __init__(self, call: Call, fields: dict[str, Any], failures: list[list[str]]) -> None:
        self.call = call
        self.fields = fields
        self.failures = failures
        base = "/".join(p for p in (call.container, call.obj) if p)
        self.base = base.rstrip("/")
        self.seen: dict[str, m.ObjectContainer | errors.StacklingError] = {}
        self.created = 0

    async def run(self, compression: str) -> None:
        """Read the archive member by member and store each regular file."""
        reader = _BodyFile(obj_api.body(self.call), asyncio.get_running_loop())
        tar = await _tar(tarfile.open, None, "r|" + compression, reader)
        while len(self.failures) < MAX_FAILED:
            member = await _tar(tar.next)
            if member is None:
                break
            if member.isfile():
                await self._member(tar, member)

    async def _member(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        path = member.name.removeprefix("./").lstrip("/")
        if self.base:
            path = f"{self.base}/{path}"
        if "/" not in path:
            return  # a file at the top of an account upload has no container
        cont, _, name = path.partition("/")
        conf = self.call.svc.conf
        if "\x00" in path:
            self.failures.append([quote(path), status_line(412)])
            return
        if member.size > conf.max_file_size:
            self.failures.append([quote(path), status_line(413)])
            return
        if not name or len(name.encode()) > conf.max_object_name_length:
            self.failures.append([quote(path), status_line(400)])
            return
        target = await self._container(cont)
        if isinstance(target, errors.StacklingError):
            self.failures.append([quote(path), _error_line(target)])
            if target.status == 401:
                raise _Abort(status_line(401))
            return
        data = await _tar(tar.extractfile, member)
        assert data is not None  # regular files always have data
        new = self._new_object(name, member)
        try:
            await objects.put_object(self.call.svc, target, name, _read_all(data), new)
        except errors.StacklingError as err:
            self.failures.append([quote(path), _error_line(err)])
            return
        self.fields["Number Files Created"] += 1

    async def _container(self, name: str) -> m.ObjectContainer | errors.StacklingError:
        known = self.seen.get(name)
        if known is not None:
            return known
        call = large.at(self.call, name)
        conf = call.svc.conf
        result: m.ObjectContainer | errors.StacklingError
        if len(name.encode()) > conf.max_container_name_length:
            result = errors.BadRequest("Container name too long")
        else:
            if call.is_owner and await containers.lookup(call.svc, call.account, name) is None:
                self.created += 1
                if self.created > conf.max_containers_per_extraction:
                    raise _Abort(
                        status_line(400),
                        f"More than {conf.max_containers_per_extraction} containers to "
                        "create from tar.",
                    )
                await containers.create_container(call.svc, call.account, name, {})
            try:
                result = await access.container_for(call, write=True)
            except errors.StacklingError as err:
                result = err
        self.seen[name] = result
        return result

    def _new_object(self, name: str, member: tarfile.TarInfo) -> NewObject:
        headers = self.call.headers
        user = meta.object_meta(headers, self.call.svc.conf)
        user = {k: v for k, v in user.items() if k.startswith("x-object-meta-")}
        ctype = obj_api.content_type(self.call, name)
        for key, value in member.pax_headers.items():
            if key in _PAX_TYPE:
                ctype = value
            for prefix in _PAX_META:
                if key.startswith(prefix):
                    user[f"x-object-meta-{key[len(prefix) :]}".lower()] = value
        return NewObject(
            content_type=ctype,
            meta=user,
            delete_at=obj_api.delete_at(self.call),
            length=member.size,
        )


async def _read_all(data: Any) -> AsyncIterator[bytes]:
    while True:
        chunk = await _tar(data.read, _CHUNK)
        if not chunk:
            return
        yield chunk
