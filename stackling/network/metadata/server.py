"""The host side of the metadata path: one unix socket every proxy of this host forwards to.

A request arrives from a proxy with X-Neutron-Network-ID and X-Forwarded-For
(the only headers it vouches for). The server finds the instance behind that
address on that network, drops every identity header the guest may have sent,
adds X-Instance-ID, X-Tenant-ID and X-Instance-ID-Signature, and runs the
metadata app in-process (plain ASGI, no HTTP hop). The app comes from the
compute service at start (`Upstream`), so this package imports no compute code.

The socket is 0600 and owned by this process's user: only the proxies (root)
and we can reach it, which is what makes the two headers trustworthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import os
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

from stackling.network.metadata.lookup import PortOwner
from stackling.network.metadata.proxy import (
    FORWARDED_HEADER,
    HOP_HEADERS,
    MAX_HEAD_BYTES,
    NETWORK_HEADER,
    TRUSTED_HEADERS,
    HttpError,
    Request,
    error_bytes,
    read_request,
)

LOG = logging.getLogger(__name__)

METADATA_ADDRESS = ("169.254.169.254", 80)
# sockaddr_un's sun_path, NUL included.
MAX_SOCKET_PATH = 108
APP_TIMEOUT_S = 60.0

Resolver = Callable[[str, str], Awaitable[PortOwner | None]]
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class Upstream(Protocol):
    """The compute service's metadata app and how to vouch for an instance to it."""

    @property
    def app(self) -> ASGIApp:
        """The metadata ASGI app."""
        ...

    def sign(self, instance_id: str) -> str:
        """The X-Instance-ID-Signature for `instance_id`."""
        ...


def identity_headers(request: Request, owner: PortOwner, signature: str) -> list[tuple[str, str]]:
    """The request's headers as the app gets them: the guest's, less any identity, plus ours."""
    kept = [(k, v) for k, v in request.headers if k not in TRUSTED_HEADERS | HOP_HEADERS]
    return [
        *kept,
        (FORWARDED_HEADER, request.values(FORWARDED_HEADER)[0]),
        ("x-instance-id", owner.instance_id),
        ("x-tenant-id", owner.project_id),
        ("x-instance-id-signature", signature),
        ("content-length", str(len(request.body))),
    ]


class MetadataServer:
    """Answers the proxies of this host on one unix socket."""

    def __init__(self, path: Path, resolve: Resolver, upstream: Upstream) -> None:
        self.path = path
        self.resolve = resolve
        self.upstream = upstream
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Listen on the socket path (replacing a stale socket left by a previous run)."""
        sock = await asyncio.to_thread(self._bind)
        self._server = await asyncio.start_unix_server(
            self._handle, sock=sock, limit=MAX_HEAD_BYTES
        )
        LOG.info("metadata server listening on %s", self.path)

    def _bind(self) -> socket.socket:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        if len(os.fsencode(tmp)) >= MAX_SOCKET_PATH:
            raise ValueError(f"{self.path} is too long for a unix socket path")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # Bound under a temporary name and renamed once 0600: the real path never
            # exists with looser rights, and replaces a stale socket in one step.
            sock.bind(str(tmp))
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
            self._inode = self.path.stat().st_ino
            sock.listen(128)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            tmp.unlink(missing_ok=True)
            raise
        return sock

    async def stop(self) -> None:
        """Stop listening, end requests in flight, remove the socket if it is still ours."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            if self.path.stat().st_ino == self._inode:
                self.path.unlink()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        sent = _Sent()
        try:
            request = await read_request(reader)
            if request is not None:
                await asyncio.wait_for(self._answer(request, writer, sent), APP_TIMEOUT_S)
        except HttpError as exc:
            if not sent.head:
                writer.write(error_bytes(exc))
        except (OSError, asyncio.CancelledError):
            pass
        except Exception:
            LOG.exception("metadata request failed")
            if not sent.head:
                writer.write(error_bytes(HttpError(500, "An unknown error has occurred.")))
        finally:
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.drain(), 5.0)
            writer.close()

    async def _answer(self, request: Request, writer: asyncio.StreamWriter, sent: _Sent) -> None:
        networks = request.values(NETWORK_HEADER)
        peers = request.values(FORWARDED_HEADER)
        if len(networks) != 1 or len(peers) != 1:
            raise HttpError(400, "The request did not come through a metadata proxy.")
        owner = await self.resolve(networks[0], peers[0])
        if owner is None:
            # A guest with an address we do not know (or a spoofed one) learns nothing.
            LOG.debug("no instance at %r on network %r", peers[0], networks[0])
            raise HttpError(404, "The resource could not be found.")
        headers = identity_headers(request, owner, self.upstream.sign(owner.instance_id))
        await _call_asgi(self.upstream.app, request, headers, peers[0], writer, sent)


class _Sent:
    """Whether the answer's head went out (an error can then no longer be sent)."""

    head = False


async def _call_asgi(
    app: ASGIApp,
    request: Request,
    headers: list[tuple[str, str]],
    client: str,
    writer: asyncio.StreamWriter,
    sent: _Sent,
) -> None:
    """Run one request through an ASGI app, writing its answer as HTTP/1.1 that then closes."""
    path, _, query = request.target.partition("?")
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "client": (client, 0),
        "server": METADATA_ADDRESS,
        "state": {},
    }
    body_given = False

    async def receive() -> dict[str, Any]:
        nonlocal body_given
        if not body_given:
            body_given = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        # Nothing more will come; an app waiting for a disconnect waits until it is done.
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status = int(message["status"])
            lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}"]
            for name, value in message.get("headers", ()):
                if name.lower() not in {b"connection", b"keep-alive", b"transfer-encoding"}:
                    lines.append(f"{name.decode('latin-1')}: {value.decode('latin-1')}")
            lines.append("Connection: close")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            sent.head = True
        elif message["type"] == "http.response.body":
            writer.write(message.get("body", b""))
            await writer.drain()

    await app(scope, receive, send)
