"""The Swift API as an ASGI app: path parsing, authentication, dispatch, errors.

Object names are arbitrary (slashes, any UTF-8), so the path is split by hand
rather than by a router: /object/v1/AUTH_<project>/<container>/<object...>.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from stackling.common import errors
from stackling.object.errors import PreconditionFailed
from stackling.object.swift import access, account, container, faults, info
from stackling.object.swift import object as objects
from stackling.object.swift.call import Call, new_trans_id, parse_query

LOG = logging.getLogger(__name__)
PREFIX = "/object"
RESELLER_PREFIX = "AUTH_"

Handler = Callable[[Call], Awaitable[Response]]

_ACCOUNT: dict[str, Handler] = {"GET": account.get, "HEAD": account.head, "POST": account.post}
_CONTAINER: dict[str, Handler] = {
    "PUT": container.put,
    "GET": container.get,
    "HEAD": container.head,
    "POST": container.post,
    "DELETE": container.delete,
}
_OBJECT: dict[str, Handler] = {
    "PUT": objects.put,
    "GET": objects.get,
    "HEAD": objects.head,
    "POST": objects.post,
    "DELETE": objects.delete,
    "COPY": objects.copy,
}


def split_path(raw_path: bytes) -> list[str]:
    """The path after /object, decoded; 412 for invalid UTF-8 or NUL, as Swift answers."""
    try:
        path = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise _precondition("Invalid UTF8 or contains NULL") from None
    if "\x00" in path:
        raise _precondition("Invalid UTF8 or contains NULL")
    return path[len(PREFIX) :].split("/", 4)


def _precondition(message: str) -> errors.StacklingError:
    return PreconditionFailed(message)


class SwiftApp:
    """Serves /object: /info, /healthcheck and /v1/AUTH_<project>/..."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        trans_id = new_trans_id()
        scope.setdefault("state", {})["request_id"] = trans_id
        try:
            response = await self.handle(request, trans_id)
        except errors.StacklingError as err:
            response = self.error(request, trans_id, err)
        except Exception:
            LOG.exception("unexpected error in %s %s", request.method, scope.get("path"))
            response = self.error(request, trans_id, errors.StacklingError())
        await response(scope, receive, send)

    def error(self, request: Request, trans_id: str, err: errors.StacklingError) -> Response:
        """A Swift error response (no body for HEAD)."""
        body = b"" if request.method == "HEAD" else faults.body_for(err)
        headers = {"X-Trans-Id": trans_id, "X-Openstack-Request-Id": trans_id}
        headers.update(getattr(err, "headers", {}) or {})
        resp = Response(body, status_code=err.status, headers=headers)
        resp.headers["content-type"] = faults.content_type_for(err)
        if err.status == 401:
            resp.headers["www-authenticate"] = 'Keystone uri="identity"'
        return resp

    async def handle(self, request: Request, trans_id: str) -> Response:
        """Route by path depth and method."""
        parts = split_path(request.scope.get("raw_path") or request.scope["path"].encode())
        # parts[0] is "" (the slash after /object).
        head = parts[1] if len(parts) > 1 else ""
        if head == "info" and len(parts) == 2:
            return info.respond(request, self.runtime, trans_id)
        if head == "crossdomain.xml" and len(parts) == 2:
            return Response(
                info.CROSS_DOMAIN_POLICY.encode(),
                headers={"X-Trans-Id": trans_id},
                media_type="application/xml; charset=utf-8",
            )
        if head == "healthcheck" and len(parts) == 2:
            return Response(b"OK", headers={"X-Trans-Id": trans_id}, media_type="text/plain")
        if head != "v1" or len(parts) < 3 or not parts[2].startswith(RESELLER_PREFIX):
            raise errors.NotFound("The resource could not be found.")
        project = parts[2][len(RESELLER_PREFIX) :]
        cont = parts[3] if len(parts) > 3 and parts[3] != "" else None
        obj = parts[4] if len(parts) > 4 and parts[4] != "" else None
        if cont is None and len(parts) > 4:
            raise errors.NotFound("The resource could not be found.")
        if obj is None and len(parts) > 4 and parts[4] == "" and cont is not None:
            # A trailing slash after the container is the container itself.
            obj = None
        svc = self.runtime.service("object").svc
        call = Call(
            request=request,
            svc=svc,
            runtime=self.runtime,
            account=project,
            container=cont,
            obj=obj,
            trans_id=trans_id,
            query=parse_query(request.scope.get("query_string", b"")),
        )
        await self.authenticate(call)
        special = await self.middleware(call)
        if special is not None:
            return special
        table = _OBJECT if obj is not None else _CONTAINER if cont is not None else _ACCOUNT
        handler = table.get(request.method)
        if handler is None:
            if request.method == "OPTIONS":
                return call.reply(200, headers={"Allow": ", ".join(sorted(table))})
            raise errors.MethodNotAllowed("Method Not Allowed")
        if obj is None:
            self.check_container_access(call)
        response = await handler(call)
        if call.temp_url:
            from stackling.object.swift import tempurl

            return tempurl.finish(call, response)
        return response

    async def authenticate(self, call: Call) -> None:
        """The caller from X-Auth-Token, a temp URL, or nobody (anonymous)."""
        from stackling.object.swift import tempurl

        if await tempurl.authorize(call):
            call.temp_url = True
            return
        token = call.headers.get("x-auth-token") or call.headers.get("x-storage-token")
        if token:
            validator = call.runtime.token_validator
            call.ctx = await validator.context_for(token, call.trans_id)

    async def middleware(self, call: Call) -> Response | None:
        """Requests Swift's middleware answers instead of the API: bulk and form POST."""
        from stackling.object.swift import bulk, formpost

        if "bulk-delete" in call.query and call.method in ("POST", "DELETE"):
            return await bulk.delete(call)
        if "extract-archive" in call.query and call.method == "PUT":
            return await bulk.extract(call)
        if (
            call.method == "POST"
            and call.container is not None
            and call.headers.get("content-type", "").startswith("multipart/form-data")
        ):
            return await formpost.handle(call)
        return None

    def check_container_access(self, call: Call) -> None:
        """Account requests and container changes are for the account's operators only.

        Container GET and HEAD may also pass through a read ACL; the handlers check it.
        """
        if call.container is not None and call.method in ("GET", "HEAD"):
            return
        access.require_owner(call)
