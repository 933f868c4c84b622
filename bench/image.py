"""Image benchmark: Glance v2 upload/download throughput, Stackling against the real Glance.

    .venv/bin/python bench/image.py [--size-mib 1024] [--runs 3] [--rss-size-mib 2048]
        [--cycle-duration 5] [--skip-peer | --skip-stackling] [--output r.json]

Starts Stackling (fresh temp data dir, default settings) and the OpenStack
peer (Keystone + Glance 33.0.0 under gunicorn, file store, its own temp dir
and port base); both run for the whole bench. On each side the admin logs in
(password, project scope) and the image endpoint is taken from the token's
catalog (type `image`, interface public), so the path prefix (Stackling's
`/image`, Glance's none) is never assumed.

1. Upload: POST /v2/images (disk_format raw, container_format bare), then
   PUT /v2/images/{id}/file with Content-Type application/octet-stream and a
   chunked body: httpx sends a generator that yields one pre-made 1 MiB
   buffer of random bytes (new per run, so nothing compresses) `--size-mib`
   times. Timed from the start of the PUT until it returned 204 and a GET of
   the image says `active` (polled every 50 ms if it is not yet). The image's
   `checksum` (md5) and `size` are checked against the data sent afterwards.
2. Download: GET /v2/images/{id}/file streamed and discarded (byte count
   checked), timed to the last byte. The client reads a raw socket with
   readinto into one 1 MiB buffer (httpx's iter_raw costs twice the CPU per
   byte and nears 1 GiB/s of client CPU on this kind of machine). Then a
   second, separately reported GET hashes the stream with md5 as it arrives
   and checks it against `checksum`; md5 runs in the client at ~500 MiB/s,
   so it would cap the first figure.
3. `--runs` rounds; in each, both sides upload, download and delete their
   image (who goes first alternates). Medians of MiB/s and of server CPU
   seconds per GiB per side, and the ratios Stackling/Glance of the medians.
4. Memory: first of all (on the fresh server, so that first-use allocations
   count), a `--rss-size-mib` upload per side while a client thread samples
   VmRSS (/proc/PID/status) of the server every 50 ms: Stackling's process
   (and the children it has when the upload starts: the qemu-img that
   inspects the data before `active` is short-lived and neither its memory
   nor its CPU is counted), Glance's gunicorn master + workers (summed). Baseline
   just before the PUT, peak during it, growth = peak - baseline (target for
   Stackling: < 64 MiB), and RSS 1 s after. The same sampling runs during
   every download of step 2 (largest growth reported).
5. Small objects: the 1 MiB image cycle (create, upload 1 MiB with a
   Content-Length body, show, delete) at concurrency 1 for
   `--cycle-duration` s over one kept-alive raw-socket connection (see
   loadgen.Connection): cycles/s and per-step latency percentiles.

Before the clouds start, the same client code uploads to and downloads from
a trivial discard/source server in a child process: the client's ceiling, to
show whether the client could have been the bottleneck. Every transfer also
records the CPU seconds used by this client, by the server under test and by
everything else on the machine (from /proc/stat); the machine is shared.
Before every timed upload `sync` flushes dirty pages (untimed), and right
after it another `sync` is timed: Stackling fsyncs each image before it is
active, Glance's file store does not, so Glance's figure excludes the
writeback that this second sync shows. Downloads come from the page cache.

Images are deleted after every transfer; data dirs live in a temp dir under
`--tmp-dir` (default /var/tmp), removed at exit, also on failure or SIGTERM.
The bench refuses to start with less than 3x the largest image free there.
No assertion on timings: it prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import math
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NoReturn
from urllib.parse import urlsplit

import httpx
from loadgen import Connection, CpuMeter, build_request, percentile
from procs import (
    Cloud,
    Peer,
    Stackling,
    auth_body,
    catalog_url,
    disk_free_bytes,
    free_port,
    log,
    peer_port_base,
    vmrss_kib,
)

MIB = 1 << 20
RSS_TARGET_MIB = 64
SAMPLE_S = 0.05
ACTIVE_POLL_S = 0.05


class BenchError(RuntimeError):
    """A request that did not do what the bench needs (status, size, checksum)."""


def _fail(signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


def _mib_s(size_bytes: int, seconds: float) -> float:
    return size_bytes / MIB / seconds if seconds > 0 else math.nan


def _expect(resp: httpx.Response, status: int, what: str) -> None:
    if resp.status_code != status:
        raise BenchError(f"{what}: HTTP {resp.status_code} (wanted {status}): {resp.text[:300]}")


# -- measuring helpers -----------------------------------------------------------


class RssSampler:
    """A thread that sums VmRSS of a fixed set of pids every `interval_s`."""

    def __init__(self, pids: list[int], interval_s: float = SAMPLE_S) -> None:
        self.pids = pids
        self.interval_s = interval_s
        self.samples: list[tuple[float, int]] = []
        self.peak_by_pid: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = 0.0

    def sample(self) -> int:
        """One reading (KiB), recorded."""
        total = 0
        for pid in self.pids:
            kib = vmrss_kib(pid)
            total += kib
            if kib > self.peak_by_pid.get(pid, 0):
                self.peak_by_pid[pid] = kib
        self.samples.append((time.perf_counter() - self._t0, total))
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> RssSampler:
        self._t0 = time.perf_counter()
        self.baseline_kib = self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def summary(self) -> dict[str, Any]:
        """Baseline, peak and growth in MiB, and how many samples were taken."""
        peak = max(kib for _, kib in self.samples)
        return {
            "baseline_mib": round(self.baseline_kib / 1024, 1),
            "peak_mib": round(peak / 1024, 1),
            "growth_mib": round((peak - self.baseline_kib) / 1024, 1),
            "samples": len(self.samples),
            "processes": len(self.pids),
        }


def body_chunks(buf: bytes, count: int) -> Iterator[bytes]:
    """The same buffer `count` times: a request body that costs the client nothing to make."""
    for _ in range(count):
        yield buf


def expected_md5(buf: bytes, count: int) -> str:
    """md5 of `buf` repeated `count` times."""
    md5 = hashlib.md5()
    for _ in range(count):
        md5.update(buf)
    return md5.hexdigest()


def put_stream(
    client: httpx.Client, url: str, headers: dict[str, str], buf: bytes, count: int
) -> tuple[httpx.Response, float]:
    """PUT a chunked body of `count` x `buf`; return the response and the seconds it took."""
    h = {**headers, "Content-Type": "application/octet-stream"}
    began = time.perf_counter()
    resp = client.put(url, content=body_chunks(buf, count), headers=h)
    return resp, time.perf_counter() - began


def _consume(rf: BinaryIO, scratch: memoryview, size: int | None, md5: Any) -> int:
    """Read `size` bytes (None: to EOF) into `scratch`, hashing them if asked; bytes read."""
    got = 0
    while size is None or got < size:
        want = len(scratch) if size is None else min(size - got, len(scratch))
        n = rf.readinto(scratch[:want])
        if not n:
            if size is None:
                break
            raise BenchError(f"connection closed after {got} of {size} body bytes")
        if md5 is not None:
            md5.update(scratch[:n])
        got += n
    return got


def get_stream(
    url: str, headers: dict[str, str], md5: Any = None, timeout_s: float = 600
) -> tuple[float, int]:
    """GET `url` and discard the body (hashing it into `md5` if given); (seconds, bytes).

    A raw socket read with readinto into one 1 MiB buffer: about half the client
    CPU per byte of httpx's iter_raw, so the client stays far from the bottleneck.
    Handles Content-Length, chunked and close-delimited bodies.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = build_request("GET", host, port, target, {**headers, "Connection": "close"})
    scratch = memoryview(bytearray(MIB))
    began = time.perf_counter()
    with (
        socket.create_connection((host, port), timeout=timeout_s) as sock,
        sock.makefile("rb", buffering=MIB) as rf,
    ):
        sock.sendall(request)
        status_line = rf.readline()
        hdrs: dict[str, str] = {}
        while (line := rf.readline()) not in (b"\r\n", b""):
            k, _, v = line.decode("latin-1").partition(":")
            hdrs[k.strip().lower()] = v.strip()
        status = int(status_line.split(b" ", 2)[1])
        if status != 200:
            body = rf.read(4096)
            raise BenchError(f"GET {url}: HTTP {status}: {body[:300]!r}")
        if hdrs.get("transfer-encoding", "").lower() == "chunked":
            got = 0
            while size := int(rf.readline().split(b";")[0], 16):
                got += _consume(rf, scratch, size, md5)
                rf.readline()
            while rf.readline() not in (b"\r\n", b""):
                pass
        elif "content-length" in hdrs:
            got = _consume(rf, scratch, int(hdrs["content-length"]), md5)
        else:
            got = _consume(rf, scratch, None, md5)
    return time.perf_counter() - began, got


