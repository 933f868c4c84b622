"""The metadata proxy: what it forwards for a guest, and how it refuses what it cannot parse."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stackling.network.metadata import proxy
from stackling.network.metadata.proxy import HttpError, Proxy, Request, parse_head

NETWORK = "3b9a1e52-7c7d-4f57-9d5e-2b1f6a0c8d11"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"


def test_parse_head_reads_request_line_and_headers() -> None:
    method, target, headers = parse_head(
        b"GET /openstack/latest/meta_data.json?x=1 HTTP/1.1\r\nHost: 169.254.169.254\r\n"
        b"X-Thing:  spaced value \r\n"
    )
    assert (method, target) == ("GET", "/openstack/latest/meta_data.json?x=1")
    assert headers == (("host", "169.254.169.254"), ("x-thing", "spaced value"))


def test_parse_head_keeps_the_path_of_an_absolute_target() -> None:
    assert parse_head(b"GET http://169.254.169.254/latest HTTP/1.0")[1] == "/latest"
    assert parse_head(b"GET http://169.254.169.254 HTTP/1.0")[1] == "/"


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"GET / HTTP/2.0",
        b"GET / HTTP/1.1 extra",
        b"GET\x00 / HTTP/1.1",
        b"GET relative HTTP/1.1",
        b"GET / HTTP/1.1\r\nNo-Colon",
        b"GET / HTTP/1.1\r\nSpace : before colon",
        b"GET / HTTP/1.1\r\nA: b\r\n folded: line",
        b"GET / HTTP/1.1\r\nA: control\x01char",
        b"\xff\xfe garbage",
    ],
)
def test_parse_head_refuses_what_is_not_http(head: bytes) -> None:
    with pytest.raises(HttpError) as caught:
        parse_head(head)
    assert caught.value.status == 400


def test_forwarded_head_replaces_every_identity_header_of_the_guest() -> None:
    request = Request(
        "POST",
        "/openstack/latest/password",
        (
            ("host", "169.254.169.254"),
            ("x-forwarded-for", "10.0.0.99"),
            ("x-neutron-network-id", "someone-else"),
            ("x-neutron-router-id", "r"),
            ("x-instance-id", "victim"),
            ("x-instance-id-signature", "forged"),
            ("x-tenant-id", "victim-project"),
            ("connection", "keep-alive"),
            ("content-length", "999"),
            ("accept", "text/plain"),
        ),
        b"secret",
    )
    head = proxy.forwarded_head(request, "10.0.0.5", NETWORK).decode()
    lines = head.split("\r\n")
    assert lines[0] == "POST /openstack/latest/password HTTP/1.1"
    assert head.endswith("\r\n\r\n")
    lowered = [line.lower() for line in lines[1:] if line]
    assert lowered == [
        "host: 169.254.169.254",
        "accept: text/plain",
        "x-forwarded-for: 10.0.0.5",
        f"x-neutron-network-id: {NETWORK}",
        "content-length: 6",
        "connection: close",
    ]


@dataclass
class Upstream:
    """A stand-in for the host's metadata server: records requests, answers `answer`."""

    path: Path
    answer: bytes = ANSWER
    hang: bool = False
    seen: list[Request] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await proxy.read_request(reader)
        assert request is not None
        self.seen.append(request)
        if self.hang:
            await asyncio.sleep(30)
        writer.write(self.answer)
        await writer.drain()
        writer.close()


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short: unix socket paths are limited to 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="stkmd-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def upstream(workdir: Path) -> AsyncIterator[Upstream]:
    up = Upstream(workdir / "md.sock")
    server = await asyncio.start_unix_server(up.handle, path=str(up.path))
    async with server:
        yield up
        server.close()


@pytest.fixture
async def port(upstream: Upstream) -> AsyncIterator[int]:
    server = await asyncio.start_server(
        Proxy(NETWORK, str(upstream.path)).handle, "127.0.0.1", 0, limit=proxy.MAX_HEAD_BYTES
    )
    async with server:
        yield server.sockets[0].getsockname()[1]
        server.close()


async def exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    # Half-close: a request cut short is then seen as such, not waited for.
    writer.write_eof()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


async def test_guest_request_reaches_upstream_with_its_address_and_network(
    port: int, upstream: Upstream
) -> None:
    answer = await exchange(
        port,
        b"GET /openstack/latest/meta_data.json HTTP/1.1\r\nHost: 169.254.169.254\r\n"
        b"X-Forwarded-For: 10.9.9.9\r\nX-Instance-ID: victim\r\n"
        b"X-Neutron-Network-ID: other\r\n\r\n",
    )
    assert answer == ANSWER
    (seen,) = upstream.seen
    assert (seen.method, seen.target) == ("GET", "/openstack/latest/meta_data.json")
    assert seen.values("x-forwarded-for") == ["127.0.0.1"]
    assert seen.values("x-neutron-network-id") == [NETWORK]
    assert seen.values("x-instance-id") == []
    assert seen.values("host") == ["169.254.169.254"]


async def test_body_is_forwarded(port: int, upstream: Upstream) -> None:
    answer = await exchange(
        port, b"POST /openstack/2013-04-04/password HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
    )
    assert answer == ANSWER
    assert upstream.seen[0].body == b"abc"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"this is not http\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
        (b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (2 << 20), 413),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * (proxy.MAX_HEAD_BYTES + 10) + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x", 400),  # cut short
    ],
)
async def test_bad_requests_are_refused_without_reaching_upstream(
    port: int, upstream: Upstream, data: bytes, status: int
) -> None:
    answer = await exchange(port, data)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:100]
    assert upstream.seen == []


async def test_a_silent_connection_is_simply_closed(port: int, upstream: Upstream) -> None:
    assert await exchange(port, b"") == b""
    assert upstream.seen == []


async def test_upstream_down_is_a_502(port: int, upstream: Upstream) -> None:
    upstream.path.unlink()
    answer = await exchange(port, b"GET / HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 502 ")


async def test_upstream_too_slow_is_a_504(
    port: int, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(proxy, "UPSTREAM_TIMEOUT_S", 0.2)
    upstream.hang = True
    answer = await exchange(port, b"GET / HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 504 ")


async def test_proxy_process_serves_and_removes_its_pidfile(
    workdir: Path, upstream: Upstream
) -> None:
    """The real command line, in the foreground, on loopback (no namespace needed)."""
    import socket
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    pidfile = workdir / "proxy.pid"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        "-m",
        "stackling.network.metadata.proxy",
        f"--listen=127.0.0.1:{free}",
        f"--network-id={NETWORK}",
        f"--upstream={upstream.path}",
        f"--pidfile={pidfile}",
    )
    try:
        for _ in range(200):
            if pidfile.exists():
                break
            await asyncio.sleep(0.05)
        assert int(pidfile.read_text()) == proc.pid
        answer = await exchange(free, b"GET /latest HTTP/1.0\r\n\r\n")
        assert answer == ANSWER
        assert upstream.seen[0].values("x-neutron-network-id") == [NETWORK]
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert not pidfile.exists()
