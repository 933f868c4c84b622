"""Compute benchmark: Nova API to ACTIVE and server listing, Stackling against the real Nova.

    .venv/bin/python bench/compute.py [--servers 100] [--concurrency 10] [--list-size 10000]
        [--peer-list-size 1000] [--list-requests 20] [--fake-hosts 20] [--libvirt]
        [--skip-peer] [--skip-stackling] [--keep-logs DIR] [--output r.json]

The two clouds run one after the other, not side by side, so that neither's
idle work (Nova's periodic tasks over 1000 fake instances, RabbitMQ) lands in
the other's figures: first Stackling (fresh temp data dir, fake compute
driver with `--fake-hosts` simulated hosts), measured and stopped, then the
OpenStack peer (`up --compute`: Keystone, Glance, Placement, RabbitMQ and
Nova 34 with the fake virt driver reporting `--fake-hosts` nodes), measured
and stopped. On each side the admin logs in (password, project scope) and the
compute and image endpoints are taken from the token's catalog (types
`compute` and `image`, interface public), so no path prefix is assumed. Every
compute request carries microversion 2.37.

Set-up (untimed), the same on both sides: PUT /os-quota-sets/{project} with
instances, cores and ram -1 (its status is reported; Nova's default would stop
at 10 instances); flavor `bench.tiny` (1 vCPU, 64 MiB RAM, 0 disk) created by
the admin; image `bench-compute` uploaded as a real 1 MiB qcow2 (`qemu-img
create -f qcow2`, disk_format qcow2, as Stackling inspects uploads with
qemu-img) and waited for until active. Stackling is started with
STACKLING_COMPUTE__DRIVER=fake, STACKLING_COMPUTE__FAKE_HOSTS=`--fake-hosts`,
a CPU (and RAM) allocation ratio raised from the default only when the fake
hosts (64 vCPUs, 128 GiB each) could not hold the largest list size, and
without registering its test image (its build would compete for the CPU).
The peer's fake nodes have 1000 vCPUs each and need nothing of the kind.

1. API -> ACTIVE: `--servers` servers at concurrency `--concurrency`. Each
   worker thread has one kept-alive HTTP/1.1 connection (loadgen.Connection,
   the same client code for both sides; reopened when the server closes it, as
   gunicorn's sync workers do after every response) and, until all are done,
   POSTs /servers (`networks: "none"`) and then GETs /servers/{id} every
   50 ms (start to start) until the status is ACTIVE, timed from the start of
   the POST. ERROR, any non-200 poll or `--boot-timeout` is an error. Figures:
   p50, p95, max, the POST's own latency, polls per server, throughput
   (servers ACTIVE / time from the first POST to the last ACTIVE) and CPU
   seconds of the server's processes, of this client and of everything else.
   The polls are part of the load on the API, equally on both sides. Then the
   same workers DELETE every server and GET it every 50 ms until 404, timed
   from the DELETE and reported separately.
2. GET /servers/detail?limit=1000: the project is brought to N servers with
   multi-create (min_count = max_count = 100 per POST, sequential POSTs),
   then GET /servers?status=BUILD is polled every 2 s until none is building;
   the time for that and the ACTIVE/ERROR counts are reported. Then one
   warm-up and `--list-requests` sequential requests over one connection:
   p50/p95/p99/max (nearest rank), the response size and the number of
   servers in each response. Stackling is measured at `--peer-list-size`
   (like-for-like with the peer) and at `--list-size` (target there: p95 <
   150 ms); the peer only at `--peer-list-size` (it builds ~1.2 servers/s on
   this kind of machine, so 10 000 would take hours). The list servers are
   not deleted: each cloud's data dir is discarded at the end.
3. `--libvirt` (root, libvirtd, the real driver): a separate Stackling with
   the libvirt driver (QEMU TCG where KVM does not work) and
   STACKLING_IMAGE__REGISTER_TEST_IMAGE=true, waited for until its `cirros`
   image is active; then `--libvirt-boots` boots, one at a time, of `cirros`
   with flavor `s1.nano` (id 100): POST -> ACTIVE (GET every 50 ms) and POST ->
   the line STACKLING-GUEST-READY in os-getConsoleOutput (polled every
   0.5 s); each server is deleted (and waited for) before the next boot.

Ratios are peer/Stackling for latencies and Stackling/peer for throughput:
both read as "times faster" for Stackling. ERROR lines of Stackling's log are
kept in the JSON; `--keep-logs DIR` copies every cloud's logs/ there. Data
dirs live in a temp dir under `--tmp-dir` and are removed at exit, also on
failure or SIGTERM (the peer with its `down --purge`; the libvirt Stackling's
servers are deleted first, and any guest still defined on the bench's disks
is destroyed after it stopped). No assertion on timings: it prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import inspect
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
from loadgen import Connection, CpuMeter, connect_to, percentile, pool, request_to
from procs import (
    Cloud,
    Peer,
    Stackling,
    auth_body,
    catalog_url,
    free_port,
    keep_logs,
    log,
    log_errors,
    peer_port_base,
)

from stackling.compute.drivers.fake import FakeDriver
from stackling.settings import ComputeSettings

MICROVERSION = "2.37"
POLL_S = 0.05
CONSOLE_POLL_S = 0.5
BUILD_POLL_S = 2.0
BATCH = 100
PAGE = 1000
FLAVOR = "bench.tiny"
FLAVOR_VCPUS, FLAVOR_RAM_MB = 1, 64
IMAGE = "bench-compute"
BOOT_PREFIX = "bench-boot"
LIST_PREFIX = "bench-list"
LIST_TARGET_P95_MS = 150
READY_MARK = "STACKLING-GUEST-READY"
LIBVIRT_FLAVOR = "100"  # s1.nano, one of Stackling's default flavors
TEST_IMAGE = "cirros"
TOKEN_REFRESH_S = 900
_FAKE = inspect.signature(FakeDriver).parameters
FAKE_HOST_VCPUS: int = _FAKE["vcpus"].default
FAKE_HOST_RAM_MB: int = _FAKE["memory_mb"].default


class BenchError(RuntimeError):
    """A request that did not do what the bench needs."""


def _fail(signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


def _expect(resp: httpx.Response, status: int | tuple[int, ...], what: str) -> None:
    wanted = status if isinstance(status, tuple) else (status,)
    if resp.status_code not in wanted:
        raise BenchError(f"{what}: HTTP {resp.status_code} (wanted {status}): {resp.text[:300]}")


def stats(values: list[float], scale: float = 1.0) -> dict[str, float]:
    """p50/p95/p99/max/min/mean of `values` times `scale` (nearest rank; nan when empty)."""
    v = sorted(x * scale for x in values)
    return {
        "p50": percentile(v, 50),
        "p95": percentile(v, 95),
        "p99": percentile(v, 99),
        "max": v[-1] if v else math.nan,
        "min": v[0] if v else math.nan,
        "mean": sum(v) / len(v) if v else math.nan,
    }


# -- one cloud ---------------------------------------------------------------------------


@dataclass
class Side:
    """One cloud under test: endpoints from its catalog, an admin token, what it boots."""

    name: str
    cloud: Cloud
    pids: Callable[[], list[int]]
    timeout_s: float
    token: str = ""
    token_at: float = 0.0
    compute: str = ""
    image: str = ""
    project_id: str = ""
    flavor_id: str = ""
    image_id: str = ""
    results: dict[str, Any] = field(default_factory=dict)

    def login(self) -> None:
        """Issue an admin token; read the compute and image endpoints from its catalog."""
        c = self.cloud
        with httpx.Client(timeout=120) as client:
            resp = client.post(
                f"{c.auth_url}/auth/tokens",
                json=auth_body(c.username, c.password, c.project, c.user_domain),
            )
        _expect(resp, 201, f"{self.name}: POST /v3/auth/tokens")
        self.token = resp.headers["X-Subject-Token"]
        self.token_at = time.monotonic()
        token = resp.json()["token"]
        self.project_id = token["project"]["id"]
        try:
            self.compute = catalog_url(token["catalog"], "compute")
            self.image = catalog_url(token["catalog"], "image").removesuffix("/v2")
        except LookupError as exc:
            raise BenchError(f"{self.name}: {exc}") from None

    def fresh(self) -> None:
        """Log in again when the token is older than TOKEN_REFRESH_S (it lives an hour)."""
        if time.monotonic() - self.token_at > TOKEN_REFRESH_S:
            self.login()

    @property
    def headers(self) -> dict[str, str]:
        """The admin token and the compute microversion."""
        return {
            "X-Auth-Token": self.token,
            "OpenStack-API-Version": f"compute {MICROVERSION}",
            "X-OpenStack-Nova-API-Version": MICROVERSION,
        }

    def http(self) -> httpx.Client:
        """A client for set-up and bookkeeping calls (not the timed ones)."""
        return httpx.Client(timeout=httpx.Timeout(self.timeout_s, connect=10))

    def connection(self) -> Connection:
        """A kept-alive raw connection to the compute endpoint, for the timed requests."""
        return connect_to(self.compute, self.timeout_s)

    def raw(self, method: str, path: str, body: Any = None) -> bytes:
        """A complete compute request (path below the endpoint, e.g. /servers) as bytes."""
        return request_to(self.compute, self.headers, method, path, body)

    def boot_body(self, name: str, count: int = 1) -> dict[str, Any]:
        """POST /servers body: the bench image and flavor, no network."""
        server: dict[str, Any] = {
            "name": name,
            "imageRef": self.image_id,
            "flavorRef": self.flavor_id,
            "networks": "none",
        }
        if count > 1:
            server |= {"min_count": count, "max_count": count}
        return {"server": server}


# -- set-up ------------------------------------------------------------------------------


def set_quotas(side: Side) -> dict[str, Any]:
    """PUT /os-quota-sets/{project}: instances, cores and ram unlimited; status and body."""
    body = {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}
    with side.http() as client:
        resp = client.put(
            f"{side.compute}/os-quota-sets/{side.project_id}", json=body, headers=side.headers
        )
    out: dict[str, Any] = {"status": resp.status_code}
    if resp.status_code != 200:
        out["body"] = resp.text[:300]
        log(f"{side.name}: PUT /os-quota-sets/{side.project_id}: HTTP {resp.status_code}")
    return out


def ensure_flavor(side: Side, name: str = FLAVOR) -> str:
    """The id of flavor `name` (1 vCPU, 64 MiB, 0 disk), created by the admin if missing."""
    with side.http() as client:
        resp = client.get(f"{side.compute}/flavors", params={"limit": PAGE}, headers=side.headers)
        _expect(resp, 200, f"{side.name}: GET /flavors")
        for flavor in resp.json().get("flavors", []):
            if flavor.get("name") == name:
                return str(flavor["id"])
        body = {"flavor": {"name": name, "ram": FLAVOR_RAM_MB, "vcpus": FLAVOR_VCPUS, "disk": 0}}
        resp = client.post(f"{side.compute}/flavors", json=body, headers=side.headers)
        _expect(resp, 200, f"{side.name}: POST /flavors")
        return str(resp.json()["flavor"]["id"])


def wait_image_active(
    side: Side, client: httpx.Client, image_id: str, timeout_s: float
) -> dict[str, Any]:
    """GET the image every 0.1 s until it is active."""
    deadline = time.monotonic() + timeout_s
    while True:
        resp = client.get(f"{side.image}/v2/images/{image_id}", headers=side.headers)
        _expect(resp, 200, f"{side.name}: GET /v2/images/{image_id}")
        image = resp.json()
        if image.get("status") == "active":
            return image
        if image.get("status") in ("killed", "deleted", "deactivated"):
            raise BenchError(f"{side.name}: image {image_id} is {image['status']}")
        if time.monotonic() > deadline:
            raise BenchError(f"{side.name}: image {image_id} still {image.get('status')}")
        time.sleep(0.1)


def upload_image(side: Side, path: Path) -> str:
    """Create image `bench-compute` (qcow2, bare), upload `path`, wait until active; its id."""
    body = {"name": IMAGE, "disk_format": "qcow2", "container_format": "bare"}
    with side.http() as client:
        resp = client.post(f"{side.image}/v2/images", json=body, headers=side.headers)
        _expect(resp, 201, f"{side.name}: POST /v2/images")
        image_id = str(resp.json()["id"])
        resp = client.put(
            f"{side.image}/v2/images/{image_id}/file",
            content=path.read_bytes(),
            headers={**side.headers, "Content-Type": "application/octet-stream"},
        )
        _expect(resp, 204, f"{side.name}: PUT /v2/images/{image_id}/file")
        wait_image_active(side, client, image_id, 120)
    return image_id


def prepare(side: Side, qcow2: Path) -> None:
    """Quotas, flavor and image for the fake-driver sections."""
    side.login()
    side.results["compute_endpoint"] = side.compute
    side.results["quota_put"] = set_quotas(side)
    side.flavor_id = ensure_flavor(side)
    side.image_id = upload_image(side, qcow2)
    log(f"{side.name}: compute {side.compute}, flavor {side.flavor_id}, image {side.image_id}")


def make_qcow2(directory: Path) -> Path:
    """A real, empty 1 MiB qcow2 image made by qemu-img."""
    path = directory / "bench-compute.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-f", "qcow2", str(path), "1M"], check=True, capture_output=True
    )
    return path


# -- the timed loops -----------------------------------------------------------------------


def poll(
    conn: Connection,
    request: bytes,
    verdict: Callable[[int, bytes], str | None],
    deadline: float,
    interval_s: float = POLL_S,
) -> tuple[str, int, float, int, bytes]:
    """Send `request` every `interval_s` (start to start) until `verdict` names an outcome.

    Returns (outcome, polls, perf_counter when the deciding response arrived,
    its status, its body); the outcome is "timeout" when `deadline` passed.
    """
    polls = 0
    due = time.perf_counter()
    while True:
        status, _, body = conn.request(request)
        now = time.perf_counter()
        polls += 1
        outcome = verdict(status, body)
        if outcome is not None:
            return outcome, polls, now, status, body
        if now > deadline:
            return "timeout", polls, now, status, body
        due += interval_s
        time.sleep(max(0.0, due - time.perf_counter()))


def server_verdict(status: int, body: bytes) -> str | None:
    """ACTIVE or ERROR ends a wait for a new server; any non-200 answer ends it too."""
    if status != 200:
        return f"HTTP {status}"
    state = json.loads(body)["server"]["status"]
    return state if state in ("ACTIVE", "ERROR") else None


def gone_verdict(status: int, body: bytes) -> str | None:
    """404 ends a wait for a deleted server; ERROR or any other non-200 ends it as a failure."""
    if status == 404:
        return "gone"
    if status != 200:
        return f"HTTP {status}"
    return "ERROR" if json.loads(body)["server"]["status"] == "ERROR" else None


def _fault(body: bytes) -> str:
    with contextlib.suppress(ValueError, KeyError, TypeError):
        server = json.loads(body)["server"]
        return f" (fault: {json.dumps(server.get('fault'))[:300]})"
    return f": {body[:300]!r}"


def boot_one(side: Side, conn: Connection, name: str, timeout_s: float) -> dict[str, Any]:
    """POST /servers, then GET it every 50 ms until ACTIVE; times from the start of the POST."""
    request = side.raw("POST", "/servers", side.boot_body(name))
    t0 = time.perf_counter()
    status, _, body = conn.request(request)
    t_post = time.perf_counter()
    out: dict[str, Any] = {"t0": t0, "post_s": t_post - t0}
    if status != 202:
        out["error"] = f"POST /servers: HTTP {status}: {body[:300]!r}"
        return out
    out["id"] = server_id = json.loads(body)["server"]["id"]
    get = side.raw("GET", f"/servers/{server_id}")
    outcome, polls, t_end, status, body = poll(conn, get, server_verdict, t0 + timeout_s)
    out |= {"polls": polls, "t_end": t_end}
    if outcome == "ACTIVE":
        out["active_s"] = t_end - t0
    elif outcome == "timeout":
        state = json.loads(body)["server"]["status"] if status == 200 else status
        out["error"] = f"still {state} {timeout_s:g} s after POST"
    else:
        out["error"] = f"{outcome} after {t_end - t0:.2f} s{_fault(body)}"
    return out


def delete_one(side: Side, conn: Connection, server_id: str, timeout_s: float) -> dict[str, Any]:
    """DELETE /servers/{id}, then GET it every 50 ms until 404; times from the DELETE."""
    t0 = time.perf_counter()
    status, _, body = conn.request(side.raw("DELETE", f"/servers/{server_id}"))
    out: dict[str, Any] = {"t0": t0, "delete_call_s": time.perf_counter() - t0}
    if status not in (204, 404):
        out["error"] = f"DELETE /servers/{server_id}: HTTP {status}: {body[:300]!r}"
        return out
    get = side.raw("GET", f"/servers/{server_id}")
    outcome, polls, t_end, status, body = poll(conn, get, gone_verdict, t0 + timeout_s)
    out |= {"polls": polls, "t_end": t_end}
    if outcome == "gone":
        out["gone_s"] = t_end - t0
    else:
        out["error"] = f"{server_id}: {outcome} after DELETE ({t_end - t0:.2f} s){_fault(body)}"
    return out


def summarize_runs(runs: list[dict[str, Any]], key: str, wall_from: float) -> dict[str, Any]:
    """Latency percentiles (s) of the ok runs, errors, and ok per second of wall time."""
    ok = [r for r in runs if key in r]
    ends = [r["t_end"] for r in ok]
    wall = (max(ends) - wall_from) if ends else math.nan
    out: dict[str, Any] = {
        "count": len(runs),
        "ok": len(ok),
        "errors": len(runs) - len(ok),
        "error_samples": [r["error"] for r in runs if "error" in r][:5],
        "wall_s": round(wall, 3),
        "per_s": len(ok) / wall if ok and wall > 0 else math.nan,
        "seconds": stats([r[key] for r in ok]),
    }
    polls = [r["polls"] for r in ok]
    out["polls_mean"] = sum(polls) / len(polls) if polls else math.nan
    return out


def boot_section(side: Side, args: argparse.Namespace) -> dict[str, Any]:
    """`--servers` servers at `--concurrency` to ACTIVE, then all of them deleted."""
    side.login()
    names = [f"{BOOT_PREFIX}-{i:05d}" for i in range(args.servers)]
    cpu = CpuMeter(side.pids())
    began = time.perf_counter()
    runs = pool(
        names,
        args.concurrency,
        side.connection,
        lambda conn, name: boot_one(side, conn, name, args.boot_timeout),
    )
    out = summarize_runs(runs, "active_s", began)
    out |= {"concurrency": args.concurrency, "cpu": cpu.read()}
    out["post_ms"] = stats([r["post_s"] for r in runs if "post_s" in r], 1000)
    counts = Counter("ACTIVE" if "active_s" in r else r.get("error", "?")[:40] for r in runs)
    log(
        f"  -> {out['ok']}/{out['count']} ACTIVE, p50 {out['seconds']['p50']:.3f} s, "
        f"p95 {out['seconds']['p95']:.3f} s, {out['per_s']:.2f} servers/s; {dict(counts)}"
    )
    ids = [r["id"] for r in runs if "id" in r]
    log(f"{side.name}: deleting the {len(ids)} servers (DELETE, then GET until 404)")
    side.login()
    cpu = CpuMeter(side.pids())
    began = time.perf_counter()
    gone = pool(
        ids,
        args.concurrency,
        side.connection,
        lambda conn, sid: delete_one(side, conn, sid, args.boot_timeout),
    )
    out["delete"] = summarize_runs(gone, "gone_s", began) | {"cpu": cpu.read()}
    out["delete"]["call_ms"] = stats(
        [r["delete_call_s"] for r in gone if "delete_call_s" in r], 1000
    )
    d = out["delete"]
    log(f"  -> {d['ok']}/{d['count']} gone in {d['wall_s']} s, p50 {d['seconds']['p50']:.3f} s")
    return out


# -- listing -----------------------------------------------------------------------------


def count_servers(side: Side, client: httpx.Client, status: str | None = None) -> int:
    """Servers of the project (optionally in one status), paging GET /servers by marker."""
    total, marker = 0, None
    while True:
        params: dict[str, Any] = {"limit": PAGE}
        if status:
            params["status"] = status
        if marker:
            params["marker"] = marker
        resp = client.get(f"{side.compute}/servers", params=params, headers=side.headers)
        _expect(resp, 200, f"{side.name}: GET /servers")
        page = resp.json()["servers"]
        total += len(page)
        if len(page) < PAGE:
            return total
        marker = page[-1]["id"]


def fill(side: Side, target: int, timeout_s: float) -> dict[str, Any]:
    """Bring the project to `target` servers by multi-create; wait until none is BUILD."""
    side.login()
    out: dict[str, Any] = {"target": target}
    with side.http() as client:
        present = count_servers(side, client)
        out["present_before"] = present
        post_s: list[float] = []
        began = time.perf_counter()
        while present < target:
            n = min(BATCH, target - present)
            t0 = time.perf_counter()
            resp = client.post(
                f"{side.compute}/servers",
                json=side.boot_body(LIST_PREFIX, n),
                headers=side.headers,
            )
            post_s.append(time.perf_counter() - t0)
            _expect(resp, 202, f"{side.name}: POST /servers (min_count = max_count = {n})")
            present += n
            side.fresh()
        out["created"] = present - out["present_before"]
        out["posts"] = len(post_s)
        out["post_ms"] = stats(post_s, 1000)
        out["post_all_s"] = round(time.perf_counter() - began, 2)
        deadline = time.monotonic() + timeout_s
        last_log = 0.0
        while True:
            side.fresh()
            resp = client.get(
                f"{side.compute}/servers",
                params={"status": "BUILD", "limit": PAGE},
                headers=side.headers,
            )
            _expect(resp, 200, f"{side.name}: GET /servers?status=BUILD")
            building = len(resp.json()["servers"])
            if not building:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"{side.name}: {building} servers still BUILD after {timeout_s} s")
            if time.monotonic() - last_log > 30:
                last_log = time.monotonic()
                done = time.perf_counter() - began
                more = "+" if building == PAGE else ""
                log(f"  {side.name}: {building}{more} BUILD after {done:.0f} s")
            time.sleep(BUILD_POLL_S)
        took = time.perf_counter() - began
        out["to_none_building_s"] = round(took, 2)
        out["servers_per_s"] = out["created"] / took if out["created"] and took > 0 else math.nan
        out["present"] = count_servers(side, client)
        out["active"] = count_servers(side, client, "ACTIVE")
        out["error"] = count_servers(side, client, "ERROR")
    log(
        f"  -> {out['created']} created in {out['to_none_building_s']} s "
        f"({out['servers_per_s']:.1f}/s); present {out['present']}, ACTIVE {out['active']}, "
        f"ERROR {out['error']}"
    )
    return out


def measure_list(side: Side, requests: int) -> dict[str, Any]:
    """One warm-up, then `requests` sequential GET /servers/detail?limit=1000 on one connection."""
    side.login()
    conn = side.connection()
    raw = side.raw("GET", f"/servers/detail?limit={PAGE}")
    status, _, body = conn.request(raw)
    if status != 200:
        raise BenchError(
            f"{side.name}: GET /servers/detail (warm-up): HTTP {status}: {body[:300]!r}"
        )
    lat: list[float] = []
    sizes: list[int] = []
    counts: list[int] = []
    errors: list[str] = []
    cpu = CpuMeter(side.pids())
    for _ in range(requests):
        t0 = time.perf_counter()
        try:
            status, _, body = conn.request(raw)
        except OSError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            conn.close()
            continue
        took = time.perf_counter() - t0
        if status != 200:
            errors.append(f"HTTP {status}: {body[:200]!r}")
            continue
        lat.append(took)
        sizes.append(len(body))
        counts.append(len(json.loads(body)["servers"]))
    usage = cpu.read()
    conn.close()
    out: dict[str, Any] = {
        "requests": requests,
        "ok": len(lat),
        "errors": len(errors),
        "error_samples": errors[:5],
        "ms": stats(lat, 1000),
        "response_bytes": int(percentile(sorted(sizes), 50)) if sizes else 0,
        "servers_in_response": sorted(set(counts)),
        "cpu": usage,
        "server_cpu_ms_per_request": usage["server_cpu_s"] * 1000 / len(lat) if lat else math.nan,
    }
    log(
        f"  -> p50 {out['ms']['p50']:.1f} ms, p95 {out['ms']['p95']:.1f} ms, "
        f"{out['response_bytes'] / 1024:.0f} KiB, {out['servers_in_response']} servers/response"
    )
    return out


def list_section(side: Side, sizes: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """For each size (ascending): fill to it, then measure the detailed list."""
    out: dict[str, Any] = {}
    for size in sorted(set(sizes)):
        log(f"{side.name}: bringing the project to {size} servers (multi-create {BATCH})")
        entry: dict[str, Any] = {}
        out[str(size)] = entry
        try:
            entry["fill"] = fill(side, size, args.build_timeout)
            log(f"{side.name}: GET /servers/detail?limit={PAGE} x {args.list_requests} at {size}")
            entry["detail"] = measure_list(side, args.list_requests)
        except (BenchError, httpx.HTTPError, OSError) as exc:
            log(f"{side.name}: list at {size} FAILED: {exc}")
            entry["error"] = f"{type(exc).__name__}: {exc}"
            break
    return out


# -- libvirt -----------------------------------------------------------------------------


def libvirt_missing() -> list[str]:
    """Why the libvirt section cannot run here (empty when it can)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("not root")
    if shutil.which("libvirtd") is None:
        reasons.append("libvirtd not installed")
    if importlib.util.find_spec("stackling.compute.drivers.libvirt.driver") is None:
        reasons.append("stackling.compute.drivers.libvirt.driver does not exist yet")
    return reasons


