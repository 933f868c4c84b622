"""Object bench: Swift API throughput, latency and listings, Stackling against the real Swift.

    .venv/bin/python bench/object.py [--sides stackling,swift] [--swift-workers 1[,2]]
        [--sections mib,gib,small,listing] [--mib-objects 512] [--gib-mib 1024]
        [--small-objects 2000] [--list-objects 10000] [--concurrency 16]
        [--swift-venv DIR] [--keep-logs DIR] [--output r.json]

Sides, one after the other (never side by side), each on a fresh temp data dir:
- `stackling`: `stackling up --detach` with STACKLING_SERVICES
  '["identity","object"]' (object driver "file"); the admin logs in (password,
  project scope) and the storage URL is the public `object-store` endpoint of
  the token's catalog (.../object/v1/AUTH_<project_id>).
- `swift`: the real Swift 2.36.4 (swift_peer.py says how it is set up: proxy,
  account, container and object servers, one replica, memcached, tempauth),
  `workers` per server from `--swift-workers`; with `1,2` both configurations
  run, the second as side `swift_w2`. Stackling runs one process.

The client: one httpx.Client (HTTP/1.1) whose pool holds `--concurrency`
connections, shared by as many threads (a closed loop: each thread sends its
next request when the last one returned). Payloads are slices of one random
buffer, so no two objects are equal and nothing is generated while timed.
Sections, each on its own container:
1. `mib`: PUT `--mib-objects` 1 MiB objects (distinct names), then GET them
   all (length checked): ops/s, MiB/s, p50/p95/max latency.
2. `gib`: PUT one `--gib-mib` MiB object with a Content-Length body streamed
   from a generator of 1 MiB chunks (never the whole object in memory); its
   ETag is checked against the md5 computed before (untimed). `sync` runs
   before the PUT (untimed) and right after it (timed, reported apart: Swift
   fsyncs every object itself). Then a GET streamed and discarded (timed), and
   a second GET that hashes the stream with md5 (reported apart, since md5 in
   the client runs at ~500 MiB/s): its md5 must equal the PUT's ETag.
3. `small`: `--small-objects` 4 KiB objects: PUT, GET, HEAD, DELETE, each
   phase over every object: ops/s and latency.
4. `listing`: PUT `--list-objects` empty objects (reported as a phase too),
   then list the container with GET ?format=json, page by page (limit
   `--page-sizes`, marker = last name) until every name was seen (or a short
   page), `--list-runs` times per page size: ms per page (p50/p95), names/s of
   the best run, names counted.

Every phase records the CPU seconds of this client, of the server's processes
(also per request: steadier than rates on a shared machine) and of everything
else on the machine (loadgen.CpuMeter), and `client cores`
= client CPU s / wall s: near 1 would mean the client (its GIL) limits the
figure; the machine has 2 shared cores, so a busy client also slows the server.
Ratios are Stackling/Swift for ops/s and MiB/s, and Swift/Stackling for p50
latencies ("times faster" both). Every data dir is a temp dir under
`--tmp-dir`, removed at the end. No assertion on timings: it prints figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
from loadgen import CpuMeter, process_cpu_s
from procs import Stackling, auth_body, catalog_url, free_port, keep_logs, log, log_errors
from swift_peer import DEFAULT_VENV, SWIFT_VERSION, PeerUnavailable, SwiftPeer
from volume import stats

MIB = 1024 * 1024
POOL_BYTES = 32 * MIB
SECTIONS = ("mib", "gib", "small", "listing")
STACKLING_ENV = {
    "STACKLING_SERVICES": '["identity","object"]',
    "STACKLING_IDENTITY__PASSWORD_HASH_ROUNDS": "4",
}


class BenchError(RuntimeError):
    """A request that did not do what the bench needs."""


def _fail(signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


class Payloads:
    """Distinct byte strings cut from one random buffer (made once, before any timing)."""

    def __init__(self, size: int = POOL_BYTES) -> None:
        self.pool = os.urandom(size)

    def get(self, i: int, length: int) -> bytes:
        """Payload number `i` of `length` bytes (offsets step by a prime, so neighbours differ)."""
        span = len(self.pool) - length
        off = (i * 4099) % span if span > 0 else 0
        return self.pool[off : off + length]

    def chunks(self, total: int, chunk: int = MIB) -> Iterator[bytes]:
        """`total` bytes as `chunk`-sized pieces, each a different slice."""
        sent, i = 0, 0
        while sent < total:
            piece = self.get(i * 257 + 1, min(chunk, total - sent))
            sent += len(piece)
            i += 1
            yield piece

    def md5(self, total: int, chunk: int = MIB) -> str:
        """The md5 of what chunks(total, chunk) yields."""
        digest = hashlib.md5()
        for piece in self.chunks(total, chunk):
            digest.update(piece)
        return digest.hexdigest()


# -- one Swift API under test ---------------------------------------------------------------


@dataclass
class ObjSide:
    """A Swift v1 account: its storage URL, token and the server's processes."""

    name: str
    label: str
    url: str  # .../v1/AUTH_<account>
    token: str
    pids: Callable[[], list[int]]
    concurrency: int
    timeout_s: float
    parts: dict[str, Callable[[], list[int]]] = field(default_factory=dict)
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        # One pool of `concurrency` kept-alive HTTP/1.1 connections shared by the threads.
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        self.client = httpx.Client(
            headers={"X-Auth-Token": self.token},
            limits=limits,
            timeout=httpx.Timeout(self.timeout_s, connect=10),
        )

    def close(self) -> None:
        """Close the pool's connections."""
        self.client.close()

    def put_container(self, name: str) -> None:
        """PUT a container (201 or 202 when it exists)."""
        resp = self.client.put(f"{self.url}/{name}")
        if resp.status_code not in (201, 202):
            raise BenchError(f"{self.name}: PUT /{name}: HTTP {resp.status_code}: {resp.text}")