def timed_sync() -> float:
    """Seconds a system-wide sync took (flushing whatever is dirty)."""
    began = time.perf_counter()
    os.sync()
    return round(time.perf_counter() - began, 3)


# -- the client's ceiling: a discard/source server ----------------------------------


def _skip(rf: BinaryIO, scratch: memoryview, size: int) -> None:
    while size > 0:
        got = rf.readinto(scratch[: min(size, len(scratch))])
        if not got:
            raise EOFError("client went away mid-body")
        size -= got


def _sink_conn(conn: socket.socket) -> None:
    """One connection of the discard/source server: requests until the client closes."""
    buf = os.urandom(MIB)
    scratch = memoryview(bytearray(MIB))
    with (
        conn,
        conn.makefile("rb", buffering=1 << 16) as rf,
        contextlib.suppress(EOFError, OSError, ValueError),
    ):
        while line := rf.readline():
            method, target, _ = line.split(b" ", 2)
            hdrs: dict[bytes, bytes] = {}
            while (h := rf.readline()) not in (b"\r\n", b""):
                k, _, v = h.partition(b":")
                hdrs[k.strip().lower()] = v.strip()
            if hdrs.get(b"transfer-encoding", b"").lower() == b"chunked":
                while size := int(rf.readline().split(b";")[0], 16):
                    _skip(rf, scratch, size + 2)
                while rf.readline() not in (b"\r\n", b""):
                    pass
            else:
                _skip(rf, scratch, int(hdrs.get(b"content-length", b"0")))
            if method == b"GET":
                count = int(target.rsplit(b"/", 1)[1])
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    b"Content-Length: %d\r\n\r\n" % (count * MIB)
                )
                for _ in range(count):
                    conn.sendall(buf)
            else:
                conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")