def wait_test_image(side: Side, timeout_s: float) -> tuple[str, float]:
    """Poll GET /v2/images?name=cirros every 2 s until it is active; (id, seconds waited)."""
    began = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    with side.http() as client:
        while True:
            side.fresh()
            resp = client.get(
                f"{side.image}/v2/images", params={"name": TEST_IMAGE}, headers=side.headers
            )
            _expect(resp, 200, f"{side.name}: GET /v2/images?name={TEST_IMAGE}")
            images = resp.json().get("images", [])
            if images and images[0].get("status") == "active":
                return str(images[0]["id"]), time.perf_counter() - began
            if time.monotonic() > deadline:
                raise BenchError(f"{side.name}: no active {TEST_IMAGE!r} after {timeout_s} s")
            time.sleep(2)


def guest_boot(side: Side, name: str, timeout_s: float) -> dict[str, Any]:
    """One boot: POST -> ACTIVE (50 ms polls) -> READY_MARK on the console (0.5 s polls)."""
    conn = side.connection()
    try:
        out = boot_one(side, conn, name, timeout_s)
        if "active_s" not in out:
            return out
        t0 = out["t0"]
        console = side.raw("POST", f"/servers/{out['id']}/action", {"os-getConsoleOutput": {}})

        def ready(status: int, body: bytes) -> str | None:
            if status != 200:
                return f"HTTP {status}"
            return "ready" if READY_MARK in json.loads(body).get("output", "") else None

        outcome, polls, t_end, _, body = poll(conn, console, ready, t0 + timeout_s, CONSOLE_POLL_S)
        out["console_polls"] = polls
        if outcome == "ready":
            out["ready_s"] = t_end - t0
        else:
            out["error"] = f"no {READY_MARK} on the console: {outcome}: {body[-300:]!r}"
        return out
    finally:
        conn.close()


