"""The S3 API as an ASGI app, path-style: /s3/<bucket>/<key>.

Buckets are the Swift containers of the caller's project and objects their
objects: the same rows, so either API sees what the other wrote. A bucket
name is unique within a project only, so another project's bucket is simply
not there for the caller (NoSuchBucket), never someone else's (AccessDenied).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from stackling.common import errors
from stackling.object.s3 import auth, buckets, listing, multipart, objects
from stackling.object.s3.call import XML, S3Call, new_request_id, translate
from stackling.object.s3.errors import S3Error, render

LOG = logging.getLogger(__name__)
MOUNT = "/s3"

Handler = Callable[[S3Call], Awaitable[Response]]

# (level, method, subresource) -> handler; "" is the plain request.
_ROUTES: dict[tuple[str, str, str], Handler] = {
    ("service", "GET", ""): buckets.list_buckets,
    ("bucket", "PUT", ""): buckets.create,
    ("bucket", "HEAD", ""): buckets.head,
    ("bucket", "DELETE", ""): buckets.delete,
    ("bucket", "GET", ""): listing.list_objects,
    ("bucket", "GET", "location"): buckets.location,
    ("bucket", "GET", "versioning"): buckets.versioning,
    ("bucket", "GET", "acl"): buckets.acl,
    ("bucket", "GET", "uploads"): multipart.list_uploads,
    ("bucket", "POST", "delete"): objects.delete_many,
    ("object", "PUT", ""): objects.put,
    ("object", "GET", ""): objects.get,
    ("object", "HEAD", ""): objects.head,
    ("object", "DELETE", ""): objects.delete,
    ("object", "GET", "acl"): buckets.acl,
    ("object", "POST", "uploads"): multipart.initiate,
    ("object", "PUT", "uploadId"): multipart.upload_part,
    ("object", "GET", "uploadId"): multipart.list_parts,
    ("object", "POST", "uploadId"): multipart.complete,
    ("object", "DELETE", "uploadId"): multipart.abort,
}
# Query parameters that name an S3 subresource (an operation of its own), as opposed to
# parameters of the plain request (prefix, max-keys, response-content-type...).
_SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "delete",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versioning",
        "versions",
        "website",
    }
)


def split_path(raw_path: bytes) -> tuple[str | None, str | None]:
    """(bucket, key) of a path under /s3; either is None when the path stops before it."""
    try:
        path = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("InvalidArgument", "Invalid UTF-8 in the request path") from None
    if "\x00" in path:
        raise S3Error("InvalidArgument", "Invalid character in the request path")
    rest = path[len(MOUNT) :].lstrip("/")
    if not rest:
        return None, None
    bucket, sep, key = rest.partition("/")
    return bucket, key if sep and key else None


def _subresource(query: dict[str, str]) -> str:
    named = [name for name in query if name in _SUBRESOURCES]
    if not named:
        return ""
    # A part upload names its upload too: uploadId decides, partNumber rides along.
    if "uploadId" in named:
        return "uploadId"
    return named[0]


class S3App:
    """Serves /s3."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        call: S3Call | None = None
        try:
            call = self.make_call(request, request_id)
            response = await self.handle(call)
        except S3Error as err:
            response = self.error(request, request_id, err)
        except errors.StacklingError as err:
            response = self.error(request, request_id, translate(err, call))
        except Exception:
            LOG.exception("unexpected error in %s %s", request.method, scope.get("path"))
            response = self.error(request, request_id, S3Error("InternalError"))
        await response(scope, receive, send)

    def make_call(self, request: Request, request_id: str) -> S3Call:
        """The call a request makes, before authentication."""
        bucket, key = split_path(request.scope.get("raw_path") or request.scope["path"].encode())
        query = dict(
            parse_qsl(
                request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
            )
        )
        return S3Call(
            request=request,
            svc=self.runtime.service("object").svc,
            runtime=self.runtime,
            request_id=request_id,
            bucket=bucket,
            key=key,
            query=query,
        )

    def error(self, request: Request, request_id: str, err: S3Error) -> Response:
        """An S3 error response (no body for HEAD)."""
        body = b"" if request.method == "HEAD" else render(err, request_id)
        headers = {"x-amz-request-id": request_id, "x-amz-id-2": request_id, **err.headers}
        return Response(body, status_code=err.status, headers=headers, media_type=XML)

    async def handle(self, call: S3Call) -> Response:
        """Authenticate, then route by path depth, method and subresource."""
        level = "object" if call.key is not None else "bucket" if call.bucket else "service"
        await auth.authenticate(call)
        sub = _subresource(call.query)
        handler = _ROUTES.get((level, call.method, sub))
        if handler is None:
            # An S3 operation Stackling does not serve is NotImplemented; a method the
            # resource has no operation for (POST on a key without ?uploads...) is not a
            # missing feature but a wrong request, as in s3api.
            if sub:
                raise S3Error("NotImplemented")
            raise S3Error("MethodNotAllowed", headers={"Allow": _allowed(level)})
        return await handler(call)


def _allowed(level: str) -> str:
    return ", ".join(sorted({method for lvl, method, sub in _ROUTES if lvl == level and not sub}))
