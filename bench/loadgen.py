"""A small closed-loop HTTP load generator: one keep-alive connection per worker thread.

Each worker sends a pre-built HTTP/1.1 request over a raw socket and parses
only the status line, the headers it needs and the body length, so a request
costs the client a few tens of microseconds of CPU. Every row also records
the CPU time used by the client, by the server's processes and by everything
else on the machine, so a reader can see whether the client (or a neighbour)
was the bottleneck.
"""

from __future__ import annotations

import json
import math
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_CLK_TCK = os.sysconf("SC_CLK_TCK")


class Connection:
    """One HTTP/1.1 connection, kept alive and reopened when the server closes it."""

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.connects = 0

    def close(self) -> None:
        """Drop the socket; the next request opens a new one."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buf.clear()

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.connects += 1
        return sock

    def request(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send one complete request; return status, lower-cased headers and body."""
        reused = self.sock is not None
        sock = self.sock or self._open()
        try:
            sock.sendall(raw)
            return self._response(sock)
        except (ConnectionError, TimeoutError, OSError):
            self.close()
            if not reused:
                raise
        # The server closed an idle kept-alive connection: retry once on a new one.
        sock = self._open()
        try:
            sock.sendall(raw)
            return self._response(sock)
        except Exception:
            self.close()
            raise

    def _fill(self, sock: socket.socket) -> None:
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionResetError("server closed the connection")
        self.buf += chunk

    def _response(self, sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
        buf = self.buf
        while (end := buf.find(b"\r\n\r\n")) < 0:
            self._fill(sock)
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        del buf[: end + 4]
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status in (204, 304) or 100 <= status < 200:
            # These end at their headers whatever they declare (RFC 9112 6.3).
            body = b""
        elif "content-length" in headers:
            size = int(headers["content-length"])
            while len(buf) < size:
                self._fill(sock)
            body = bytes(buf[:size])
            del buf[:size]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._chunked(sock)
        else:
            try:
                while True:
                    self._fill(sock)
            except ConnectionResetError:
                pass
            body = bytes(buf)
            buf.clear()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def _chunked(self, sock: socket.socket) -> bytes:
        buf = self.buf
        out = bytearray()
        while True:
            while (eol := buf.find(b"\r\n")) < 0:
                self._fill(sock)
            size = int(bytes(buf[:eol]).split(b";")[0], 16)
            del buf[: eol + 2]
            while len(buf) < size + 2:
                self._fill(sock)
            out += buf[:size]
            del buf[: size + 2]
            if size == 0:
                return bytes(out)


def build_request(
    method: str, host: str, port: int, path: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    """A complete HTTP/1.1 request as bytes."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (nan when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def process_cpu_s(pid: int) -> float:
    """utime + stime of one process in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def machine_busy_s() -> float:
    """CPU seconds spent busy by every core since boot (from /proc/stat)."""
    parts = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in parts[:8])
    return (user + nice + system + irq + softirq + steal) / _CLK_TCK


class CpuMeter:
    """CPU seconds of this client, of the server's processes and of the rest of the machine."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.client = time.process_time()
        self.server = sum(process_cpu_s(p) for p in pids)
        self.machine = machine_busy_s()

    def read(self) -> dict[str, float]:
        """CPU used since construction, rounded to 10 ms."""
        client = time.process_time() - self.client
        server = sum(process_cpu_s(p) for p in self.pids) - self.server
        machine = machine_busy_s() - self.machine
        return {
            "client_cpu_s": round(client, 2),
            "server_cpu_s": round(server, 2),
            "other_cpu_s": round(max(0.0, machine - client - server), 2),
        }


def group_members(pgid: int) -> list[int]:
    """Pids whose process group is `pgid` (a gunicorn master and its workers)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid:
            out.append(int(entry.name))
    return out


@dataclass
class Row:
    """One measured (side, operation, concurrency)."""

    side: str
    operation: str
    concurrency: int
    seconds: float
    ok: int
    errors: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    client_cpu_s: float
    server_cpu_s: float
    other_cpu_s: float
    connections: int
    error_samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


@dataclass
class _Worker:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    connects: int = 0


def run_load(
    *,
    side: str,
    operation: str,
    host: str,
    port: int,
    request: bytes,
    expect: int,
    concurrency: int,
    duration_s: float,
    warmup_s: float,
    server_pids: Callable[[], list[int]],
    timeout_s: float = 60.0,
) -> Row:
    """Closed loop: `concurrency` threads send `request` back to back for `duration_s`."""
    workers = [_Worker() for _ in range(concurrency)]
    marks: dict[str, Any] = {}

    def _start() -> None:
        pids = server_pids()
        marks.update(
            pids=pids,
            t0=time.perf_counter(),
            client=time.process_time(),
            server=sum(process_cpu_s(p) for p in pids),
            machine=machine_busy_s(),
        )
        marks["deadline"] = marks["t0"] + duration_s

    barrier = threading.Barrier(concurrency, action=_start)

    def _loop(w: _Worker) -> None:
        conn = Connection(host, port, timeout_s)
        warm_until = time.perf_counter() + warmup_s
        while time.perf_counter() < warm_until:
            try:
                conn.request(request)
            except (OSError, ValueError, IndexError):
                conn.close()
                time.sleep(0.05)
        conn.connects = 0
        barrier.wait()
        deadline = marks["deadline"]
        clock = time.perf_counter
        while clock() < deadline:
            t0 = clock()
            try:
                status, _, body = conn.request(request)
            except (OSError, ValueError, IndexError) as exc:
                w.errors += 1
                if len(w.samples) < 3:
                    w.samples.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                time.sleep(0.05)
                continue
            t1 = clock()
            if status == expect:
                w.latencies.append(t1 - t0)
            else:
                w.errors += 1
                if len(w.samples) < 3:
                    w.samples.append(f"HTTP {status}: {body[:200]!r}")
        w.connects = conn.connects
        conn.close()

    threads = [threading.Thread(target=_loop, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - marks["t0"]
    client = time.process_time() - marks["client"]
    server = sum(process_cpu_s(p) for p in marks["pids"]) - marks["server"]
    machine = machine_busy_s() - marks["machine"]
    lat = sorted(x for w in workers for x in w.latencies)
    return Row(
        side=side,
        operation=operation,
        concurrency=concurrency,
        seconds=round(elapsed, 2),
        ok=len(lat),
        errors=sum(w.errors for w in workers),
        rps=len(lat) / elapsed if elapsed > 0 else 0.0,
        p50_ms=percentile(lat, 50) * 1000,
        p95_ms=percentile(lat, 95) * 1000,
        p99_ms=percentile(lat, 99) * 1000,
        max_ms=lat[-1] * 1000 if lat else math.nan,
        client_cpu_s=round(client, 2),
        server_cpu_s=round(server, 2),
        other_cpu_s=round(max(0.0, machine - client - server), 2),
        connections=sum(w.connects for w in workers),
        error_samples=[s for w in workers for s in w.samples][:5],
    )


def _num(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    out = [
        "| side | operation | conc | rps | p50 ms | p95 ms | p99 ms | max ms | ok | errors "
        "| server cpu ms/ok | client cpu s | server cpu s | others cpu s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        out.append(
            f"| {r.side} | {r.operation} | {r.concurrency} | {_num(r.rps, 2)} "
            f"| {_num(r.p50_ms)} | {_num(r.p95_ms)} | {_num(r.p99_ms)} | {_num(r.max_ms)} "
            f"| {r.ok} | {r.errors} "
            f"| {_num(r.server_cpu_s * 1000 / r.ok if r.ok else math.nan, 2)} "
            f"| {r.client_cpu_s:.2f} | {r.server_cpu_s:.2f} | {r.other_cpu_s:.2f} |"
        )
    return "\n".join(out)


def pool(
    items: list[Any],
    concurrency: int,
    connect: Callable[[], Connection],
    work: Callable[[Connection, Any], dict],
) -> list[dict[str, Any]]:
    """Run `work(conn, item)` for every item on `concurrency` threads, one connection each."""
    todo: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
    for i, item in enumerate(items):
        todo.put((i, item))
    out: list[dict[str, Any]] = [{} for _ in items]
    barrier = threading.Barrier(min(concurrency, len(items)) or 1)

    def _loop() -> None:
        conn = connect()
        barrier.wait()
        while True:
            try:
                i, item = todo.get_nowait()
            except queue.Empty:
                break
            began = time.perf_counter()
            try:
                out[i] = work(conn, item)
            except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
                conn.close()
                out[i] = {"error": f"{type(exc).__name__}: {exc}", "t0": began}
        conn.close()

    threads = [threading.Thread(target=_loop, daemon=True) for _ in range(barrier.parties)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def connect_to(url: str, timeout_s: float) -> Connection:
    """A kept-alive connection to the host and port of `url`."""
    parts = urlsplit(url)
    return Connection(parts.hostname or "127.0.0.1", parts.port or 80, timeout_s)


def request_to(
    url: str, headers: dict[str, str], method: str, path: str, body: Any = None
) -> bytes:
    """A complete request for `path` below `url` (a JSON body when given), as bytes."""
    parts = urlsplit(url)
    headers = dict(headers)
    data = b""
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    return build_request(
        method,
        parts.hostname or "127.0.0.1",
        parts.port or 80,
        parts.path.rstrip("/") + path,
        headers,
        data,
    )