def _request(
    side: ObjSide, method: str, path: str, want: int, content: bytes | None = None, size: int = -1
) -> dict[str, Any]:
    """One timed request; t0, t1 and the status, or an error."""
    t0 = time.perf_counter()
    try:
        resp = side.client.request(method, f"{side.url}/{path}", content=content)
    except httpx.HTTPError as exc:
        return {"t0": t0, "t1": time.perf_counter(), "error": f"{type(exc).__name__}: {exc}"}
    t1 = time.perf_counter()
    out: dict[str, Any] = {"t0": t0, "t1": t1}
    if resp.status_code != want:
        out["error"] = f"{method} HTTP {resp.status_code}: {resp.text[:200]}"
    elif size >= 0 and len(resp.content) != size:
        out["error"] = f"{method}: {len(resp.content)} bytes, not {size}"
    return out


def phase(
    side: ObjSide, op: str, count: int, work: Callable[[int], dict[str, Any]], nbytes: int = 0
) -> dict[str, Any]:
    """Run work(i) for i < count on `side.concurrency` threads; rate, latency and CPU figures."""
    parts = {name: fn() for name, fn in side.parts.items()}
    part_cpu = {name: sum(process_cpu_s(p) for p in pids) for name, pids in parts.items()}
    cpu = CpuMeter(side.pids())
    with ThreadPoolExecutor(side.concurrency) as ex:
        runs = list(ex.map(work, range(count)))
    used = cpu.read()
    ok = [r for r in runs if "error" not in r]
    begin = min((r["t0"] for r in runs), default=0.0)
    wall = max((r["t1"] for r in runs), default=begin) - begin
    out: dict[str, Any] = {
        "op": op,
        "count": count,
        "ok": len(ok),
        "errors": count - len(ok),
        "error_samples": [r["error"] for r in runs if "error" in r][:5],
        "wall_s": round(wall, 3),
        "ops_s": len(ok) / wall if wall > 0 else math.nan,
        "mib_s": len(ok) * nbytes / MIB / wall if wall > 0 and nbytes else math.nan,
        "ms": stats([r["t1"] - r["t0"] for r in ok], 1000),
        "cpu": used,
        # Unlike rates, CPU per request barely moves when neighbours load the machine.
        "server_ms_per_op": used["server_cpu_s"] * 1000 / len(ok) if ok else math.nan,
        "client_cores": used["client_cpu_s"] / wall if wall > 0 else math.nan,
        "cpu_by_process": {
            name: round(sum(process_cpu_s(p) for p in parts[name]) - before, 2)
            for name, before in part_cpu.items()
        },
    }
    log(
        f"{side.name}: {op}: {out['ok']}/{count} in {wall:.2f} s, {out['ops_s']:.0f}/s, "
        f"p50 {out['ms']['p50']:.1f} ms, client {out['client_cores']:.2f} cores, "
        f"server cpu {used['server_cpu_s']} s"
    )
    return out


