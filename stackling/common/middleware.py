"""ASGI middleware shared by every API: request ids, the access log, the body size limit."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOG = logging.getLogger("stackling.access")

# The id of the request being served, for log lines written while serving it.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def new_request_id() -> str:
    """An OpenStack-style request id."""
    return f"req-{uuid.uuid4()}"


class RequestIdLogFilter(logging.Filter):
    """Adds the current request id to every log record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RequestIdMiddleware:
    """Gives each request an id, returns it as `x-openstack-request-id`, logs the request."""

    def __init__(self, app: ASGIApp, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        header = request_id.encode()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-openstack-request-id", header))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log:
                client = scope.get("client") or ("-", 0)
                ACCESS_LOG.info(
                    '%s "%s %s" status %d len - time %.4f',
                    client[0],
                    scope["method"],
                    scope.get("raw_path", b"").decode("latin-1") or scope["path"],
                    status,
                    time.perf_counter() - started,
                )
            request_id_var.reset(token)


TooLarge = Callable[[Scope, int], Awaitable[Response]]


class BodyLimitMiddleware:
    """Answers 413 to a request body over `max_bytes`, before any route reads it.

    Keystone refuses bodies over 112 KiB (oslo's sizelimit middleware) so that a
    client cannot make the server buffer and parse megabytes of JSON. A declared
    Content-Length over the limit is refused unread; a chunked body is read up
    to the limit and handed to the app from memory. Paths matching one of
    `streamed` (image data, objects) are exempt: their routes stream the body
    to storage and apply their own size limits.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        too_large: TooLarge,
        streamed: tuple[re.Pattern[str], ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.too_large = too_large
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.max_bytes <= 0
            or any(p.match(scope["path"]) for p in self.streamed)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = 0  # the server's HTTP parser refuses malformed lengths
            if declared > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its whole body
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            more = message.get("more_body", False)
        buffered = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([buffered], receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.too_large(scope, self.max_bytes)
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out `messages` first, then defers to `receive`."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