def delete_all(side: Side, timeout_s: float) -> int:
    """DELETE every server of the project and wait (bounded) until none is left; how many."""
    side.fresh()
    deadline = time.monotonic() + timeout_s
    with side.http() as client:
        resp = client.get(f"{side.compute}/servers", params={"limit": PAGE}, headers=side.headers)
        _expect(resp, 200, f"{side.name}: GET /servers")
        ids = [s["id"] for s in resp.json()["servers"]]
        for server_id in ids:
            client.delete(f"{side.compute}/servers/{server_id}", headers=side.headers)
        while ids and time.monotonic() < deadline:
            resp = client.get(f"{side.compute}/servers", headers=side.headers)
            if resp.status_code == 200 and not resp.json()["servers"]:
                break
            time.sleep(0.5)
    return len(ids)


def destroy_domains(data_dir: Path) -> list[str]:
    """Destroy and undefine the libvirt domains whose definition names a path in `data_dir`.

    The last resort after Stackling was stopped: guests outlive the process that
    started them, and the bench must not leave its own behind (nor touch any other).
    """
    virsh = ["virsh", "-c", ComputeSettings().libvirt_uri]
    try:
        names = subprocess.run(
            [*virsh, "list", "--all", "--name"], capture_output=True, text=True, timeout=30
        ).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        return []
    gone = []
    for name in names:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            xml = subprocess.run(
                [*virsh, "dumpxml", name], capture_output=True, text=True, timeout=30
            ).stdout
            if f"{data_dir}/" not in xml:
                continue
            for cmd in ("destroy", "undefine"):
                subprocess.run([*virsh, cmd, name], capture_output=True, timeout=60, check=False)
            gone.append(name)
    if gone:
        log(f"destroyed {len(gone)} leftover libvirt domain(s) of the bench: {gone}")
    return gone


