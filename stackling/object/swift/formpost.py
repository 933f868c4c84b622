"""Form POST: browsers upload straight into a container with a signed HTML form.

As Swift's formpost middleware: the form's fields (redirect, max_file_size,
max_file_count, expires, signature) come first, then its files; each file is
stored as <path's prefix><filename>. The signature is an HMAC, keyed with one
of the account's or container's temp URL keys, over
"PATH\\nREDIRECT\\nMAX_FILE_SIZE\\nMAX_FILE_COUNT\\nEXPIRES". The body is read as
it arrives: a file's bytes go to the store without being held in memory.
"""

from __future__ import annotations

import hmac
import mimetypes
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import quote

from starlette.requests import ClientDisconnect
from starlette.responses import Response

from stackling.common import errors
from stackling.object.errors import ClientDisconnected
from stackling.object.service import containers, objects
from stackling.object.service.objects import NewObject
from stackling.object.swift import access, tempurl
from stackling.object.swift.call import Call

# Swift reads at most this much of a field's value and drops the rest.
MAX_VALUE_LENGTH = 4096
MAX_HEADER_BLOCK = 8192
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def capabilities() -> dict[str, list[str]]:
    """The formpost section of /info, as Swift registers it."""
    return {
        "allowed_digests": list(tempurl.ALLOWED_DIGESTS),
        "deprecated_digests": list(tempurl.DEPRECATED_DIGESTS),
    }


class FormError(Exception):
    """A form Swift's formpost refuses; `status` 400 or 401, rendered "FormPost: ..."."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_header_value(value: str) -> tuple[str, dict[str, str]]:
    """("form-data", {"name": ..., "filename": ...}) from a Content-Disposition or -Type."""
    main, _, rest = value.partition(";")
    attrs: dict[str, str] = {}
    for key, raw in _PARAM.findall(";" + rest):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        attrs[key.lower()] = raw
    return main.strip().lower(), attrs


class MultipartReader:
    """A multipart body read part by part from a byte stream, never all at once."""

    def __init__(self, stream: AsyncIterator[bytes], boundary: bytes) -> None:
        self._stream = stream
        self._delimiter = b"\r\n--" + boundary
        self._buf = b""
        self._eof = False

    async def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            chunk = await anext(self._stream, None)
        except ClientDisconnect:
            raise ClientDisconnected("Client disconnected") from None
        if chunk is None:
            self._eof = True
            return False
        self._buf += chunk
        return True

    async def start(self) -> None:
        """Skip blank lines up to the first boundary; 400 when the body does not start so."""
        opening = self._delimiter[2:]
        while len(self._buf) < len(opening) + 2 and await self._fill():
            pass
        while self._buf.startswith(b"\r\n"):
            self._buf = self._buf[2:]
            while len(self._buf) < len(opening) and await self._fill():
                pass
        if not self._buf.startswith(opening):
            raise FormError(400, "invalid starting boundary")
        self._buf = self._buf[len(opening) :]

    async def next_part(self) -> dict[str, str] | None:
        """The headers of the next part (lower-case names), or None after the last."""
        while len(self._buf) < 2 and await self._fill():
            pass
        if self._buf.startswith(b"--") or not self._buf:
            return None
        while b"\r\n\r\n" not in self._buf:
            if len(self._buf) > MAX_HEADER_BLOCK or not await self._fill():
                raise FormError(400, "invalid part headers")
        block, _, self._buf = self._buf.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        # The block starts with the rest of the boundary line (transport padding).
        for line in block.split(b"\r\n")[1:]:
            name, sep, value = line.decode("utf-8", "replace").partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        return headers

    async def data(self) -> AsyncIterator[bytes]:
        """The current part's bytes, up to the next boundary (which is consumed)."""
        keep = len(self._delimiter) - 1
        while True:
            at = self._buf.find(self._delimiter)
            if at >= 0:
                chunk, self._buf = self._buf[:at], self._buf[at + len(self._delimiter) :]
                if chunk:
                    yield chunk
                return
            if len(self._buf) > keep:
                chunk, self._buf = self._buf[:-keep], self._buf[-keep:]
                yield chunk
            if not await self._fill():
                raise FormError(400, "unexpected end of the form")

    async def value(self) -> str:
        """The current part as a field value: its first MAX_VALUE_LENGTH bytes."""
        got = b""
        async for chunk in self.data():
            if len(got) < MAX_VALUE_LENGTH:
                got += chunk[: MAX_VALUE_LENGTH - len(got)]
        return got.decode("utf-8", "replace")


def _int_field(fields: dict[str, str], name: str, what: str) -> int:
    try:
        return int(fields.get(name) or 0)
    except ValueError:
        raise FormError(400, f"{name} not an integer{what}") from None


def signed_paths(call: Call) -> list[str]:
    """The path the form was signed for, as Swift sees it and as our URL shows it."""
    path = str(call.request.scope["path"])
    return [path.removeprefix(tempurl.PREFIX), path]


def check_signature(call: Call, fields: dict[str, str], keys: list[str]) -> None:
    """401 unless the form is unexpired and signed with one of the keys."""
    if int(fields.get("expires") or 0) < time.time():
        raise FormError(401, "form expired")
    try:
        digest, signature = tempurl.parse_signature(fields.get("signature", ""))
    except ValueError:
        raise FormError(401, "invalid signature") from None
    if digest not in tempurl.ALLOWED_DIGESTS:
        raise FormError(401, "invalid signature")
    valid = False
    for key in keys:
        for path in signed_paths(call):
            body = "\n".join(
                [
                    path,
                    fields.get("redirect") or "",
                    fields.get("max_file_size") or "0",
                    fields.get("max_file_count") or "0",
                    fields.get("expires") or "0",
                ]
            )
            expected = hmac.new(key.encode(), body.encode(), digest).hexdigest()
            valid |= hmac.compare_digest(expected, signature)
    if not valid:
        raise FormError(401, "invalid signature")