def _sink_serve(listener: socket.socket) -> None:
    """Answer PUT by discarding the (chunked) body, GET /N by sending N MiB; forever."""
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_sink_conn, args=(conn,), daemon=True).start()


def client_ceiling(stack: contextlib.ExitStack, size_mib: int, timeout_s: float) -> dict[str, Any]:
    """Upload/download `size_mib` against the discard/source server with the bench's client code."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    proc = multiprocessing.get_context("fork").Process(
        target=_sink_serve, args=(listener,), daemon=True
    )
    proc.start()
    listener.close()
    stack.callback(proc.kill)
    out: dict[str, Any] = {"size_mib": size_mib}
    buf = os.urandom(MIB)
    base = f"http://127.0.0.1:{port}/sink"
    with httpx.Client(timeout=timeout_s) as client:
        cpu = CpuMeter([proc.pid] if proc.pid else [])
        resp, took = put_stream(client, base, {}, buf, size_mib)
        _expect(resp, 204, "PUT to the discard server")
        out["upload"] = {"seconds": round(took, 3), "mib_s": _mib_s(size_mib * MIB, took)}
        out["upload"] |= cpu.read()
        for key, md5 in (("download", None), ("download_md5", hashlib.md5())):
            cpu = CpuMeter([proc.pid] if proc.pid else [])
            took, got = get_stream(f"{base}/{size_mib}", {}, md5, timeout_s)
            if got != size_mib * MIB:
                raise BenchError(f"discard server sent {got} bytes")
            out[key] = {"seconds": round(took, 3), "mib_s": _mib_s(got, took)} | cpu.read()
    proc.kill()
    return out


# -- one cloud -------------------------------------------------------------------------


def image_endpoint(catalog: list[dict[str, Any]]) -> str:
    """The public image endpoint from a token's catalog, without a trailing /v2."""
    try:
        return catalog_url(catalog, "image").removesuffix("/v2")
    except LookupError as exc:
        raise BenchError(str(exc)) from None