def libvirt_section(
    args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack
) -> dict[str, Any]:
    """A Stackling with the libvirt driver: `cirros` on s1.nano to ACTIVE and to guest-ready."""
    missing = libvirt_missing()
    if missing:
        log(f"libvirt section skipped: {'; '.join(missing)}")
        return {"unavailable": "; ".join(missing)}
    stk = Stackling(tmp / "stackling-libvirt", free_port())
    out: dict[str, Any] = {"leftover_domains": []}
    sides: list[Side] = []
    stopped: list[bool] = []

    def _cleanup() -> None:
        """Delete the servers through the API, stop Stackling, destroy any guest left over."""
        if stopped:
            return
        stopped.append(True)
        if sides and sides[0].token and stk.pid is not None:
            with contextlib.suppress(BenchError, httpx.HTTPError, OSError, KeyError):
                delete_all(sides[0], 120)
        stk.down()
        out["leftover_domains"] += destroy_domains(stk.data_dir)
        keep_logs(args, stk.data_dir / "logs", "stackling-libvirt")

    stack.callback(_cleanup)
    env = {
        "STACKLING_COMPUTE__DRIVER": "libvirt",
        "STACKLING_IMAGE__REGISTER_TEST_IMAGE": "true",
    }
    log(f"starting Stackling (libvirt driver) in {stk.data_dir} (port {stk.port})")
    out["up_detach_s"] = round(stk.up(env=env, timeout_s=600), 2)
    side = Side("stackling-libvirt", stk.cloud(), stk.pids, args.request_timeout)
    sides.append(side)
    try:
        side.login()
        out["quota_put"] = set_quotas(side)
        log(f"waiting for Stackling's {TEST_IMAGE!r} test image to be active")
        side.image_id, waited = wait_test_image(side, args.image_timeout)
        out["test_image_wait_s"] = round(waited, 1)
        side.flavor_id = LIBVIRT_FLAVOR
        with side.http() as client:
            resp = client.get(f"{side.compute}/os-hypervisors/detail", headers=side.headers)
            if resp.status_code == 200:
                out["hypervisors"] = [
                    {k: h.get(k) for k in ("hypervisor_hostname", "hypervisor_type", "state")}
                    for h in resp.json().get("hypervisors", [])
                ]
        boots = []
        for i in range(args.libvirt_boots):
            side.fresh()
            log(f"stackling-libvirt: boot {i + 1}/{args.libvirt_boots}")
            boot = guest_boot(side, f"{BOOT_PREFIX}-libvirt-{i}", args.guest_timeout)
            boots.append(boot)
            if "id" in boot:
                conn = side.connection()
                try:
                    boot["delete"] = delete_one(side, conn, boot["id"], args.guest_timeout)
                finally:
                    conn.close()
            gone = boot.get("delete", {})
            log(
                f"  -> ACTIVE {boot.get('active_s', math.nan):.2f} s, "
                f"{READY_MARK} {boot.get('ready_s', math.nan):.2f} s, "
                f"DELETE -> gone {gone.get('gone_s', math.nan):.2f} s "
                f"{boot.get('error', '')} {gone.get('error', '')}"
            )
        out["boots"] = len(boots)
        out["active_s"] = stats([b["active_s"] for b in boots if "active_s" in b])
        out["ready_s"] = stats([b["ready_s"] for b in boots if "ready_s" in b])
        deletes = [b["delete"] for b in boots if "delete" in b]
        out["gone_s"] = stats([d["gone_s"] for d in deletes if "gone_s" in d])
        out["ok"] = sum(1 for b in boots if "ready_s" in b)
        out["error_samples"] = [
            e for b in boots for e in (b.get("error"), b.get("delete", {}).get("error")) if e
        ][:5]
        out["runs"] = [
            {k: v for k, v in b.items() if k in ("active_s", "ready_s", "error", "post_s")}
            | {"gone_s": b.get("delete", {}).get("gone_s")}
            for b in boots
        ]
    except (BenchError, httpx.HTTPError, OSError) as exc:
        log(f"stackling-libvirt FAILED: {exc}")
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["log_errors"] = log_errors(stk.data_dir / "logs")
    _cleanup()
    return out