# -- sections -------------------------------------------------------------------------------


def mib_section(side: ObjSide, data: Payloads, args: argparse.Namespace) -> dict[str, Any]:
    """PUT then GET `--mib-objects` 1 MiB objects."""
    side.put_container("bench-mib")
    n = args.mib_objects

    def put(i: int) -> dict[str, Any]:
        return _request(side, "PUT", f"bench-mib/obj-{i:06d}", 201, data.get(i, MIB))

    def get(i: int) -> dict[str, Any]:
        return _request(side, "GET", f"bench-mib/obj-{i:06d}", 200, size=MIB)

    return {
        "put": phase(side, "PUT 1 MiB", n, put, MIB),
        "get": phase(side, "GET 1 MiB", n, get, MIB),
    }


def gib_section(side: ObjSide, data: Payloads, args: argparse.Namespace) -> dict[str, Any]:
    """One big object streamed up and down; its md5 checked both ways."""
    total = args.gib_mib * MIB
    side.put_container("bench-gib")
    url = f"{side.url}/bench-gib/big"
    expected = data.md5(total)
    out: dict[str, Any] = {"mib": args.gib_mib}
    os.sync()  # earlier sections' dirty pages are not this PUT's
    cpu = CpuMeter(side.pids())
    began = time.perf_counter()
    resp = side.client.put(url, content=data.chunks(total), headers={"Content-Length": str(total)})
    took = time.perf_counter() - began
    if resp.status_code != 201:
        raise BenchError(f"PUT {args.gib_mib} MiB: HTTP {resp.status_code}: {resp.text[:200]}")
    etag = resp.headers.get("ETag", "").strip('"')
    began_sync = time.perf_counter()
    os.sync()
    out["put"] = {
        "s": round(took, 3),
        "mib_s": args.gib_mib / took,
        "sync_after_s": round(time.perf_counter() - began_sync, 3),
        "etag_ok": etag == expected,
        "cpu": cpu.read(),
    }
    out["get"] = _stream_get(side, url, total, hash_it=False)
    out["get_md5"] = _stream_get(side, url, total, hash_it=True)
    out["md5_ok"] = out["get_md5"]["md5"] == etag
    log(
        f"{side.name}: {args.gib_mib} MiB: PUT {out['put']['mib_s']:.0f} MiB/s "
        f"(etag ok {out['put']['etag_ok']}), GET {out['get']['mib_s']:.0f} MiB/s, "
        f"GET+md5 {out['get_md5']['mib_s']:.0f} MiB/s (md5 ok {out['md5_ok']})"
    )
    return out


def _stream_get(side: ObjSide, url: str, total: int, hash_it: bool) -> dict[str, Any]:
    """GET `url` streamed in 1 MiB reads, counted (and hashed when asked); MiB/s and CPU."""
    digest = hashlib.md5()
    got = 0
    cpu = CpuMeter(side.pids())
    began = time.perf_counter()
    with side.client.stream("GET", url) as resp:
        if resp.status_code != 200:
            raise BenchError(f"GET {url}: HTTP {resp.status_code}")
        for chunk in resp.iter_raw(MIB):
            got += len(chunk)
            if hash_it:
                digest.update(chunk)
    took = time.perf_counter() - began
    if got != total:
        raise BenchError(f"GET {url}: {got} bytes, not {total}")
    out: dict[str, Any] = {"s": round(took, 3), "mib_s": total / MIB / took, "cpu": cpu.read()}
    if hash_it:
        out["md5"] = digest.hexdigest()
    return out


