"""ASGI middleware shared by every API: request ids and the access log."""

from __future__ import annotations

import contextvars
import logging
import time
import uuid

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