# -- the run ---------------------------------------------------------------------------------


def cpu_allocation_ratio(needed_vcpus: int, hosts: int) -> float:
    """Stackling's default CPU allocation ratio, raised only if the fake hosts would be full."""
    default = ComputeSettings().cpu_allocation_ratio
    want = math.ceil(needed_vcpus * 1.25 / (hosts * FAKE_HOST_VCPUS))
    return float(max(default, want))


def ram_allocation_ratio(needed_mb: int, hosts: int) -> float:
    """Stackling's default RAM allocation ratio, raised only if the fake hosts would be full."""
    conf = ComputeSettings()
    usable = hosts * (FAKE_HOST_RAM_MB - conf.reserved_host_memory_mb)
    return float(max(conf.ram_allocation_ratio, math.ceil(needed_mb * 1.25 / usable)))


def _attempt(side: Side, what: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one section; a failure is recorded (and logged), not raised."""
    log(f"{side.name}: {what}")
    try:
        return fn()
    except (BenchError, httpx.HTTPError, OSError) as exc:
        log(f"{side.name}: {what} FAILED: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}


def measure_side(side: Side, qcow2: Path, list_sizes: list[int], args: argparse.Namespace) -> None:
    """Set-up, the boot section and the list section on one cloud, into side.results."""
    res = side.results
    try:
        prepare(side, qcow2)
    except (BenchError, httpx.HTTPError, OSError) as exc:
        log(f"{side.name}: set-up FAILED, skipped: {exc}")
        res["unavailable"] = f"{type(exc).__name__}: {exc}"
        return
    if args.servers > 0:
        res["boot"] = _attempt(
            side,
            f"{args.servers} servers to ACTIVE at concurrency {args.concurrency}",
            lambda: boot_section(side, args),
        )
    if list_sizes:
        res["list"] = _attempt(
            side, f"list at {list_sizes} servers", lambda: list_section(side, list_sizes, args)
        )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns everything measured."""
    info: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "loadavg_at_start": os.getloadavg(),
            "python": platform.python_version(),
        },
        "options": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in sorted(vars(args).items())
        },
        "microversion": MICROVERSION,
        "sides": {},
    }
    s_sizes = [n for n in (args.peer_list_size, args.list_size) if n > 0]
    p_sizes = [args.peer_list_size] if args.peer_list_size > 0 else []
    with contextlib.ExitStack() as stack:
        args.tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="stackling-bench-compute-", dir=args.tmp_dir))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        qcow2 = make_qcow2(tmp)
        if not args.skip_stackling:
            stk = Stackling(tmp / "stackling", free_port())
            stack.callback(stk.down)
            most = max([args.servers, *s_sizes])
            env = {
                "STACKLING_COMPUTE__DRIVER": "fake",
                "STACKLING_COMPUTE__FAKE_HOSTS": str(args.fake_hosts),
                "STACKLING_IMAGE__REGISTER_TEST_IMAGE": "false",
            }
            defaults = ComputeSettings()
            cpu = cpu_allocation_ratio(most * FLAVOR_VCPUS, args.fake_hosts)
            ram = ram_allocation_ratio(most * FLAVOR_RAM_MB, args.fake_hosts)
            if cpu != defaults.cpu_allocation_ratio:
                env["STACKLING_COMPUTE__CPU_ALLOCATION_RATIO"] = str(cpu)
            if ram != defaults.ram_allocation_ratio:
                env["STACKLING_COMPUTE__RAM_ALLOCATION_RATIO"] = str(ram)
            log(f"starting Stackling in {stk.data_dir} (port {stk.port}): {env}")
            try:
                up_s = round(stk.up(env=env), 2)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                log(f"Stackling did not start: {exc}")
                info["sides"]["stackling"] = {"unavailable": f"{type(exc).__name__}: {exc}"}
            else:
                side = Side("stackling", stk.cloud(), stk.pids, args.request_timeout)
                info["sides"]["stackling"] = side.results
                side.results |= {"env": env, "up_detach_s": up_s}
                measure_side(side, qcow2, s_sizes, args)
            log("stopping Stackling")
            stk.down()
            side.results["log_errors"] = log_errors(stk.data_dir / "logs")
            keep_logs(args, stk.data_dir / "logs", "stackling")
        if not args.skip_peer:
            peer = Peer(
                tmp / "peer",
                peer_port_base(args.peer_port_base, compute=True),
                compute=True,
                fake_nodes=args.fake_hosts,
            )
            stack.callback(peer.down, purge=True)
            log(
                f"starting the OpenStack peer (--compute) in {peer.data_dir}, port base "
                f"{peer.port_base} (the first start also installs it, ~1.5 min)"
            )
            try:
                up_s = round(peer.up(timeout_s=900), 2)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                log(f"the peer did not start: {exc}")
                info["sides"]["peer"] = {"unavailable": f"{type(exc).__name__}: {exc}"}
            else:
                side = Side("peer", peer.cloud(), peer.pids, args.request_timeout)
                info["sides"]["peer"] = side.results
                side.results["up_s"] = up_s
                with contextlib.suppress(FileNotFoundError, ValueError):
                    pj = json.loads((peer.data_dir / "peer.json").read_text())
                    side.results["peer_json"] = pj
                measure_side(side, qcow2, p_sizes, args)
            log("stopping the peer")
            peer.down()
            keep_logs(args, peer.data_dir / "logs", "peer")
            peer.down(purge=True)
        if args.libvirt:
            info["libvirt"] = libvirt_section(args, tmp, stack)
        info["machine"]["loadavg_at_end"] = os.getloadavg()
        log("stopping the clouds and removing their data dirs")
    info["ratios"] = ratios(info)
    return info