@dataclass
class Side:
    """One cloud under test, with its image endpoint and an admin token."""

    name: str
    cloud: Cloud
    pids: Callable[[], list[int]]
    timeout_s: float
    token: str = ""
    endpoint: str = ""
    results: dict[str, Any] = field(default_factory=dict)

    def login(self) -> None:
        """Issue an admin token; read the image endpoint from its catalog."""
        c = self.cloud
        with httpx.Client(timeout=120) as client:
            resp = client.post(
                f"{c.auth_url}/auth/tokens",
                json=auth_body(c.username, c.password, c.project, c.user_domain),
            )
        _expect(resp, 201, f"{self.name}: POST /v3/auth/tokens")
        self.token = resp.headers["X-Subject-Token"]
        self.endpoint = image_endpoint(resp.json()["token"]["catalog"])

    @property
    def v2(self) -> str:
        """Base URL of the v2 API."""
        return f"{self.endpoint}/v2"

    @property
    def headers(self) -> dict[str, str]:
        """The admin token."""
        return {"X-Auth-Token": self.token}

    def client(self) -> httpx.Client:
        """A client for the transfers (long read timeout: a PUT answers after the last byte)."""
        return httpx.Client(timeout=httpx.Timeout(self.timeout_s, connect=10))

    def probe(self) -> None:
        """GET /v2/images?limit=1: the image API answers with this token."""
        with self.client() as client:
            resp = client.get(f"{self.v2}/images", params={"limit": 1}, headers=self.headers)
        _expect(resp, 200, f"{self.name}: GET {self.v2}/images")

    def create(self, client: httpx.Client) -> tuple[str, float]:
        """POST /v2/images (raw, bare); return the id and the milliseconds it took."""
        body = {
            "name": f"bench-{uuid.uuid4().hex[:12]}",
            "disk_format": "raw",
            "container_format": "bare",
        }
        began = time.perf_counter()
        resp = client.post(f"{self.v2}/images", json=body, headers=self.headers)
        took = (time.perf_counter() - began) * 1000
        _expect(resp, 201, f"{self.name}: POST /v2/images")
        return resp.json()["id"], round(took, 1)

    def show(self, client: httpx.Client, image_id: str) -> dict[str, Any]:
        """GET /v2/images/{id}."""
        resp = client.get(f"{self.v2}/images/{image_id}", headers=self.headers)
        _expect(resp, 200, f"{self.name}: GET /v2/images/{image_id}")
        return resp.json()

    def wait_active(self, client: httpx.Client, image_id: str) -> tuple[dict[str, Any], int]:
        """GET the image until it is active; return it and how many GETs that took."""
        deadline = time.perf_counter() + self.timeout_s
        polls = 0
        while True:
            image = self.show(client, image_id)
            polls += 1
            status = image.get("status")
            if status == "active":
                return image, polls
            if status in ("killed", "deleted", "pending_delete", "deactivated"):
                raise BenchError(f"{self.name}: image {image_id} is {status} after upload")
            if time.perf_counter() > deadline:
                raise BenchError(f"{self.name}: image {image_id} still {status} after upload")
            time.sleep(ACTIVE_POLL_S)

    def delete(self, image_id: str) -> None:
        """DELETE /v2/images/{id} (best effort: logged, never raised)."""
        try:
            with httpx.Client(timeout=120) as client:
                resp = client.delete(f"{self.v2}/images/{image_id}", headers=self.headers)
            if resp.status_code not in (204, 404):
                log(f"{self.name}: DELETE image {image_id}: HTTP {resp.status_code}")
        except httpx.HTTPError as exc:
            log(f"{self.name}: DELETE image {image_id}: {exc!r}")

    def upload(
        self, client: httpx.Client, size_mib: int, sample_rss: bool
    ) -> tuple[str, dict[str, Any]]:
        """Create, then upload `size_mib` MiB and wait for `active`; the image id and figures."""
        buf = os.urandom(MIB)
        md5 = expected_md5(buf, size_mib)
        image_id, create_ms = self.create(client)
        try:
            out: dict[str, Any] = {"image_id": image_id, "create_ms": create_ms}
            out["sync_before_s"] = timed_sync()
            pids = self.pids()
            cpu = CpuMeter(pids)
            sampler = RssSampler(pids)
            with sampler if sample_rss else contextlib.nullcontext():
                began = time.perf_counter()
                resp, put_s = put_stream(
                    client, f"{self.v2}/images/{image_id}/file", self.headers, buf, size_mib
                )
                _expect(resp, 204, f"{self.name}: PUT /v2/images/{image_id}/file")
                image, polls = self.wait_active(client, image_id)
                took = time.perf_counter() - began
            out |= {
                "put_s": round(put_s, 3),
                "seconds": round(took, 3),
                "mib_s": _mib_s(size_mib * MIB, took),
                "active_polls": polls,
            }
            out |= cpu.read()
            out["sync_after_s"] = timed_sync()
            if sample_rss:
                time.sleep(1)
                out["rss"] = sampler.summary()
                out["rss"]["after_1s_mib"] = round(sampler.sample() / 1024, 1)
                out["rss"]["series_mib"] = [
                    [round(t, 2), round(kib / 1024, 1)] for t, kib in sampler.samples
                ]
            if image.get("size") != size_mib * MIB:
                raise BenchError(f"{self.name}: size {image.get('size')} != {size_mib * MIB}")
            if image.get("checksum") != md5:
                raise BenchError(f"{self.name}: checksum {image.get('checksum')} != sent {md5}")
            out["checksum"] = md5
            return image_id, out
        except BaseException:
            self.delete(image_id)
            raise

    def download(self, image_id: str, size: int, md5: str | None) -> dict[str, Any]:
        """GET the data; with `md5`, hash it as it arrives and check it."""
        hasher = hashlib.md5() if md5 else None
        pids = self.pids()
        cpu = CpuMeter(pids)
        with RssSampler(pids) as sampler:
            took, got = get_stream(
                f"{self.v2}/images/{image_id}/file", self.headers, hasher, self.timeout_s
            )
        out: dict[str, Any] = {"seconds": round(took, 3), "mib_s": _mib_s(got, took)}
        out |= cpu.read()
        out["rss"] = sampler.summary()
        if got != size:
            raise BenchError(f"{self.name}: downloaded {got} bytes, the image has {size}")
        if hasher is not None:
            out["md5_ok"] = hasher.hexdigest() == md5
            if not out["md5_ok"]:
                raise BenchError(f"{self.name}: downloaded md5 {hasher.hexdigest()} != {md5}")
        return out

    def round_trip(self, size_mib: int) -> dict[str, Any]:
        """One run: upload, download (discarded), download (md5 checked), delete."""
        with self.client() as client:
            image_id, up = self.upload(client, size_mib, sample_rss=False)
            try:
                down = self.download(image_id, size_mib * MIB, None)
                down_md5 = self.download(image_id, size_mib * MIB, up["checksum"])
            finally:
                self.delete(image_id)
        return {"upload": up, "download": down, "download_md5": down_md5}

    def rss_upload(self, size_mib: int) -> dict[str, Any]:
        """Upload `size_mib` MiB while sampling the server's RSS; then delete."""
        with self.client() as client:
            image_id, up = self.upload(client, size_mib, sample_rss=True)
        self.delete(image_id)
        return up

    def cycle(self, duration_s: float) -> dict[str, Any]:
        """Create + upload 1 MiB + show + delete, back to back, one connection."""
        parts = urlsplit(self.v2)
        host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        conn = Connection(host, port, self.timeout_s)
        data = os.urandom(MIB)
        auth = {"X-Auth-Token": self.token}
        create_body = json.dumps(
            {"name": "bench-cycle", "disk_format": "raw", "container_format": "bare"}
        ).encode()
        create = build_request(
            "POST",
            host,
            port,
            f"{path}/images",
            {**auth, "Content-Type": "application/json"},
            create_body,
        )
        steps = ("create", "upload", "show", "delete")
        lat: dict[str, list[float]] = {s: [] for s in (*steps, "cycle")}
        errors: list[str] = []
        error_count = 0

        def one() -> bool:
            nonlocal error_count
            clock = time.perf_counter
            t0 = clock()
            status, _, body = conn.request(create)
            t1 = clock()
            if status != 201:
                error_count += 1
                errors.append(f"create: HTTP {status}: {body[:200]!r}")
                return False
            image = f"{path}/images/{json.loads(body)['id']}"
            reqs = [
                ("upload", "PUT", f"{image}/file", {"Content-Type": "application/octet-stream"}),
                ("show", "GET", image, {}),
                ("delete", "DELETE", image, {}),
            ]
            times = {"create": t1 - t0}
            for step, method, target, extra in reqs:
                raw = build_request(
                    method, host, port, target, {**auth, **extra}, data if step == "upload" else b""
                )
                s0 = clock()
                status, _, body = conn.request(raw)
                times[step] = clock() - s0
                if status != (200 if step == "show" else 204):
                    error_count += 1
                    errors.append(f"{step}: HTTP {status}: {body[:200]!r}")
                    if step != "delete":
                        conn.request(build_request("DELETE", host, port, image, auth))
                    return False
            for step, took in times.items():
                lat[step].append(took)
            lat["cycle"].append(clock() - t0)
            return True

        with contextlib.suppress(OSError, ValueError, IndexError, KeyError):
            one()  # warm-up, not counted
        lat = {k: [] for k in lat}
        errors.clear()
        error_count = 0
        pids = self.pids()
        cpu = CpuMeter(pids)
        began = time.perf_counter()
        deadline = began + duration_s
        while time.perf_counter() < deadline:
            try:
                one()
            except (OSError, ValueError, IndexError, KeyError) as exc:
                error_count += 1
                errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
        elapsed = time.perf_counter() - began
        conn.close()
        out: dict[str, Any] = {
            "concurrency": 1,
            "seconds": round(elapsed, 2),
            "ok": len(lat["cycle"]),
            "errors": error_count,
            "error_samples": errors[:5],
            "cycles_s": len(lat["cycle"]) / elapsed,
            "connections": conn.connects,
        }
        for key, values in lat.items():
            values.sort()
            out[f"{key}_p50_ms"] = percentile(values, 50) * 1000
            out[f"{key}_p95_ms"] = percentile(values, 95) * 1000
        out |= cpu.read()
        return out


