"""The metadata proxy a network's namespace runs: guests' HTTP to the host's unix socket.

    python -m stackling.network.metadata.proxy --listen=169.254.169.254:80 \
        --network-id=NET --upstream=/var/lib/stackling/network/metadata.sock \
        --pidfile=.../metadata-proxy.pid [--daemon]

For each request it removes what a guest could use to pass for another
(X-Forwarded-For, X-Neutron-*, X-Instance-ID*, X-Tenant-ID), adds the guest's
address and the network, forwards it to the upstream socket and streams the
answer back; one request per connection. Sizes and waits are bounded, and
anything unparsable gets a 400, never a crash.

Standard library only (and nothing else of Stackling): one of these runs per
network, so it must start fast and stay small. `server.py` reuses the request
reader below for what this proxy sends it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http
import ipaddress
import os
import signal
import socket
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024
HEAD_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5.0
# A metadata answer is small; a slow upstream is cut off rather than waited for.
UPSTREAM_TIMEOUT_S = 60.0
MAX_CONNECTIONS = 128
CHUNK = 64 * 1024

NETWORK_HEADER = "x-neutron-network-id"
FORWARDED_HEADER = "x-forwarded-for"
# Headers only the proxy and the host-side server may set.
TRUSTED_HEADERS = frozenset(
    {
        FORWARDED_HEADER,
        NETWORK_HEADER,
        "x-neutron-router-id",
        "x-instance-id",
        "x-instance-id-signature",
        "x-tenant-id",
        "forwarded",
    }
)
# Hop-by-hop: about one connection, never forwarded.
HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
# IP_FREEBIND (Linux): listen on 169.254.169.254 even while the address is absent.
_IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class HttpError(Exception):
    """A request that cannot be served; `status` says how to answer it."""

    def __init__(self, status: int, detail: str = "") -> None:
        self.status = status
        self.detail = detail or http.HTTPStatus(status).phrase
        super().__init__(self.detail)


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed HTTP/1.x request."""

    method: str
    target: str  # origin-form: /path?query
    headers: tuple[tuple[str, str], ...]  # names lowercased, in order
    body: bytes

    def values(self, name: str) -> list[str]:
        """Every value of header `name` (lowercase)."""
        return [v for k, v in self.headers if k == name]


def _is_token(text: str) -> bool:
    return bool(text) and all(c in _TOKEN for c in text)


def parse_head(head: bytes) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(method, target, headers) of a request head; HttpError(400) when it is not HTTP/1.x."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
        raise HttpError(400) from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _is_token(parts[0]) or parts[2] not in {"HTTP/1.0", "HTTP/1.1"}:
        raise HttpError(400, "Malformed request line")
    method, target = parts[0], parts[1]
    if target.startswith(("http://", "https://")):
        # Absolute form, as a client configured with a proxy sends it: keep the path.
        rest = target.split("://", 1)[1]
        target = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    if not target.startswith("/") or any(c.isspace() or ord(c) < 0x21 for c in target):
        raise HttpError(400, "Malformed request target")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        # No folded lines, no space before the colon: both are smuggling tools.
        if not sep or not _is_token(name):
            raise HttpError(400, "Malformed header")
        value = value.strip(" \t")
        if any((ord(c) < 0x20 and c != "\t") or c == "\x7f" for c in value):
            raise HttpError(400, "Malformed header")
        headers.append((name.lower(), value))
    return method, target, tuple(headers)


def _content_length(headers: Iterable[tuple[str, str]], max_body: int) -> int:
    lengths = {v for k, v in headers if k == "content-length"}
    if any(k == "transfer-encoding" for k, _ in headers):
        raise HttpError(411, "Only requests with a Content-Length are accepted")
    if not lengths:
        return 0
    if len(lengths) != 1 or not (value := lengths.pop()).isdigit():
        raise HttpError(400, "Bad Content-Length")
    if int(value) > max_body:
        raise HttpError(413)
    return int(value)