# -- report ------------------------------------------------------------------------------------


LABEL = {"stackling": "Stackling", "peer": "Nova (peer)"}


def _get(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _per_ok(section: dict[str, Any]) -> float:
    ok = section.get("ok") or 0
    return section["cpu"]["server_cpu_s"] / ok if ok else math.nan


def ratios(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Stackling's speed-up over the peer for every figure measured on both sides."""
    s, p = info["sides"].get("stackling", {}), info["sides"].get("peer", {})
    rows: list[dict[str, Any]] = []

    def add(figure: str, a: Any, b: Any, lower_better: bool, note: str = "") -> None:
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return
        if math.isnan(a) or math.isnan(b) or not a or not b:
            return
        rows.append(
            {
                "figure": figure,
                "stackling": a,
                "peer": b,
                "speedup": b / a if lower_better else a / b,
                "note": note,
            }
        )

    sb, pb = s.get("boot", {}), p.get("boot", {})
    if sb.get("ok") and pb.get("ok"):
        for pct in ("p50", "p95", "max"):
            note = "peer/Stackling; the aim is 10x" if pct != "max" else "peer/Stackling"
            add(f"API -> ACTIVE {pct} s", sb["seconds"][pct], pb["seconds"][pct], True, note)
        add("servers ACTIVE per s", sb["per_s"], pb["per_s"], False, "Stackling/peer")
        add("POST /servers p50 ms", sb["post_ms"]["p50"], pb["post_ms"]["p50"], True)
        add("server CPU s per boot", _per_ok(sb), _per_ok(pb), True, "incl. the polls")
        sd, pd = sb.get("delete", {}), pb.get("delete", {})
        if sd.get("ok") and pd.get("ok"):
            add("DELETE -> gone p50 s", sd["seconds"]["p50"], pd["seconds"]["p50"], True)
    for size, entry in p.get("list", {}).items():
        if not isinstance(entry, dict):
            continue
        sl = _get(s, "list", size, "detail")
        pl = entry.get("detail")
        if sl and pl and sl.get("ok") and pl.get("ok"):
            for pct in ("p50", "p95"):
                add(f"GET /servers/detail at {size} {pct} ms", sl["ms"][pct], pl["ms"][pct], True)
            add(
                f"GET /servers/detail at {size} server CPU ms",
                sl["server_cpu_ms_per_request"],
                pl["server_cpu_ms_per_request"],
                True,
            )
        sf, pf = _get(s, "list", size, "fill"), entry.get("fill")
        if sf and pf:
            add(
                f"multi-create to {size}: servers/s",
                sf["servers_per_s"],
                pf["servers_per_s"],
                False,
            )
    return rows


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _errors(name: str, section: dict[str, Any]) -> str:
    samples = section.get("error_samples") or []
    return f"\n{name} errors ({section.get('errors')}): " + " | ".join(samples) if samples else ""


def _emit(title: str, lines: list[str], errs: str = "") -> None:
    """Print a titled Markdown table (two header lines) unless it has no rows."""
    if len(lines) > 2:
        print(title + "\n")
        print("\n".join(lines) + errs + "\n")


def report(info: dict[str, Any]) -> None:
    """Print the figures on stdout."""
    opts = info["options"]
    print(
        f"# Compute benchmark ({info['started_at']}, {info['machine']['cores']} cores, "
        f"{opts['fake_hosts']} fake hosts per side, microversion {info['microversion']})\n"
    )
    notes: list[str] = []
    for name, side in info["sides"].items():
        if "unavailable" in side:
            notes.append(f"{LABEL[name]}: unavailable: {side['unavailable']}")
        qp = side.get("quota_put")
        if qp and qp.get("status") != 200:
            notes.append(
                f"{LABEL[name]}: PUT /os-quota-sets answered HTTP {qp['status']} "
                f"{qp.get('body', '')[:160]} (quotas left at their defaults)"
            )

    out = [
        "| side | ok | errors | p50 s | p95 s | max s | min s | POST p50 ms | POST p95 ms "
        "| polls/server | servers/s | wall s | server cpu s | client cpu s | others cpu s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
        "| --- |",
    ]
    errs = ""
    for name, side in info["sides"].items():
        b = side.get("boot")
        if not b:
            continue
        if "seconds" not in b:
            out.append(f"| {LABEL[name]} | {b.get('error', '?')[:160]} |")
            continue
        sec, cpu = b["seconds"], b["cpu"]
        out.append(
            f"| {LABEL[name]} | {b['ok']} | {b['errors']} | {_f(sec['p50'], 3)} "
            f"| {_f(sec['p95'], 3)} | {_f(sec['max'], 3)} | {_f(sec['min'], 3)} "
            f"| {_f(b['post_ms']['p50'])} | {_f(b['post_ms']['p95'])} | {_f(b['polls_mean'])} "
            f"| {_f(b['per_s'], 2)} | {_f(b['wall_s'], 2)} | {cpu['server_cpu_s']:.2f} "
            f"| {cpu['client_cpu_s']:.2f} | {cpu['other_cpu_s']:.2f} |"
        )
        errs += _errors(LABEL[name], b)
    _emit(
        f"API -> ACTIVE: {opts['servers']} servers at concurrency {opts['concurrency']} "
        f"(POST /servers, then GET /servers/ID every {POLL_S * 1000:.0f} ms; "
        "seconds from the POST)",
        out,
        errs,
    )
    out = [
        "| side | ok | errors | p50 s | p95 s | max s | DELETE call p50 ms | servers/s "
        "| wall s | server cpu s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    errs = ""
    for name, side in info["sides"].items():
        d = _get(side, "boot", "delete")
        if not d:
            continue
        sec = d["seconds"]
        out.append(
            f"| {LABEL[name]} | {d['ok']} | {d['errors']} | {_f(sec['p50'], 3)} "
            f"| {_f(sec['p95'], 3)} | {_f(sec['max'], 3)} | {_f(d['call_ms']['p50'])} "
            f"| {_f(d['per_s'], 2)} "
            f"| {_f(d['wall_s'], 2)} | {d['cpu']['server_cpu_s']:.2f} |"
        )
        errs += _errors(LABEL[name], d)
    _emit(
        "DELETE -> gone (the same servers, same workers; GET every "
        f"{POLL_S * 1000:.0f} ms until 404; seconds from the DELETE)",
        out,
        errs,
    )
    out = [
        "| side | servers present | ok | errors | p50 ms | p95 ms | p99 ms | max ms "
        "| response KiB | servers per response | server cpu ms/request |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    fills = [
        "| side | servers | created | POSTs | POST p50 ms | POST max ms | s to none BUILD "
        "| servers/s | ACTIVE | ERROR |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    errs = ""
    for name, side in info["sides"].items():
        lst = side.get("list")
        if not lst:
            continue
        if "error" in lst:
            out.append(f"| {LABEL[name]} | {lst['error'][:200]} |")
            continue
        for size, entry in lst.items():
            if "detail" not in entry:
                out.append(f"| {LABEL[name]} | {size} | {entry.get('error', '?')[:200]} |")
                continue
            d, f = entry["detail"], entry["fill"]
            ms = d["ms"]
            out.append(
                f"| {LABEL[name]} | {f['present']} | {d['ok']} | {d['errors']} | {_f(ms['p50'])} "
                f"| {_f(ms['p95'])} | {_f(ms['p99'])} | {_f(ms['max'])} "
                f"| {d['response_bytes'] / 1024:.0f} "
                f"| {', '.join(map(str, d['servers_in_response']))} "
                f"| {_f(d['server_cpu_ms_per_request'])} |"
            )
            fills.append(
                f"| {LABEL[name]} | {size} | {f['created']} | {f['posts']} "
                f"| {_f(f['post_ms']['p50'])} | {_f(f['post_ms']['max'])} "
                f"| {_f(f['to_none_building_s'])} | {_f(f['servers_per_s'], 2)} | {f['active']} "
                f"| {f['error']} |"
            )
            errs += _errors(f"{LABEL[name]} list at {size}", d)
    _emit(
        f"GET /servers/detail?limit={PAGE}: {opts['list_requests']} sequential requests "
        "after one warm-up, one kept-alive connection"
        + (
            f" (target for Stackling at {opts['list_size']}: p95 < {LIST_TARGET_P95_MS} ms)"
            if opts["list_size"]
            else ""
        ),
        out,
        errs,
    )
    _emit(f"Filling for the list (multi-create, {BATCH} per POST; not in the list figures):", fills)

    if info.get("ratios"):
        print("Stackling speed-up (peer/Stackling for times, Stackling/peer for rates):\n")
        print("| figure | Stackling | peer | speed-up | note |")
        print("| --- | --- | --- | --- | --- |")
        for r in info["ratios"]:
            print(
                f"| {r['figure']} | {r['stackling']:.3f} | {r['peer']:.3f} "
                f"| {r['speedup']:.1f}x | {r['note']} |"
            )
        print()

    lv = info.get("libvirt")
    if lv is not None:
        print(
            f"Libvirt driver (Stackling only; {TEST_IMAGE} on s1.nano, one boot at a time; "
            f"seconds from the POST):\n"
        )
        if "unavailable" in lv:
            print(f"not run: {lv['unavailable']}")
        elif "active_s" not in lv:
            print(f"failed: {lv.get('error')}")
        else:
            a, r, g = lv["active_s"], lv["ready_s"], lv["gone_s"]
            print(
                "| boots | ok | ACTIVE p50 s | ACTIVE min / max s "
                f"| {READY_MARK} p50 s | min / max s | DELETE -> gone p50 s | test image wait s |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- | --- |")
            print(
                f"| {lv['boots']} | {lv['ok']} | {_f(a['p50'], 2)} "
                f"| {_f(a['min'], 2)} / {_f(a['max'], 2)} | {_f(r['p50'], 2)} "
                f"| {_f(r['min'], 2)} / {_f(r['max'], 2)} | {_f(g['p50'], 2)} "
                f"| {lv.get('test_image_wait_s')} |"
            )
            runs = "; ".join(
                f"{_f(x.get('active_s'), 2)} / {_f(x.get('ready_s'), 2)}" for x in lv["runs"]
            )
            print(f"\nper boot, ACTIVE / {READY_MARK} s: {runs}")
            hyper = {h.get("hypervisor_type") for h in lv.get("hypervisors", [])}
            if hyper:
                print(f"hypervisor type: {', '.join(sorted(map(str, hyper)))}")
            if lv.get("error_samples"):
                print("errors: " + " | ".join(lv["error_samples"]))
            if lv.get("error"):
                print(f"failed after some boots: {lv['error']}")
        if lv.get("leftover_domains"):
            print(f"destroyed leftover guests after Stackling stopped: {lv['leftover_domains']}")
        if lv.get("log_errors"):
            print(f"{len(lv['log_errors'])} ERROR line(s) in its log, last: {lv['log_errors'][-1]}")

    for name, side in info["sides"].items():
        if side.get("log_errors"):
            notes.append(
                f"{LABEL[name]}: {len(side['log_errors'])} ERROR line(s) in its log, last: "
                f"{side['log_errors'][-1][:300]}"
            )
    s = info["sides"].get("stackling", {})
    p = info["sides"].get("peer", {})
    if s.get("env"):
        notes.append(
            f"Stackling: up --detach {s.get('up_detach_s')} s; settings "
            + ", ".join(f"{k.removeprefix('STACKLING_')}={v}" for k, v in s["env"].items())
        )
    if p.get("up_s"):
        notes.append(f"Peer: up --compute {p['up_s']} s (Nova 34, fake driver, RabbitMQ)")
    lo, hi = info["machine"]["loadavg_at_start"], info["machine"].get("loadavg_at_end")
    notes.append(f"Load average at start {lo[0]:.2f}, at end {hi[0] if hi else math.nan:.2f}.")
    print("\n" + "\n".join(notes))


def main() -> None:
    """Parse arguments, run, print, optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", type=int, default=100, help="servers booted to ACTIVE (0: skip)")
    ap.add_argument("--concurrency", type=int, default=10, help="boot workers")
    ap.add_argument(
        "--list-size",
        type=int,
        default=10000,
        help="servers present for Stackling's list (0: skip)",
    )
    ap.add_argument(
        "--peer-list-size",
        type=int,
        default=1000,
        help="servers present for the peer's list, and a second Stackling list (0: skip)",
    )
    ap.add_argument("--list-requests", type=int, default=20, help="measured list requests")
    ap.add_argument("--fake-hosts", type=int, default=20, help="fake hosts/nodes on each side")
    ap.add_argument("--libvirt", action="store_true", help="also the libvirt section")
    ap.add_argument("--libvirt-boots", type=int, default=5)
    ap.add_argument("--skip-peer", action="store_true", help="measure Stackling only")
    ap.add_argument("--skip-stackling", action="store_true", help="measure the peer only")
    ap.add_argument(
        "--peer-port-base", type=int, default=None, help="default: first free of 16000, 16100, ..."
    )
    ap.add_argument("--boot-timeout", type=float, default=600.0, help="per server, fake driver")
    ap.add_argument("--build-timeout", type=float, default=3600.0, help="per list fill")
    ap.add_argument("--guest-timeout", type=float, default=300.0, help="per libvirt boot")
    ap.add_argument("--image-timeout", type=float, default=1800.0, help="for the cirros image")
    ap.add_argument("--tmp-dir", type=Path, default=Path("/var/tmp"), help="where data dirs go")
    ap.add_argument("--request-timeout", type=float, default=300.0)
    ap.add_argument("--keep-logs", type=Path, default=None, help="copy each cloud's logs/ here")
    ap.add_argument("--output", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    if args.servers < 0 or args.list_size < 0 or args.peer_list_size < 0:
        ap.error("--servers, --list-size and --peer-list-size must be >= 0")
    if args.concurrency < 1 or args.list_requests < 1 or args.fake_hosts < 1:
        ap.error("--concurrency, --list-requests and --fake-hosts must be >= 1")
    if args.skip_peer and args.skip_stackling and not args.libvirt:
        ap.error("nothing to measure with both --skip-peer and --skip-stackling (and no --libvirt)")
    signal.signal(signal.SIGTERM, _fail)
    signal.signal(signal.SIGHUP, _fail)
    info = run(args)
    report(info)
    if args.output:
        args.output.write_text(json.dumps(info, indent=2, default=str) + "\n")
        print(f"\nJSON: {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