def _delete_at(fields: dict[str, str]) -> int | None:
    if "x_delete_after" in fields:
        after = _int_field(fields, "x_delete_after", ": Number of seconds required.")
        return int(time.time()) + after
    if "x_delete_at" in fields:
        return _int_field(fields, "x_delete_at", ": Unix timestamp required.")
    return None


async def _capped(parts: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in parts:
        size += len(chunk)
        if size > limit:
            raise FormError(400, "max_file_size exceeded")
        yield chunk


async def store_file(
    call: Call, reader: MultipartReader, fields: dict[str, str], keys: list[str]
) -> None:
    """Check the form so far, then store one file part as <prefix><filename>."""
    if not keys:
        raise FormError(401, "invalid signature")
    max_size = _int_field(fields, "max_file_size", "")
    delete_at = _delete_at(fields)
    _int_field(fields, "expires", "")
    check_signature(call, fields, keys)
    name = (call.obj or "") + fields["filename"]
    limit = call.svc.conf.max_object_name_length
    if len(name.encode()) > limit:
        raise errors.BadRequest(f"Object name length of {len(name)} longer than {limit}")
    if delete_at is not None and delete_at <= time.time():
        raise errors.BadRequest("X-Delete-At in past")
    row = await containers.lookup(call.svc, call.account, call.container or "")
    if row is None:
        raise errors.NotFound("The resource could not be found.")
    ctype = fields.get("content-type") or mimetypes.guess_type(name, strict=False)[0]
    new = NewObject(content_type=ctype or "application/octet-stream", delete_at=delete_at)
    if fields.get("content-encoding"):
        new.meta["content-encoding"] = fields["content-encoding"]
    await objects.put_object(call.svc, row, name, _capped(reader.data(), max_size), new)


@dataclass(slots=True)
class Outcome:
    """How a form ended: the status, Swift's message, and the body of a failed store."""

    status: int
    message: str = ""
    failed_body: bytes = b""
    redirect: str = ""


async def upload(call: Call, boundary: str) -> Outcome:
    """Store the form's files, one after another, until one fails."""
    keys = await tempurl.keys_for(call)
    reader = MultipartReader(aiter(call.request.stream()), boundary.encode())
    await reader.start()
    fields: dict[str, str] = {}
    count = 0
    status = 0
    while (headers := await reader.next_part()) is not None:
        kind, attrs = parse_header_value(headers.get("content-disposition", ""))
        if kind != "form-data" or not attrs.get("filename"):
            value = await reader.value()
            if "name" in attrs:
                fields[attrs["name"].lower()] = value.rstrip("\r\n-")
            continue
        count += 1
        if count > _int_field(fields, "max_file_count", ""):
            return Outcome(400, "max file count exceeded", redirect=fields.get("redirect", ""))
        file_fields = dict(fields, filename=attrs["filename"])
        if "content-type" not in fields and "content-type" in headers:
            file_fields["content-type"] = headers["content-type"] or "application/octet-stream"
        if "content-encoding" not in fields and "content-encoding" in headers:
            file_fields["content-encoding"] = headers["content-encoding"]
        try:
            await store_file(call, reader, file_fields, keys)
        except errors.StacklingError as err:
            # As a failed subrequest in Swift: its status and body end the form.
            return Outcome(err.status, "", err.message.encode(), fields.get("redirect", ""))
        status = 201
    if not status:
        return Outcome(400, "no files to process", redirect=fields.get("redirect", ""))
    return Outcome(status, redirect=fields.get("redirect", ""))


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def respond(call: Call, out: Outcome) -> Response:
    """The form's answer: 303 to its redirect, or the status with a text body."""
    if not out.redirect:
        text = _status_line(out.status)
        if out.message:
            text += "\r\nFormPost: " + out.message.title()
        body = out.failed_body if out.status >= 300 and out.failed_body else text.encode()
        return call.reply(out.status, body, content_type="text/plain")
    redirect = out.redirect + ("&" if "?" in out.redirect else "?")
    redirect += f"status={quote(str(out.status))}&message={quote(out.message)}"
    page = f'<html><body><p><a href="{redirect}">Click to continue...</a></p></body></html>'
    return call.reply(303, page.encode(), headers={"Location": redirect}, content_type="text/html")


async def handle(call: Call) -> Response:
    """A multipart/form-data POST to a container (or prefix) signed with a temp URL key."""
    ctype, attrs = parse_header_value(call.headers.get("content-type", ""))
    if ctype != "multipart/form-data" or not attrs.get("boundary"):
        return await _ordinary_post(call)
    try:
        out = await upload(call, attrs["boundary"])
    except FormError as err:
        body = f"FormPost: {err.message.title() if err.status == 401 else err.message}"
        headers = {"Www-Authenticate": 'Keystone uri="identity"'} if err.status == 401 else {}
        return call.reply(err.status, body.encode(), headers=headers, content_type="text/plain")
    return respond(call, out)


async def _ordinary_post(call: Call) -> Response:
    """Not a form Swift would parse (no boundary): the POST the API would answer."""
    from stackling.object.swift import container
    from stackling.object.swift import object as objects_api

    if call.obj is not None:
        return await objects_api.post(call)
    access.require_owner(call)
    return await container.post(call)