# -- the run ---------------------------------------------------------------------------


def check_disk(path: Path, needed_mib: int, factor: float, what: str) -> int:
    """Free MiB at `path`; SystemExit with a clear message when below factor x needed_mib."""
    free_mib = disk_free_bytes(path) // MIB
    if free_mib < factor * needed_mib:
        raise SystemExit(
            f"refusing to {what}: {free_mib} MiB free on the filesystem of {path}, "
            f"need at least {factor:g} x {needed_mib} MiB = {factor * needed_mib:.0f} MiB "
            f"(use --tmp-dir elsewhere or a smaller --size-mib / --rss-size-mib)"
        )
    return free_mib


def _attempt(side: Side, what: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one measurement; a failure is recorded (and logged), not raised."""
    log(f"{side.name}: {what}")
    try:
        side.login()  # a fresh token for every step (untimed): none can expire mid-bench
        out = fn()
    except (BenchError, httpx.HTTPError) as exc:
        log(f"{side.name}: {what} FAILED: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}
    return out


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def summarize(info: dict[str, Any]) -> None:
    """Medians per side and the Stackling/Glance comparisons, into `info`."""
    gib = info["size_mib"] / 1024
    for side in info["sides"].values():
        med: dict[str, Any] = {}
        for key in ("upload", "download", "download_md5"):
            runs = [r[key] for r in side.get("runs", []) if key in r]
            ok = [r["mib_s"] for r in runs]
            med[key] = {
                "median_mib_s": _median(ok),
                "min_mib_s": min(ok, default=math.nan),
                "max_mib_s": max(ok, default=math.nan),
                "ok_runs": len(ok),
                "median_server_cpu_s_per_gib": _median([r["server_cpu_s"] / gib for r in runs]),
            }
        side["median"] = med
    s, p = info["sides"].get("stackling", {}), info["sides"].get("peer", {})
    rows: list[dict[str, Any]] = []

    def add(figure: str, a: float | None, b: float | None, better: str, note: str = "") -> None:
        if a is None or b is None or math.isnan(a) or math.isnan(b) or not b:
            return
        rows.append(
            {"figure": figure, "stackling": a, "glance": b, "ratio": a / b}
            | {"better": better, "note": note}
        )

    if "median" in s and "median" in p:
        sm, pm = s["median"], p["median"]
        for key, label, note in (
            ("upload", "upload MiB/s", ""),
            ("download", "download MiB/s", ""),
            ("download_md5", "download + md5 MiB/s", "client-bound: md5 in the client"),
        ):
            add(label, sm[key]["median_mib_s"], pm[key]["median_mib_s"], "higher", note)
        for key, label in (("upload", "upload"), ("download", "download")):
            add(
                f"{label} server CPU s per GiB",
                sm[key]["median_server_cpu_s_per_gib"],
                pm[key]["median_server_cpu_s_per_gib"],
                "lower",
                "least moved by neighbours",
            )
        sc, pc = s.get("cycle", {}), p.get("cycle", {})
        if sc.get("ok") and pc.get("ok"):
            add("1 MiB cycles/s", sc["cycles_s"], pc["cycles_s"], "higher")
            add(
                "1 MiB cycle server CPU ms",
                sc["server_cpu_s"] * 1000 / sc["ok"],
                pc["server_cpu_s"] * 1000 / pc["ok"],
                "lower",
            )
    info["comparison"] = rows


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns everything measured."""
    info: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "loadavg_at_start": os.getloadavg(),
            "python": platform.python_version(),
        },
        "size_mib": args.size_mib,
        "runs": args.runs,
        "rss_size_mib": args.rss_size_mib,
        "cycle_duration_s": args.cycle_duration,
        "sides": {},
    }
    largest = max(args.size_mib, args.rss_size_mib)
    args.tmp_dir.mkdir(parents=True, exist_ok=True)
    info["disk_free_mib_at_start"] = check_disk(args.tmp_dir, largest, 3, "start")
    with contextlib.ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="stackling-bench-image-", dir=args.tmp_dir))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        log(f"client ceiling: {args.size_mib} MiB up and down against a discard server")
        info["client_ceiling"] = client_ceiling(stack, args.size_mib, args.request_timeout)
        cc = info["client_ceiling"]
        log(
            f"  -> upload {cc['upload']['mib_s']:.0f} MiB/s, download "
            f"{cc['download']['mib_s']:.0f} MiB/s, download+md5 "
            f"{cc['download_md5']['mib_s']:.0f} MiB/s"
        )
        sides: list[Side] = []
        if not args.skip_peer:
            peer = Peer(tmp / "peer", peer_port_base(args.peer_port_base))
            stack.callback(peer.down)
            log(f"starting the OpenStack peer in {peer.data_dir} (port base {peer.port_base})")
            up_s = round(peer.up(), 2)
            side = Side("peer", peer.cloud(), peer.glance_pids, args.request_timeout)
            side.results["up_s"] = up_s
            with contextlib.suppress(FileNotFoundError, ValueError):
                pj = json.loads((peer.data_dir / "peer.json").read_text())
                side.results["peer_json"] = pj
            sides.append(side)
        if not args.skip_stackling:
            stk = Stackling(tmp / "stackling", free_port())
            stack.callback(stk.down)
            log(f"starting Stackling in {stk.data_dir} (port {stk.port})")
            up_s = round(stk.up(), 2)
            side = Side("stackling", stk.cloud(), stk.pids, args.request_timeout)
            side.results["up_detach_s"] = up_s
            sides.insert(0, side)
        usable: list[Side] = []
        for side in sides:
            info["sides"][side.name] = side.results
            try:
                side.login()
                side.probe()
            except (BenchError, httpx.HTTPError) as exc:
                log(f"{side.name}: no usable image API, skipped: {exc}")
                side.results["unavailable"] = f"{type(exc).__name__}: {exc}"
                continue
            side.results["image_endpoint"] = side.endpoint
            side.results["server_pids_at_start"] = side.pids()
            log(f"{side.name}: image endpoint {side.endpoint}, server pids {side.pids()}")
            usable.append(side)

        for side in usable:
            if args.rss_size_mib > 0:
                check_disk(tmp, args.rss_size_mib, 1.5, "RSS upload")
                res = _attempt(
                    side,
                    f"RSS during a {args.rss_size_mib} MiB upload",
                    lambda s=side: s.rss_upload(args.rss_size_mib),
                )
                side.results["rss_upload"] = res
                if "rss" in res:
                    r = res["rss"]
                    log(
                        f"  -> baseline {r['baseline_mib']} MiB, peak {r['peak_mib']} MiB, "
                        f"growth {r['growth_mib']} MiB ({r['samples']} samples), "
                        f"{res['mib_s']:.1f} MiB/s"
                    )
        for i in range(args.runs):
            order = usable if i % 2 == 0 else usable[::-1]
            for side in order:
                check_disk(tmp, args.size_mib, 1.5, f"run {i + 1}")
                res = _attempt(
                    side,
                    f"run {i + 1}/{args.runs}: upload + download {args.size_mib} MiB",
                    lambda s=side: s.round_trip(args.size_mib),
                )
                side.results.setdefault("runs", []).append(res)
                if "error" not in res:
                    log(
                        f"  -> upload {res['upload']['mib_s']:.1f} MiB/s "
                        f"(+ sync after {res['upload']['sync_after_s']} s), "
                        f"download {res['download']['mib_s']:.1f} MiB/s, "
                        f"with md5 {res['download_md5']['mib_s']:.1f} MiB/s"
                    )
        for side in usable:
            if args.cycle_duration > 0:
                res = _attempt(
                    side,
                    f"1 MiB image cycle for {args.cycle_duration:g} s",
                    lambda s=side: s.cycle(args.cycle_duration),
                )
                side.results["cycle"] = res
                if "cycles_s" in res:
                    log(
                        f"  -> {res['cycles_s']:.2f} cycles/s, p50 {res['cycle_p50_ms']:.1f} ms, "
                        f"{res['errors']} errors"
                    )
        info["machine"]["loadavg_at_end"] = os.getloadavg()
        log("stopping the clouds and removing their data dirs")
    summarize(info)
    return info