async def read_request(
    reader: asyncio.StreamReader,
    *,
    max_body: int = MAX_BODY_BYTES,
    head_timeout_s: float = HEAD_TIMEOUT_S,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> Request | None:
    """The next request on `reader` (its limit bounds the head); None at a clean EOF."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), head_timeout_s)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpError(400, "Incomplete request") from None
    except asyncio.LimitOverrunError:
        raise HttpError(431) from None
    except TimeoutError:
        raise HttpError(408) from None
    method, target, headers = parse_head(head[:-4])
    length = _content_length(headers, max_body)
    try:
        body = await asyncio.wait_for(reader.readexactly(length), body_timeout_s)
    except asyncio.IncompleteReadError:
        raise HttpError(400, "Incomplete body") from None
    except TimeoutError:
        raise HttpError(408) from None
    return Request(method, target, headers, body)


def response_bytes(
    status: int, body: bytes = b"", content_type: str = "text/plain; charset=UTF-8"
) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection."""
    phrase = http.HTTPStatus(status).phrase
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def error_bytes(error: HttpError) -> bytes:
    """An error answer in the plain-text shape the metadata service uses."""
    phrase = http.HTTPStatus(error.status).phrase
    return response_bytes(error.status, f"{error.status} {phrase}\n\n{error.detail}\n\n".encode())


def forwarded_head(request: Request, peer: str, network_id: str) -> bytes:
    """The head sent upstream: the guest's headers less trusted and hop-by-hop ones, plus ours."""
    lines = [f"{request.method} {request.target} HTTP/1.1"]
    for name, value in request.headers:
        if name not in TRUSTED_HEADERS and name not in HOP_HEADERS:
            lines.append(f"{name}: {value}")
    lines += [
        f"X-Forwarded-For: {peer}",
        f"X-Neutron-Network-ID: {network_id}",
        f"Content-Length: {len(request.body)}",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Proxy:
    """Serves guests on one listening socket for one network."""

    def __init__(self, network_id: str, upstream: str) -> None:
        self.network_id = network_id
        self.upstream = upstream
        self.active = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection: one request, one answer, then close."""
        self.active += 1
        try:
            # A guest that goes away or stops reading has nothing more to be told.
            with contextlib.suppress(OSError, TimeoutError):
                if self.active > MAX_CONNECTIONS:
                    writer.write(error_bytes(HttpError(503)))
                else:
                    await self._serve(reader, writer)
                await asyncio.wait_for(writer.drain(), BODY_TIMEOUT_S)
        finally:
            self.active -= 1
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            address = str(ipaddress.ip_address(peer[0]))
            request = await read_request(reader)
            if request is None:
                return
        except (HttpError, ValueError, TypeError, IndexError) as exc:
            writer.write(error_bytes(exc if isinstance(exc, HttpError) else HttpError(400)))
            return
        await self._forward(request, address, writer)

    async def _forward(self, request: Request, peer: str, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.upstream), CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError):
            writer.write(error_bytes(HttpError(502, "The metadata service is unavailable")))
            return
        sent_any = False
        failure = HttpError(502, "The metadata service gave no answer")
        try:
            up_writer.write(forwarded_head(request, peer, self.network_id) + request.body)
            await asyncio.wait_for(up_writer.drain(), CONNECT_TIMEOUT_S)
            async with asyncio.timeout(UPSTREAM_TIMEOUT_S):
                while chunk := await up_reader.read(CHUNK):
                    writer.write(chunk)
                    sent_any = True
                    await writer.drain()
        except TimeoutError:
            failure = HttpError(504, "The metadata service did not answer in time")
        except OSError:
            # Either side went away; the guest is told if it got nothing yet.
            failure = HttpError(502, "The metadata service connection broke")
        finally:
            up_writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(up_writer.wait_closed(), 1.0)
        if not sent_any:
            writer.write(error_bytes(failure))


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (bound even before the address exists)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):
            level = socket.IPPROTO_IP if family == socket.AF_INET else socket.IPPROTO_IPV6
            sock.setsockopt(level, _IP_FREEBIND, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _write_pidfile(path: Path, pid: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{pid}\n")
    os.replace(tmp, path)


def _daemonize(pidfile: Path) -> None:
    """Fork: the parent records the child's pid and exits 0; the child carries on, detached."""
    pid = os.fork()
    if pid:
        try:
            _write_pidfile(pidfile, pid)
        except OSError as exc:
            os.kill(pid, signal.SIGKILL)
            print(f"metadata proxy: cannot write {pidfile}: {exc}", file=sys.stderr)
            os._exit(1)
        os._exit(0)
    os.setsid()
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


async def serve(sock: socket.socket, network_id: str, upstream: str) -> None:
    """Serve on `sock` until SIGTERM or SIGINT."""
    proxy = Proxy(network_id, upstream)
    server = await asyncio.start_server(proxy.handle, sock=sock, limit=MAX_HEAD_BYTES)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def _listen_arg(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    ipaddress.ip_address(host)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad port in {text!r}")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, listen, (detach,) and serve."""
    parser = argparse.ArgumentParser(prog="stackling-metadata-proxy")
    parser.add_argument("--listen", type=_listen_arg, default=("169.254.169.254", 80))
    parser.add_argument("--network-id", required=True)
    parser.add_argument("--upstream", required=True, help="the host's metadata unix socket")
    parser.add_argument("--pidfile", type=Path, required=True)
    parser.add_argument("--daemon", action="store_true", help="detach once listening")
    args = parser.parse_args(argv)
    try:
        sock = listen_socket(*args.listen)
    except OSError as exc:
        print(f"metadata proxy: cannot listen on {args.listen}: {exc}", file=sys.stderr)
        return 1
    if args.daemon:
        _daemonize(args.pidfile)
    else:
        _write_pidfile(args.pidfile, os.getpid())
    try:
        asyncio.run(serve(sock, args.network_id, args.upstream))
    finally:
        with contextlib.suppress(OSError, ValueError):
            if int(args.pidfile.read_text()) == os.getpid():
                args.pidfile.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