def small_section(side: ObjSide, data: Payloads, args: argparse.Namespace) -> dict[str, Any]:
    """4 KiB objects: PUT, GET, HEAD, DELETE phases over `--small-objects` names."""
    side.put_container("bench-small")
    size = 4096

    def path(i: int) -> str:
        return f"bench-small/obj-{i:06d}"

    steps: list[tuple[str, Callable[[int], dict[str, Any]]]] = [
        ("put", lambda i: _request(side, "PUT", path(i), 201, data.get(i, size))),
        ("get", lambda i: _request(side, "GET", path(i), 200, size=size)),
        ("head", lambda i: _request(side, "HEAD", path(i), 200)),
        ("delete", lambda i: _request(side, "DELETE", path(i), 204)),
    ]
    return {
        name: phase(side, f"{name.upper()} 4 KiB", args.small_objects, fn, size)
        for name, fn in steps
    }


def listing_section(side: ObjSide, args: argparse.Namespace) -> dict[str, Any]:
    """Fill a container with empty objects, then list it page by page."""
    side.put_container("bench-list")
    n = args.list_objects
    out: dict[str, Any] = {
        "fill": phase(
            side, "PUT 0 B", n, lambda i: _request(side, "PUT", f"bench-list/o-{i:07d}", 201, b"")
        ),
        "pages": {},
    }
    for limit in [int(x) for x in args.page_sizes.split(",")]:
        page_s: list[float] = []
        runs: list[dict[str, Any]] = []
        for _ in range(args.list_runs):
            began = time.perf_counter()
            names, pages = _list_all(side, "bench-list", limit, n, page_s)
            took = time.perf_counter() - began
            runs.append({"s": round(took, 3), "names": names, "pages": pages})
        best = min(r["s"] for r in runs)
        out["pages"][str(limit)] = {
            "limit": limit,
            "runs": runs,
            "names_ok": all(r["names"] == n for r in runs),
            "page_ms": stats(page_s, 1000),
            "names_s": n / best if best > 0 else math.nan,
        }
        log(
            f"{side.name}: list {n} names, {limit}/page: page p50 "
            f"{out['pages'][str(limit)]['page_ms']['p50']:.1f} ms, best run {best:.2f} s"
        )
    return out