# -- report ----------------------------------------------------------------------------


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


LABEL = {"stackling": "Stackling", "peer": "Glance (peer)"}


def report(info: dict[str, Any]) -> None:
    """Print the figures on stdout."""
    size = info["size_mib"]
    print(
        f"# Image benchmark ({info['started_at']}, {info['machine']['cores']} cores, "
        f"{size} MiB image, {info['runs']} runs)\n"
    )
    out = [
        "| side | operation | median MiB/s | min | max | runs MiB/s | median s "
        "| client cpu s | server cpu s | others cpu s | sync after s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    names = {
        "upload": f"upload {size} MiB (PUT to active)",
        "download": f"download {size} MiB (discarded)",
        "download_md5": f"download {size} MiB + md5 check",
    }
    for name, side in info["sides"].items():
        if "unavailable" in side:
            out.append(f"| {LABEL[name]} | unavailable: {side['unavailable'][:120]} |")
            continue
        for key, label in names.items():
            ok = [r[key] for r in side.get("runs", []) if key in r]
            med = side["median"][key]
            mid = sorted(ok, key=lambda r: r["mib_s"])[len(ok) // 2] if ok else {}
            runs_txt = " / ".join(
                f"{r[key]['mib_s']:.0f}" if key in r else "err" for r in side.get("runs", [])
            )
            out.append(
                f"| {LABEL[name]} | {label} | {_f(med['median_mib_s'])} | {_f(med['min_mib_s'])} "
                f"| {_f(med['max_mib_s'])} | {runs_txt} | {_f(mid.get('seconds'), 2)} "
                f"| {_f(mid.get('client_cpu_s'), 2)} | {_f(mid.get('server_cpu_s'), 2)} "
                f"| {_f(mid.get('other_cpu_s'), 2)} | {_f(mid.get('sync_after_s'), 2)} |"
            )
    cc = info.get("client_ceiling", {})
    for key, label in names.items():
        if key in cc:
            r = cc[key]
            out.append(
                f"| client ceiling (discard server) | {label.split(' (')[0]} "
                f"| {_f(r['mib_s'])} | | | | {_f(r['seconds'], 2)} | {_f(r['client_cpu_s'], 2)} "
                f"| {_f(r['server_cpu_s'], 2)} | {_f(r['other_cpu_s'], 2)} | |"
            )
    print("\n".join(out))
    if info.get("comparison"):
        print("\nStackling / Glance (medians over the runs):\n")
        print("| figure | Stackling | Glance | Stackling/Glance | better | note |")
        print("| --- | --- | --- | --- | --- | --- |")
        for x in info["comparison"]:
            print(
                f"| {x['figure']} | {x['stackling']:.2f} | {x['glance']:.2f} "
                f"| {x['ratio']:.2f}x | {x['better']} | {x['note']} |"
            )

    print("\nServer RSS (VmRSS, sampled every 50 ms; Glance: gunicorn master + workers summed):\n")
    out = [
        "| side | during | MiB/s | processes | baseline MiB | peak MiB | growth MiB "
        "| after 1 s MiB | samples |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, side in info["sides"].items():
        ru = side.get("rss_upload", {})
        if "rss" in ru:
            r = ru["rss"]
            target = f" (target < {RSS_TARGET_MIB})" if name == "stackling" else ""
            out.append(
                f"| {LABEL[name]} | upload {info['rss_size_mib']} MiB | {_f(ru['mib_s'])} "
                f"| {r['processes']} | {r['baseline_mib']} | {r['peak_mib']} "
                f"| {r['growth_mib']}{target} | {r['after_1s_mib']} | {r['samples']} |"
            )
        elif "error" in ru:
            out.append(f"| {LABEL[name]} | upload: {ru['error'][:120]} |")
        downs = [r[k] for r in side.get("runs", []) for k in ("download", "download_md5") if k in r]
        if downs:
            worst = max(downs, key=lambda d: d["rss"]["growth_mib"])
            r = worst["rss"]
            out.append(
                f"| {LABEL[name]} | download {size} MiB (largest growth of {len(downs)}) "
                f"| {_f(worst['mib_s'])} | {r['processes']} | {r['baseline_mib']} "
                f"| {r['peak_mib']} | {r['growth_mib']} | | {r['samples']} |"
            )
    print("\n".join(out))

    print("\n1 MiB image cycle (create + upload + show + delete), concurrency 1:\n")
    out = [
        "| side | cycles/s | p50 ms | p95 ms | create / upload / show / delete p50 ms "
        "| ok | errors | server cpu ms/cycle |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, side in info["sides"].items():
        c = side.get("cycle")
        if not c:
            continue
        if "error" in c:
            out.append(f"| {LABEL[name]} | {c['error'][:120]} |")
            continue
        steps = " / ".join(_f(c[f"{s}_p50_ms"]) for s in ("create", "upload", "show", "delete"))
        per = c["server_cpu_s"] * 1000 / c["ok"] if c["ok"] else math.nan
        out.append(
            f"| {LABEL[name]} | {c['cycles_s']:.2f} | {_f(c['cycle_p50_ms'])} "
            f"| {_f(c['cycle_p95_ms'])} | {steps} | {c['ok']} | {c['errors']} | {_f(per)} |"
        )
        if c["error_samples"]:
            out.append(f"| | errors: {'; '.join(c['error_samples'])[:200]} |")
    print("\n".join(out))

    for name, side in info["sides"].items():
        errs = [r["error"] for r in side.get("runs", []) if "error" in r]
        if errs:
            print(f"\n{LABEL[name]}: {len(errs)} failed run(s): {errs[0][:300]}")
    lo, hi = info["machine"]["loadavg_at_start"], info["machine"].get("loadavg_at_end")
    print(
        f"\nLoad average at start {lo[0]:.2f}, at end {hi[0] if hi else math.nan:.2f}. "
        f"'sync after' is a system-wide sync timed right after the image went active "
        f"(Stackling fsyncs before active; Glance does not). CPU columns are of the median run."
    )


def main() -> None:
    """Parse arguments, run, print, optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mib", type=int, default=1024, help="image size for throughput")
    ap.add_argument("--runs", type=int, default=3, help="throughput runs per side")
    ap.add_argument(
        "--rss-size-mib", type=int, default=2048, help="image size for the RSS run (0: skip)"
    )
    ap.add_argument(
        "--cycle-duration", type=float, default=5.0, help="seconds of 1 MiB cycles (0: skip)"
    )
    ap.add_argument("--skip-peer", action="store_true", help="measure Stackling only")
    ap.add_argument("--skip-stackling", action="store_true", help="measure the peer only")
    ap.add_argument(
        "--peer-port-base", type=int, default=None, help="default: first free of 16000, 16100, ..."
    )
    ap.add_argument("--tmp-dir", type=Path, default=Path("/var/tmp"), help="where data dirs go")
    ap.add_argument("--request-timeout", type=float, default=600.0)
    ap.add_argument("--output", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    if args.size_mib < 1 or args.runs < 1 or args.rss_size_mib < 0 or args.cycle_duration < 0:
        ap.error("--size-mib and --runs must be >= 1, --rss-size-mib and --cycle-duration >= 0")
    if args.skip_peer and args.skip_stackling:
        ap.error("nothing to measure with both --skip-peer and --skip-stackling")
    signal.signal(signal.SIGTERM, _fail)
    signal.signal(signal.SIGHUP, _fail)
    info = run(args)
    report(info)
    if args.output:
        args.output.write_text(json.dumps(info, indent=2, default=str) + "\n")
        print(f"\nJSON: {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
