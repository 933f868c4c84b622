"""One S3 request: the bucket and key of the path, the caller, the body, and replies."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.object import errors as object_errors
from stackling.object.s3.errors import S3Error
from stackling.object.s3.xmlbody import MAX_BODY, Children, to_xml
from stackling.object.service import uploads
from stackling.object.service.core import ObjectService

XML = "application/xml"

BodyFilter = Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]


def new_request_id() -> str:
    """An S3-looking request id: 16 upper-case hex digits."""
    return os.urandom(8).hex().upper()


def _passthrough(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    return chunks


@dataclass(slots=True)
class S3Call:
    """What every S3 handler works from."""

    request: Request
    svc: ObjectService
    runtime: Any
    request_id: str
    bucket: str | None
    key: str | None
    query: dict[str, str]
    # The caller; None for an anonymous request.
    ctx: RequestContext | None = None
    # The project whose buckets the path names (the caller's, or a public bucket's owner).
    project_id: str = ""
    # Verifies or decodes the body as the signature asks (payload digest, aws-chunked).
    body_filter: BodyFilter = field(default=_passthrough)

    @property
    def headers(self) -> Headers:
        """The request headers."""
        return self.request.headers

    @property
    def method(self) -> str:
        """The request method."""
        return self.request.method

    @property
    def owner(self) -> dict[str, str]:
        """The Owner element of listings: the project, named as the caller knows it."""
        name = self.ctx.project_name if self.ctx and self.ctx.project_name else self.project_id
        return {"ID": self.project_id, "DisplayName": name}

    def body(self) -> AsyncIterator[bytes]:
        """The payload as it arrives, verified (or decoded) as its signature requires."""
        return self.body_filter(_raw(self.request))

    async def read_body(self, limit: int = MAX_BODY) -> bytes:
        """A small request document, whole; larger than `limit` is MalformedXML."""
        data = bytearray()
        async for chunk in self.body():
            data += chunk
            if len(data) > limit:
                raise S3Error("MalformedXML", "Your request body is too large.")
        return bytes(data)

    def reply(
        self,
        status: int = 200,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> Response:
        """A response with the headers every S3 response carries."""
        out = {"x-amz-request-id": self.request_id, "x-amz-id-2": self.request_id}
        out.update(headers or {})
        resp = Response(body, status_code=status, headers=out, media_type=content_type)
        if status in (204, 304):
            del resp.headers["content-length"]
        return resp

    def xml(self, root: str, children: Children, status: int = 200) -> Response:
        """An XML document response."""
        return self.reply(status, to_xml(root, children), content_type=XML)


async def _raw(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise S3Error("IncompleteBody") from None


# Domain errors whose S3 code does not depend on where they were raised.
_CODES: tuple[tuple[type[errors.StacklingError], str], ...] = (
    (uploads.NoSuchUpload, "NoSuchUpload"),
    (uploads.InvalidPart, "InvalidPart"),
    (uploads.InvalidPartOrder, "InvalidPartOrder"),
    (uploads.EntityTooSmall, "EntityTooSmall"),
    (object_errors.UnprocessableEntity, "BadDigest"),
    (object_errors.PreconditionFailed, "PreconditionFailed"),
    (object_errors.RangeNotSatisfiable, "InvalidRange"),
    (object_errors.LengthRequired, "MissingContentLength"),
    (object_errors.ClientDisconnected, "IncompleteBody"),
    (errors.PayloadTooLarge, "EntityTooLarge"),
    (errors.Unauthorized, "AccessDenied"),
    (errors.Forbidden, "AccessDenied"),
    (errors.NotImplementedYet, "NotImplemented"),
    (errors.MethodNotAllowed, "MethodNotAllowed"),
    (errors.BadRequest, "InvalidArgument"),
)


def translate(err: errors.StacklingError, call: S3Call | None) -> S3Error:
    """The S3 error for a domain error raised below the S3 layer."""
    if isinstance(err, errors.NotFound) and not isinstance(err, uploads.NoSuchUpload):
        if call is not None and call.key is not None:
            return S3Error("NoSuchKey", resource=call.key, Key=call.key)
        return S3Error("NoSuchBucket", BucketName=call.bucket or "" if call else "")
    for kind, code in _CODES:
        if isinstance(err, kind):
            return S3Error(code, err.message if code == "InvalidArgument" else None)
    if isinstance(err, errors.Conflict):
        return S3Error("InvalidRequest", err.message)
    return S3Error("InternalError")