def _list_all(
    side: ObjSide, container: str, limit: int, expected: int, page_s: list[float]
) -> tuple[int, int]:
    """GET ?format=json pages until `expected` names or a short page; names and pages seen."""
    names = pages = 0
    marker = ""
    # Stopping at `expected` spares the empty last page a client without the count
    # would fetch, which would otherwise count as a (fast) page.
    for _ in range(expected // limit + 2):
        began = time.perf_counter()
        resp = side.client.get(
            f"{side.url}/{container}", params={"format": "json", "limit": limit, "marker": marker}
        )
        page_s.append(time.perf_counter() - began)
        if resp.status_code == 204:
            break
        if resp.status_code != 200:
            raise BenchError(f"GET /{container}: HTTP {resp.status_code}: {resp.text[:200]}")
        entries = resp.json()
        pages += 1
        names += len(entries)
        if len(entries) < limit or names >= expected:
            break
        marker = entries[-1]["name"]
    return names, pages


def _section(results: dict[str, Any], key: str, what: str, fn: Callable[[], dict]) -> None:
    """Run one section into results[key]; a failure is recorded, not raised."""
    try:
        results[key] = fn()
    except (BenchError, httpx.HTTPError, OSError, LookupError, ValueError) as exc:
        log(f"{what} FAILED: {type(exc).__name__}: {exc}")
        results[key] = {"error": f"{type(exc).__name__}: {exc}"}


def run_sections(side: ObjSide, data: Payloads, args: argparse.Namespace) -> dict[str, Any]:
    """Warm the connection pool, then every asked-for section on `side`."""
    res: dict[str, Any] = {"endpoint": side.url}
    # Untimed: open the pool's connections (and let the account be created).
    with ThreadPoolExecutor(side.concurrency) as ex:
        list(ex.map(lambda _: side.client.head(side.url), range(side.concurrency * 2)))
    sections = {
        "mib": lambda: mib_section(side, data, args),
        "gib": lambda: gib_section(side, data, args),
        "small": lambda: small_section(side, data, args),
        "listing": lambda: listing_section(side, args),
    }
    for key in args.section_list:
        _section(res, key, f"{side.label}: {key}", sections[key])
    return res


def stackling_run(args: argparse.Namespace, tmp: Path, data: Payloads) -> dict[str, Any]:
    """Start a Stackling (identity + object), log in, run the sections, stop it."""
    stk = Stackling(tmp / "stackling", free_port())
    res: dict[str, Any] = {"env": STACKLING_ENV}
    log(f"Stackling: starting in {stk.data_dir} (port {stk.port})")
    side: ObjSide | None = None
    try:
        res["up_detach_s"] = round(stk.up(env=STACKLING_ENV), 2)
        cloud = stk.cloud()
        with httpx.Client(timeout=60) as client:
            resp = client.post(
                f"{cloud.auth_url}/auth/tokens",
                json=auth_body(cloud.username, cloud.password, cloud.project, cloud.user_domain),
            )
        if resp.status_code != 201:
            raise BenchError(f"POST /v3/auth/tokens: HTTP {resp.status_code}: {resp.text[:200]}")
        side = ObjSide(
            name="stackling",
            label="Stackling",
            url=catalog_url(resp.json()["token"]["catalog"], "object-store"),
            token=resp.headers["X-Subject-Token"],
            pids=stk.pids,
            concurrency=args.concurrency,
            timeout_s=args.request_timeout,
        )
        res |= run_sections(side, data, args)
    except (RuntimeError, subprocess.TimeoutExpired, httpx.HTTPError, LookupError) as exc:
        log(f"Stackling: unavailable: {exc}")
        res["unavailable"] = f"{type(exc).__name__}: {exc}"
    finally:
        if side is not None:
            side.close()
        stk.down()
        res["log_errors"] = log_errors(stk.data_dir / "logs", keep=20)
        keep_logs(args, stk.data_dir / "logs", "stackling")
    return res


def swift_run(
    args: argparse.Namespace, tmp: Path, data: Payloads, name: str, workers: int
) -> dict[str, Any]:
    """Set up the real Swift with `workers` per server, run the sections, stop it."""
    peer = SwiftPeer(tmp / name, free_port(), workers, args.swift_venv)
    res: dict[str, Any] = {"version": SWIFT_VERSION, "workers": workers}
    log(f"Swift {SWIFT_VERSION} (workers={workers}): setting up in {peer.data_dir}")
    side: ObjSide | None = None
    try:
        peer.up()
        res["timings"] = dict(peer.timings)
        side = ObjSide(
            name=name,
            label=f"Swift {SWIFT_VERSION} workers={workers}",
            url=peer.storage_url,
            token=peer.token,
            pids=peer.pids,
            concurrency=args.concurrency,
            timeout_s=args.request_timeout,
            parts={g: (lambda g=g: peer.pids((g,))) for g in peer.groups},
        )
        res |= run_sections(side, data, args)
    except PeerUnavailable as exc:
        log(f"Swift: unavailable: {exc}")
        res["unavailable"] = str(exc)
        res["timings"] = dict(peer.timings)
    finally:
        if side is not None:
            side.close()
        peer.down()
        res["log_errors"] = [e for e in log_errors(peer.logs, keep=20) if "Eventlet" not in e]
        keep_logs(args, peer.logs, name)
    return res


# -- report ---------------------------------------------------------------------------------


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _phases(side: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key, phase) for every rate phase a side measured, e.g. ("small.get", {...})."""
    for section in ("mib", "small", "listing"):
        for key, ph in (side.get(section) or {}).items():
            if isinstance(ph, dict) and "ops_s" in ph:
                yield f"{section}.{key}", ph


def ratios(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Stackling/Swift per phase (ops/s, MiB/s) and Swift/Stackling p50 ("times faster")."""
    out: list[dict[str, Any]] = []
    mine = info["sides"].get("stackling") or {}
    theirs_by_key = {k: v for k, v in info["sides"].items() if k.startswith("swift")}
    for peer_name, theirs in theirs_by_key.items():
        peer_phases = dict(_phases(theirs))
        for key, ph in _phases(mine):
            other = peer_phases.get(key)
            if not other or not other["ops_s"] or not ph["ms"]["p50"]:
                continue
            out.append(
                {
                    "peer": peer_name,
                    "what": ph["op"],
                    "ops_s": ph["ops_s"] / other["ops_s"],
                    "p50": other["ms"]["p50"] / ph["ms"]["p50"],
                }
            )
        g_mine, g_peer = mine.get("gib") or {}, theirs.get("gib") or {}
        for key in ("put", "get", "get_md5"):
            if key in g_mine and key in g_peer:
                out.append(
                    {
                        "peer": peer_name,
                        "what": f"{g_mine['mib']} MiB {key.upper().replace('_MD5', '+md5')}",
                        "mib_s": g_mine[key]["mib_s"] / g_peer[key]["mib_s"],
                    }
                )
        for limit, pg in ((mine.get("listing") or {}).get("pages") or {}).items():
            other = ((theirs.get("listing") or {}).get("pages") or {}).get(limit)
            if other and pg["page_ms"]["p50"]:
                out.append(
                    {
                        "peer": peer_name,
                        "what": f"listing {limit}/page",
                        "p50": other["page_ms"]["p50"] / pg["page_ms"]["p50"],
                    }
                )
    return out


def report(info: dict[str, Any]) -> None:
    """The figures as Markdown on stdout."""
    print(f"# Object bench ({info['started']}, {info['host']})\n")
    print(f"load average before: {info['load_before']}, after: {info.get('load_after')}\n")
    sides = info["sides"]
    for name, side in sides.items():
        if "unavailable" in side:
            print(f"{name}: unavailable: {side['unavailable']}\n")
    print("## Rates (closed loop, concurrency " + str(info["concurrency"]) + ")\n")
    print(
        "| side | operation | ok/n | ops/s | MiB/s | p50/p95/max ms | server cpu s "
        "| server cpu ms/op | client cpu s | client cores | others cpu s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, side in sides.items():
        for _, ph in _phases(side):
            ms, cpu = ph["ms"], ph["cpu"]
            print(
                f"| {name} | {ph['op']} | {ph['ok']}/{ph['count']} | {_f(ph['ops_s'])} "
                f"| {_f(ph['mib_s'])} | {_f(ms['p50'])}/{_f(ms['p95'])}/{_f(ms['max'])} "
                f"| {cpu['server_cpu_s']:.2f} | {_f(ph['server_ms_per_op'], 2)} "
                f"| {cpu['client_cpu_s']:.2f} | {_f(ph['client_cores'], 2)} "
                f"| {cpu['other_cpu_s']:.2f} |"
            )
    print("\n## One big object, streamed\n")
    print(
        "| side | MiB | PUT MiB/s | sync after s | ETag ok | GET MiB/s | GET+md5 MiB/s | md5 ok |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, side in sides.items():
        g = side.get("gib") or {}
        if "put" in g:
            print(
                f"| {name} | {g['mib']} | {_f(g['put']['mib_s'])} "
                f"| {g['put']['sync_after_s']} | {g['put']['etag_ok']} "
                f"| {_f(g['get']['mib_s'])} | {_f(g['get_md5']['mib_s'])} | {g['md5_ok']} |"
            )
        elif "error" in g:
            print(f"| {name} | {g['error'][:120]} | | | | | | |")
    print("\n## Container listing (GET ?format=json, marker paging)\n")
    print("| side | names | per page | page p50/p95 ms | best run s | names/s | counts ok |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, side in sides.items():
        for limit, pg in ((side.get("listing") or {}).get("pages") or {}).items():
            ms = pg["page_ms"]
            print(
                f"| {name} | {pg['runs'][0]['names']} | {limit} | {_f(ms['p50'])}/{_f(ms['p95'])} "
                f"| {min(r['s'] for r in pg['runs']):.3f} | {_f(pg['names_s'], 0)} "
                f"| {pg['names_ok']} |"
            )
    for name, side in sides.items():
        for key in SECTIONS:
            sec = side.get(key) or {}
            if "error" in sec:
                print(f"\n{name} {key} FAILED: {sec['error']}")
            for ph in (v for v in sec.values() if isinstance(v, dict)):
                if ph.get("error_samples"):
                    print(f"\n{name} {ph['op']} errors: {ph['error_samples']}")
                if ph.get("cpu_by_process") and key == "small":
                    print(f"\n{name} {ph['op']} CPU s by process: {ph['cpu_by_process']}")
    rows = info.get("ratios") or []
    if rows:
        print("\n## Ratios Stackling/Swift (x > 1: Stackling faster)\n")
        for r in rows:
            labels = {"ops_s": "ops/s", "mib_s": "MiB/s", "p50": "p50 latency"}
            figures = ", ".join(f"{v} x{_f(r[k], 2)}" for k, v in labels.items() if k in r)
            print(f"- vs {r['peer']}: {r['what']}: {figures}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every asked-for side, one after the other; the figures."""
    info: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": f"{platform.node()} ({os.cpu_count()} cpus)",
        "load_before": os.getloadavg(),
        "concurrency": args.concurrency,
        "args": {k: str(v) for k, v in vars(args).items()},
        "sides": {},
    }
    data = Payloads()
    tmp = Path(tempfile.mkdtemp(prefix="bench-object-", dir=args.tmp_dir))
    try:
        if "stackling" in args.side_list:
            info["sides"]["stackling"] = stackling_run(args, tmp, data)
        if "swift" in args.side_list:
            for workers in args.swift_worker_list:
                name = "swift" if workers == args.swift_worker_list[0] else f"swift_w{workers}"
                info["sides"][name] = swift_run(args, tmp, data, name, workers)
    finally:
        log(f"removing {tmp}")
        shutil.rmtree(tmp, ignore_errors=True)
    info["load_after"] = os.getloadavg()
    info["ratios"] = ratios(info)
    return info


def _csv(value: str, allowed: tuple[str, ...]) -> list[str]:
    items = [s.strip() for s in value.split(",") if s.strip()]
    unknown = sorted(set(items) - set(allowed))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; of {','.join(allowed)}")
    return items


def main() -> None:
    """Parse arguments, run, print, write JSON."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--sides", default="stackling,swift", help="of stackling,swift")
    ap.add_argument("--sections", default=",".join(SECTIONS), help="of " + ",".join(SECTIONS))
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--mib-objects", type=int, default=512)
    ap.add_argument("--gib-mib", type=int, default=1024, help="size of the one big object")
    ap.add_argument("--small-objects", type=int, default=2000)
    ap.add_argument("--list-objects", type=int, default=10000)
    ap.add_argument("--page-sizes", default="1000,10000", help="listing limits to try")
    ap.add_argument("--list-runs", type=int, default=3)
    ap.add_argument("--swift-workers", default="1", help="e.g. 1,2: one Swift run per value")
    ap.add_argument("--swift-venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--request-timeout", type=float, default=600.0)
    ap.add_argument("--tmp-dir", type=Path, default=Path("/var/tmp"), help="where data dirs go")
    ap.add_argument("--keep-logs", type=Path, default=None, help="copy each cloud's logs/ here")
    ap.add_argument("--output", "--json", type=Path, default=None, help="also write JSON here")
    args = ap.parse_args()
    try:
        args.side_list = _csv(args.sides, ("stackling", "swift"))
        args.section_list = _csv(args.sections, SECTIONS)
        args.swift_worker_list = [int(w) for w in args.swift_workers.split(",")]
    except (argparse.ArgumentTypeError, ValueError) as exc:
        ap.error(str(exc))
    if shutil.disk_usage(args.tmp_dir).free < 3 * args.gib_mib * MIB:
        ap.error(f"less than {3 * args.gib_mib} MiB free in {args.tmp_dir}")
    signal.signal(signal.SIGTERM, _fail)
    info = run(args)
    report(info)
    if args.output:
        args.output.write_text(json.dumps(info, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
