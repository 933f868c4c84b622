"""Volume benchmark: Cinder v3 create+delete rate against the real Cinder, and guest write speed.

    .venv/bin/python bench/volume.py [--volumes 200] [--concurrency 10]
        [--sections volumes,throughput] [--skip-peer] [--no-stackling-pg] [--cinder-db pg|sqlite]
        [--dd-mib 256] [--dd-runs 3]
        [--cinder-venv DIR] [--keep-logs DIR] [--output r.json]

Sections (each prints figures; nothing passes or fails):

1. `volumes`: `--volumes` cycles at concurrency `--concurrency`. Each worker
   thread has one kept-alive HTTP/1.1 connection (loadgen.Connection, the same
   client code on every side) and, until all are done: POST /volumes {size: 1}
   (202), GET /volumes/{id} every 50 ms (start to start) until `available`,
   DELETE /volumes/{id} (202), GET every 50 ms until 404. An `error*` status,
   a non-2xx answer or `--cycle-timeout` makes the cycle an error. Figures:
   volumes/s (completed cycles / time from the first POST to the last 404),
   p50/p95/max of POST -> available and DELETE -> 404, and CPU seconds of the
   server's processes, of this client and of everything else (Cinder's also
   per process: api, scheduler, volume, RabbitMQ). The polls are part of the
   load, equally on every side. Sides, one after the other (never side by side):
   Stackling (`stackling up --detach`, services identity + volume, the file
   backend: one qcow2 per volume in the temp data dir, SQLite); Stackling on
   PostgreSQL (unless `--no-stackling-pg` or `--skip-peer`; a throwaway cluster
   from tests/support/pg.py); the real Cinder 27.0.0 (cinder_peer.py says how
   it is set up: API under gunicorn, scheduler, volume, RabbitMQ, PostgreSQL (SQLite
   fails with "database is locked"), the NFS driver's qcow2 files on a local directory since
   this kernel has no device-mapper for LVM). Quotas are raised first on every
   side (PUT /os-quota-sets/{project}: volumes and gigabytes -1; its status is
   reported). One untimed warm-up cycle runs first. Afterwards the bench counts
   the volume files left on disk (should be 0) and deletes any volume left.
   The ratio is Stackling/Cinder for volumes/s ("times faster").
2. `throughput` (root, libvirt, the test image): a Stackling with the libvirt
   driver, volume and compute; one `cirros` (s1.nano) server booted with a
   `#!` user-data script, and one 1 GiB volume attached to it (POST
   /servers/{id}/os-volume_attachments). The guest has no writable disk file
   system (its root is a busybox initramfs in RAM; /dev/vda holds only a small
   FAT boot partition), so the script writes raw to block devices: `--dd-mib`
   MiB with `dd bs=1M oflag=direct` (busybox's dd has it; conv=fsync when it
   does not) to the attached volume (the first disk that appears after boot),
   and the same amount to /dev/vda *past the end of its boot partition* (the
   unused tail of the root disk, so the guest keeps booting), `--dd-runs` times
   each, alternating. Each run prints `BENCH-DD <target> <run> <time> ns|cs` on
   the serial console; the bench reads os-getConsoleOutput. Figures: MiB/s per
   run, the median per target, and the ratio volume/root (near 1 expected: both
   are qcow2 files on the same host disk behind virtio-blk). The server and the
   volume are deleted at the end, also on failure. Found by trying: the guest
   runs under QEMU TCG here (Stackling's KVM probe fails on this machine);
   busybox's date has no %N, so runs are timed in centiseconds from
   /proc/uptime (256 MiB take ~0.5 s: a few % of resolution; raise --dd-mib
   for finer figures, up to the root disk's free tail, ~950 MiB on s1.nano).

Load averages are printed with the figures (2 shared cores: expect noise).
Server CPU counts the processes found when the timed part starts: short-lived
children (qemu-img on both sides; du/stat of Cinder's driver) land in "others",
as does anything else running on the machine.
Every data dir (volume files included) is a temp dir removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
from cinder_peer import CINDER_VERSION, DEFAULT_VENV, CinderPeer, PeerUnavailable
from loadgen import Connection, CpuMeter, connect_to, percentile, pool, process_cpu_s, request_to
from procs import Stackling, auth_body, catalog_url, free_port, keep_logs, log, log_errors

POLL_S = 0.05
CONSOLE_POLL_S = 1.0
SECTIONS = ("volumes", "throughput")
BASE_ENV = {
    "STACKLING_SERVICES": '["identity","volume"]',
    "STACKLING_IDENTITY__PASSWORD_HASH_ROUNDS": "4",
    "STACKLING_VOLUME__BACKEND": "file",
}
TEST_IMAGE = "cirros"
FLAVOR = "100"  # s1.nano
MICROVERSION = "2.37"
DD_MARK = "BENCH-DD"


class BenchError(RuntimeError):
    """A request that did not do what the bench needs."""


def _fail(signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


def _expect(resp: httpx.Response, status: int | tuple[int, ...], what: str) -> dict[str, Any]:
    wanted = status if isinstance(status, tuple) else (status,)
    if resp.status_code not in wanted:
        raise BenchError(f"{what}: HTTP {resp.status_code} (wanted {status}): {resp.text[:300]}")
    return resp.json() if resp.content else {}


def stats(values: list[float], scale: float = 1.0) -> dict[str, float]:
    """p50/p95/max/min/mean of `values` times `scale` (nearest rank; nan when empty)."""
    v = sorted(x * scale for x in values)
    return {
        "p50": percentile(v, 50),
        "p95": percentile(v, 95),
        "max": v[-1] if v else math.nan,
        "min": v[0] if v else math.nan,
        "mean": sum(v) / len(v) if v else math.nan,
    }


# -- one cloud's volume API -----------------------------------------------------------------


@dataclass
class VolSide:
    """A Cinder v3 API under test: its project URL, how requests authenticate, its processes."""

    name: str
    label: str
    url: str  # .../v3/{project_id}
    headers: dict[str, str]
    project_id: str
    pids: Callable[[], list[int]]
    timeout_s: float = 120.0
    compute: str = ""
    files: Callable[[], list[Path]] = list
    parts: dict[str, Callable[[], list[int]]] = field(default_factory=dict)

    def http(self) -> httpx.Client:
        """A client for set-up calls (not the timed ones)."""
        return httpx.Client(timeout=httpx.Timeout(self.timeout_s, connect=10), headers=self.headers)

    def connection(self) -> Connection:
        """A kept-alive raw connection, for the timed requests."""
        return connect_to(self.url, self.timeout_s)

    def raw(self, method: str, path: str, body: Any = None) -> bytes:
        """A complete request below the project endpoint (e.g. /volumes) as bytes."""
        return request_to(self.url, self.headers, method, path, body)


def stackling_side(name: str, label: str, stk: Stackling, timeout_s: float) -> VolSide:
    """Log the admin in (password, project scope); the volumev3 endpoint from the catalog."""
    cloud = stk.cloud()
    with httpx.Client(timeout=60) as client:
        resp = client.post(
            f"{cloud.auth_url}/auth/tokens",
            json=auth_body(cloud.username, cloud.password, cloud.project, cloud.user_domain),
        )
    _expect(resp, 201, f"{name}: POST /v3/auth/tokens")
    token = resp.json()["token"]
    side = VolSide(
        name=name,
        label=label,
        url=catalog_url(token["catalog"], "volumev3"),
        headers={"X-Auth-Token": resp.headers["X-Subject-Token"]},
        project_id=token["project"]["id"],
        pids=stk.pids,
        timeout_s=timeout_s,
        files=lambda: [p for p in (stk.data_dir / "volume").rglob("*") if p.is_file()],
    )
    with contextlib.suppress(LookupError):
        side.compute = catalog_url(token["catalog"], "compute")
    return side


def raise_quotas(side: VolSide) -> dict[str, Any]:
    """PUT /os-quota-sets/{project} volumes and gigabytes -1; status (and body when it failed)."""
    body = {"quota_set": {"volumes": -1, "gigabytes": -1}}
    with side.http() as client:
        resp = client.put(f"{side.url}/os-quota-sets/{side.project_id}", json=body)
    out: dict[str, Any] = {"status": resp.status_code}
    if resp.status_code != 200:
        out["body"] = resp.text[:300]
        log(f"{side.name}: PUT /os-quota-sets: HTTP {resp.status_code}: {resp.text[:200]}")
    return out


# -- 1. create + delete cycles --------------------------------------------------------------


def _poll(
    conn: Connection, request: bytes, done: Callable[[int, bytes], str | None], deadline: float
) -> tuple[str, int, float]:
    """GET every POLL_S (start to start) until `done` says "ok" or an error; outcome, polls, end."""
    polls = 0
    while True:
        began = time.perf_counter()
        status, _, body = conn.request(request)
        polls += 1
        verdict = done(status, body)
        if verdict is not None:
            return verdict, polls, time.perf_counter()
        if began > deadline:
            return "timeout", polls, time.perf_counter()
        time.sleep(max(0.0, began + POLL_S - time.perf_counter()))


def _available(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"GET: HTTP {status}: {body[:200]!r}"
    state = json.loads(body)["volume"]["status"]
    if state == "available":
        return "ok"
    if state.startswith("error"):
        return f"status {state}"
    return None


def _gone(status: int, body: bytes) -> str | None:
    if status == 404:
        return "ok"
    if status != 200:
        return f"GET: HTTP {status}: {body[:200]!r}"
    state = json.loads(body)["volume"]["status"]
    return f"status {state}" if state.startswith("error") else None


def cycle(side: VolSide, conn: Connection, name: str, timeout_s: float) -> dict[str, Any]:
    """POST -> available -> DELETE -> 404, timed; t0, create_s, delete_s, t1 or an error."""
    out: dict[str, Any] = {"t0": time.perf_counter()}
    deadline = out["t0"] + timeout_s
    status, _, body = conn.request(
        side.raw("POST", "/volumes", {"volume": {"size": 1, "name": name}})
    )
    if status != 202:
        out["error"] = f"POST: HTTP {status}: {body[:200]!r}"
        return out
    vol_id = json.loads(body)["volume"]["id"]
    out["id"] = vol_id
    show = side.raw("GET", f"/volumes/{vol_id}")
    verdict, polls, t_avail = _poll(conn, show, _available, deadline)
    out["create_polls"] = polls
    if verdict != "ok":
        out["error"] = f"create: {verdict}"
        return out
    out["create_s"] = t_avail - out["t0"]
    t_del = time.perf_counter()
    status, _, body = conn.request(side.raw("DELETE", f"/volumes/{vol_id}"))
    if status != 202:
        out["error"] = f"DELETE: HTTP {status}: {body[:200]!r}"
        return out
    verdict, polls, t_gone = _poll(conn, show, _gone, deadline)
    out["delete_polls"] = polls
    if verdict != "ok":
        out["error"] = f"delete: {verdict}"
        return out
    out["delete_s"] = t_gone - t_del
    out["t1"] = t_gone
    return out


def leftovers(side: VolSide) -> list[str]:
    """Delete every volume still in the project (force when stuck); the ids found."""
    found: list[str] = []
    with side.http() as client:
        resp = client.get(f"{side.url}/volumes", params={"all_tenants": "0"})
        if resp.status_code != 200:
            return found
        for vol in resp.json().get("volumes", []):
            found.append(vol["id"])
            r = client.delete(f"{side.url}/volumes/{vol['id']}")
            if r.status_code != 202:
                client.post(f"{side.url}/volumes/{vol['id']}/action", json={"os-force_delete": {}})
        deadline = time.monotonic() + 60
        while found and time.monotonic() < deadline:
            if not client.get(f"{side.url}/volumes").json().get("volumes"):
                break
            time.sleep(0.5)
    return found


def volumes_section(side: VolSide, args: argparse.Namespace) -> dict[str, Any]:
    """Quotas, one warm-up cycle, then `--volumes` cycles at `--concurrency`."""
    out: dict[str, Any] = {"quota_put": raise_quotas(side)}
    warm = cycle(side, side.connection(), "bench-warm", args.cycle_timeout)
    if "error" in warm:
        raise BenchError(f"warm-up cycle: {warm['error']}")
    parts = {name: fn() for name, fn in side.parts.items()}
    part_cpu = {name: sum(process_cpu_s(p) for p in pids) for name, pids in parts.items()}
    cpu = CpuMeter(side.pids())
    runs = pool(
        list(range(args.volumes)),
        args.concurrency,
        side.connection,
        lambda conn, i: cycle(side, conn, f"bench-{i:05d}", args.cycle_timeout),
    )
    cpu_used = cpu.read()
    per_part = {
        name: round(sum(process_cpu_s(p) for p in parts[name]) - before, 2)
        for name, before in part_cpu.items()
    }
    ok = [r for r in runs if "t1" in r]
    begin = min(r["t0"] for r in runs)
    end = max((r["t1"] for r in ok), default=begin)
    wall = end - begin
    left = leftovers(side)
    files = side.files()
    out |= {
        "count": len(runs),
        "ok": len(ok),
        "errors": len(runs) - len(ok),
        "error_samples": [r["error"] for r in runs if "error" in r][:5],
        "concurrency": args.concurrency,
        "wall_s": round(wall, 3),
        "per_s": len(ok) / wall if wall > 0 else math.nan,
        "create_ms": stats([r["create_s"] for r in ok], 1000),
        "delete_ms": stats([r["delete_s"] for r in ok], 1000),
        "polls_per_cycle": (
            sum(r.get("create_polls", 0) + r.get("delete_polls", 0) for r in runs) / len(runs)
        ),
        "cpu": cpu_used,
        "cpu_by_process": per_part,
        "left_volumes": len(left),
        "left_files": [str(p) for p in files][:5],
        "left_file_count": len(files),
    }
    log(
        f"{side.name}: {out['ok']}/{out['count']} cycles in {wall:.2f} s "
        f"({out['per_s']:.2f}/s), create p50 {out['create_ms']['p50']:.0f} ms, "
        f"delete p50 {out['delete_ms']['p50']:.0f} ms, server cpu {cpu_used['server_cpu_s']} s"
    )
    return out


def _section(results: dict[str, Any], key: str, what: str, fn: Callable[[], dict]) -> None:
    """Run one measurement into results[key]; a failure is recorded, not raised."""
    try:
        results[key] = fn()
    except (BenchError, PeerUnavailable, httpx.HTTPError, OSError, LookupError, KeyError) as exc:
        log(f"{what} FAILED: {type(exc).__name__}: {exc}")
        results[key] = {"error": f"{type(exc).__name__}: {exc}"}


def stackling_volumes(
    args: argparse.Namespace, tmp: Path, name: str, label: str, env: dict[str, str]
) -> dict[str, Any]:
    """Start a Stackling (identity + volume, file backend), run the volume section, stop it."""
    stk = Stackling(tmp / name, free_port())
    env = {**BASE_ENV, **env}
    res: dict[str, Any] = {"env": env}
    log(f"{label}: starting in {stk.data_dir} (port {stk.port})")
    try:
        res["up_detach_s"] = round(stk.up(env=env), 2)
        side = stackling_side(name, label, stk, args.request_timeout)
        res["endpoint"] = side.url
        _section(res, "volumes", f"{label}: volumes", lambda: volumes_section(side, args))
    except (RuntimeError, subprocess.TimeoutExpired, httpx.HTTPError, LookupError) as exc:
        log(f"{label}: unavailable: {exc}")
        res["unavailable"] = f"{type(exc).__name__}: {exc}"
    finally:
        stk.down()
        res["log_errors"] = log_errors(stk.data_dir / "logs", keep=20)
        keep_logs(args, stk.data_dir / "logs", name)
    return res


def cinder_volumes(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Set up the real Cinder, run the volume section, stop it."""
    peer = CinderPeer(
        tmp / "cinder", free_port(), args.cinder_workers, args.cinder_venv, args.cinder_db
    )
    res: dict[str, Any] = {
        "version": CINDER_VERSION,
        "workers": args.cinder_workers,
        "database": args.cinder_db,
        "backend": "NFS driver (qcow2) on a local directory",
    }
    log(f"Cinder {CINDER_VERSION}: setting up in {peer.data_dir} (API port {peer.port})")
    try:
        try:
            peer.up()
        except PeerUnavailable as exc:
            log(f"Cinder: unavailable: {exc}")
            res["unavailable"] = str(exc)
            return res
        finally:
            res["timings"] = dict(peer.timings)
        project = uuid.uuid4().hex
        side = VolSide(
            name="cinder",
            label=f"Cinder {CINDER_VERSION}",
            url=peer.url(project),
            headers=peer.headers(project),
            project_id=project,
            pids=peer.pids,
            timeout_s=args.request_timeout,
            files=peer.volume_files,
            parts={
                name: (lambda n=name: peer.pids((n,)))
                for name in ("cinder-api", "cinder-scheduler", "cinder-volume", "rabbitmq")
            },
        )
        res["endpoint"] = side.url
        _section(res, "volumes", "Cinder: volumes", lambda: volumes_section(side, args))
    finally:
        peer.down()
        res["log_errors"] = [
            e for e in log_errors(peer.logs, keep=20) if "DeprecationWarning" not in e
        ]
        keep_logs(args, peer.logs, "cinder")
    return res


def run_volumes(args: argparse.Namespace, tmp: Path, info: dict[str, Any]) -> None:
    """Section 1 on every side, one after the other."""
    sides = info["sides"]
    sides["stackling"] = stackling_volumes(args, tmp, "stackling", "Stackling (SQLite)", {})
    if args.skip_peer:
        return
    if args.stackling_pg:
        sides["stackling_pg"] = stackling_pg(args, tmp)
    sides["cinder"] = cinder_volumes(args, tmp)


def stackling_pg(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Stackling on a throwaway PostgreSQL cluster."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.support.pg import PostgresCluster, PostgresUnavailable

    try:
        pg = PostgresCluster()
        pg.start()
    except PostgresUnavailable as exc:
        return {"unavailable": f"PostgreSQL: {exc}"}
    try:
        pg.psql("CREATE DATABASE stackling")
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/stackling"
        return stackling_volumes(
            args, tmp, "stackling_pg", "Stackling (PostgreSQL)", {"STACKLING_DATABASE__URL": url}
        )
    finally:
        pg.stop()


# -- 2. guest write throughput --------------------------------------------------------------


def dd_script(mib: int, runs: int) -> str:
    """The guest's user-data: wait for the attached disk, then dd to it and to vda's tail."""
    return rf"""#!/bin/sh
# Runs before the ready line; the bench attaches the volume once the server is ACTIVE.
i=0
while [ ! -b /dev/vdb ] && [ $i -lt 180 ]; do sleep 1; i=$((i+1)); done
if [ ! -b /dev/vdb ]; then echo "{DD_MARK} novolume"; exit 1; fi
# The root disk's unused tail: past its last partition, rounded up to a MiB.
end=0
for p in /sys/block/vda/vda*; do
	s=$(cat "$p/start"); n=$(cat "$p/size"); [ $((s+n)) -gt $end ] && end=$((s+n))
done
seek=$(( (end * 512 + 1048575) / 1048576 + 1 ))
total=$(( $(cat /sys/block/vda/size) / 2048 ))
if [ $((seek + {mib})) -gt $total ]; then echo "{DD_MARK} noroom $seek $total"; exit 1; fi
flag=oflag=direct
dd if=/dev/zero of=/dev/vdb bs=1M count=1 oflag=direct 2>/dev/null || flag=conv=fsync
# Nanoseconds from date when it has %N (busybox may not), else centiseconds since boot.
if date +%N | grep -q '^[0-9]\{{9\}}$'; then
	unit=ns
	clk() {{ date +%s%N; }}
else
	unit=cs
	clk() {{ read -r u _ </proc/uptime; echo "${{u%.*}}${{u#*.}}"; }}
fi
echo "{DD_MARK} start flag=$flag clock=$unit seek=${{seek}}MiB disk=${{total}}MiB"
r=1
while [ $r -le {runs} ]; do
	for t in vdb vda; do
		if [ $t = vda ]; then extra="seek=$seek"; else extra=""; fi
		a=$(clk)
		dd if=/dev/zero of=/dev/$t bs=1M count={mib} $flag $extra 2>/dev/null
		rc=$?
		b=$(clk)
		echo "{DD_MARK} $t $r $((b-a)) $unit rc=$rc"
	done
	r=$((r+1))
done
echo "{DD_MARK} done"
"""


def throughput_section(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """A libvirt Stackling, one server with the dd user-data, one attached volume; dd figures."""
    import base64

    missing = [b for b in ("virsh", "qemu-system-x86_64") if shutil.which(b) is None]
    if os.geteuid() != 0 or missing:
        return {"skipped": f"needs root and {missing or 'libvirt'}"}
    stk = Stackling(tmp / "stackling_libvirt", free_port())
    env = {
        "STACKLING_SERVICES": '["identity","placement","image","compute","network","volume"]',
        "STACKLING_IDENTITY__PASSWORD_HASH_ROUNDS": "4",
        "STACKLING_COMPUTE__DRIVER": "libvirt",
        "STACKLING_IMAGE__REGISTER_TEST_IMAGE": "true",
        "STACKLING_COMPUTE__SHUTDOWN_TIMEOUT_S": "5",
        "STACKLING_NETWORK__AGENT_ENABLED": "false",
        "STACKLING_NETWORK__PUBLIC_NETWORK_CIDR": "",
    }
    out: dict[str, Any] = {"dd_mib": args.dd_mib, "runs": args.dd_runs}
    log(f"throughput: starting a libvirt Stackling in {stk.data_dir}")
    server_id = volume_id = ""
    side: VolSide | None = None
    try:
        stk.up(env=env, timeout_s=300)
        side = stackling_side("stackling_libvirt", "Stackling (libvirt)", stk, args.request_timeout)
        headers = {**side.headers, "X-OpenStack-Nova-API-Version": MICROVERSION}
        with httpx.Client(timeout=args.request_timeout, headers=headers) as client:
            image_id = wait_image(client, stk, args.image_timeout)
            vol = _expect(
                client.post(
                    f"{side.url}/volumes", json={"volume": {"size": 1, "name": "bench-dd"}}
                ),
                202,
                "POST /volumes",
            )["volume"]
            volume_id = vol["id"]
            user_data = base64.b64encode(dd_script(args.dd_mib, args.dd_runs).encode()).decode()
            body = {
                "server": {
                    "name": "bench-dd",
                    "imageRef": image_id,
                    "flavorRef": FLAVOR,
                    "networks": "none",
                    "user_data": user_data,
                    "config_drive": True,
                }
            }
            server = _expect(
                client.post(f"{side.compute}/servers", json=body), 202, "POST /servers"
            )["server"]
            server_id = server["id"]
            wait_status(client, f"{side.url}/volumes/{volume_id}", "volume", "available", 120)
            wait_status(
                client,
                f"{side.compute}/servers/{server_id}",
                "server",
                "ACTIVE",
                args.guest_timeout,
            )
            attach = client.post(
                f"{side.compute}/servers/{server_id}/os-volume_attachments",
                json={"volumeAttachment": {"volumeId": volume_id}},
            )
            _expect(attach, 200, "POST /os-volume_attachments")
            wait_status(client, f"{side.url}/volumes/{volume_id}", "volume", "in-use", 120)
            console = read_console(client, side.compute, server_id, args.guest_timeout + 300)
        out |= parse_dd(console, args.dd_mib)
        log(
            f"throughput: volume {out.get('volume_mib_s', math.nan):.1f} MiB/s, root "
            f"{out.get('root_mib_s', math.nan):.1f} MiB/s, ratio {out.get('ratio', math.nan):.2f}"
        )
    except (RuntimeError, subprocess.TimeoutExpired, httpx.HTTPError, LookupError, KeyError) as exc:
        log(f"throughput FAILED: {type(exc).__name__}: {exc}")
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if side is not None:
            cleanup_guest(side, server_id, volume_id)
        stk.down()
        out["log_errors"] = log_errors(stk.data_dir / "logs", keep=20)
        keep_logs(args, stk.data_dir / "logs", "stackling_libvirt")
    return out


def wait_image(client: httpx.Client, stk: Stackling, timeout_s: float) -> str:
    """The test image's id once it is active (Stackling builds it at start-up)."""
    token = client.headers["X-Auth-Token"]
    base = f"http://127.0.0.1:{stk.port}/image/v2/images"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        resp = client.get(base, params={"name": TEST_IMAGE}, headers={"X-Auth-Token": token})
        for img in resp.json().get("images", []) if resp.status_code == 200 else []:
            if img["status"] == "active":
                return str(img["id"])
        time.sleep(2)
    raise BenchError(f"no active {TEST_IMAGE} image after {timeout_s:g} s")


def wait_status(client: httpx.Client, url: str, member: str, wanted: str, timeout_s: float) -> None:
    """GET `url` every 0.5 s until its `member` has status `wanted` (error states fail)."""
    deadline = time.monotonic() + timeout_s
    status = ""
    while time.monotonic() < deadline:
        status = _expect(client.get(url), 200, f"GET {url}")[member]["status"]
        if status == wanted:
            return
        if status.lower().startswith("error"):
            break
        time.sleep(0.5)
    raise BenchError(f"{member} {url.rsplit('/', 1)[-1]}: {status or 'no status'}, not {wanted}")


def read_console(client: httpx.Client, compute: str, server_id: str, timeout_s: float) -> str:
    """os-getConsoleOutput until the script's last line (done, or a failure mark)."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        resp = client.post(
            f"{compute}/servers/{server_id}/action", json={"os-getConsoleOutput": {}}
        )
        if resp.status_code == 200:
            text = resp.json().get("output", "")
            if re.search(rf"{DD_MARK} (done|novolume|noroom)", text):
                return text
        time.sleep(CONSOLE_POLL_S)
    raise BenchError(f"no '{DD_MARK} done' on the console; last lines: {text[-400:]!r}")


def parse_dd(console: str, mib: int) -> dict[str, Any]:
    """MiB/s per run and target from the BENCH-DD lines; medians and the volume/root ratio."""
    runs: dict[str, list[float]] = {"vdb": [], "vda": []}
    failed: list[str] = []
    per_s = {"ns": 1e9, "cs": 100}
    for m in re.finditer(rf"{DD_MARK} (vd[ab]) (\d+) (\d+) (ns|cs) rc=(\d+)", console):
        target, ticks, unit, rc = m.group(1), int(m.group(3)), m.group(4), int(m.group(5))
        if rc != 0 or ticks <= 0:
            failed.append(m.group(0))
            continue
        runs[target].append(mib / (ticks / per_s[unit]))
    header = re.search(rf"{DD_MARK} start (.*)", console)
    if not runs["vdb"] or not runs["vda"]:
        tail = [line for line in console.splitlines() if DD_MARK in line]
        raise BenchError(f"no dd figures: {tail[-5:]} {failed}")
    vol = sorted(runs["vdb"])[len(runs["vdb"]) // 2]
    root = sorted(runs["vda"])[len(runs["vda"]) // 2]
    return {
        "guest": header.group(1).strip() if header else "",
        "volume_runs_mib_s": [round(x, 1) for x in runs["vdb"]],
        "root_runs_mib_s": [round(x, 1) for x in runs["vda"]],
        "volume_mib_s": vol,
        "root_mib_s": root,
        "ratio": vol / root if root else math.nan,
        "failed_runs": failed,
    }


def cleanup_guest(side: VolSide, server_id: str, volume_id: str) -> None:
    """Delete the server (which detaches the volume), then the volume; best effort."""
    with contextlib.suppress(httpx.HTTPError, BenchError), side.http() as client:
        if server_id:
            client.delete(f"{side.compute}/servers/{server_id}")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if client.get(f"{side.compute}/servers/{server_id}").status_code == 404:
                    break
                time.sleep(1)
        if volume_id:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                resp = client.get(f"{side.url}/volumes/{volume_id}")
                if resp.status_code == 404:
                    break
                if resp.json()["volume"]["status"] in ("available", "error"):
                    client.delete(f"{side.url}/volumes/{volume_id}")
                time.sleep(1)


# -- report ---------------------------------------------------------------------------------


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def ratios(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Stackling/Cinder volumes/s, and Cinder/Stackling for latencies (both "times faster")."""
    out: list[dict[str, Any]] = []
    cinder = info["sides"].get("cinder", {}).get("volumes", {})
    for name in ("stackling", "stackling_pg"):
        mine = info["sides"].get(name, {}).get("volumes", {})
        if "per_s" not in mine or "per_s" not in cinder:
            continue
        out.append(
            {
                "side": name,
                "volumes_per_s": mine["per_s"] / cinder["per_s"] if cinder["per_s"] else math.nan,
                "create_p50": cinder["create_ms"]["p50"] / mine["create_ms"]["p50"],
                "delete_p50": cinder["delete_ms"]["p50"] / mine["delete_ms"]["p50"],
            }
        )
    return out


def report(info: dict[str, Any]) -> None:
    """The figures as Markdown on stdout."""
    print(f"# Volume bench ({info['started']}, {info['host']})\n")
    print(f"load average before: {info['load_before']}, after: {info.get('load_after')}\n")
    if info["sides"]:
        print("## 1. create + delete of 1 GiB volumes\n")
        print(
            "| side | cycles ok/n | conc | volumes/s | create p50/p95/max ms "
            "| delete p50/p95/max ms | server cpu s | client cpu s | others cpu s | left |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for name, side in info["sides"].items():
            v = side.get("volumes")
            if not v or "per_s" not in v:
                why = side.get("unavailable") or (v or {}).get("error", "not run")
                print(f"| {name} | {why[:120]} | | | | | | | | |")
                continue
            c, d = v["create_ms"], v["delete_ms"]
            print(
                f"| {name} | {v['ok']}/{v['count']} | {v['concurrency']} | {_f(v['per_s'], 2)} "
                f"| {_f(c['p50'], 0)}/{_f(c['p95'], 0)}/{_f(c['max'], 0)} "
                f"| {_f(d['p50'], 0)}/{_f(d['p95'], 0)}/{_f(d['max'], 0)} "
                f"| {v['cpu']['server_cpu_s']:.2f} | {v['cpu']['client_cpu_s']:.2f} "
                f"| {v['cpu']['other_cpu_s']:.2f} | {v['left_volumes']} vols, "
                f"{v['left_file_count']} files |"
            )
        for name, side in info["sides"].items():
            v = side.get("volumes") or {}
            if v.get("cpu_by_process"):
                print(f"\n{name} CPU s by process: {v['cpu_by_process']}")
            if v.get("error_samples"):
                print(f"\n{name} errors: {v['error_samples']}")
        for r in ratios(info):
            print(
                f"\nratio {r['side']}/cinder: volumes/s x{_f(r['volumes_per_s'], 2)}, "
                f"create p50 x{_f(r['create_p50'], 2)}, delete p50 x{_f(r['delete_p50'], 2)}"
            )
    t = info.get("throughput")
    if t:
        print("\n## 2. sequential write from a TCG guest\n")
        if "volume_mib_s" in t:
            print(f"guest: {t['guest']}; {t['dd_mib']} MiB per run\n")
            print("| target | runs MiB/s | median MiB/s |")
            print("| --- | --- | --- |")
            print(f"| volume (vdb) | {t['volume_runs_mib_s']} | {_f(t['volume_mib_s'])} |")
            print(f"| root disk tail (vda) | {t['root_runs_mib_s']} | {_f(t['root_mib_s'])} |")
            print(f"\nratio volume/root: {_f(t['ratio'], 2)}")
        else:
            print(t.get("error") or t.get("skipped"))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every asked-for section; the figures."""
    info: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": f"{platform.node()} ({os.cpu_count()} cpus)",
        "load_before": os.getloadavg(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "sides": {},
    }
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="bench-volume-", dir=args.tmp_dir))
    try:
        if "volumes" in sections:
            run_volumes(args, tmp, info)
        if "throughput" in sections:
            info["throughput"] = throughput_section(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["load_after"] = os.getloadavg()
    info["ratios"] = ratios(info)
    return info


def main() -> None:
    """Parse arguments, run, print, write JSON."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--volumes", type=int, default=200, help="create+delete cycles in section 1")
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--sections", default="volumes", help="of volumes,throughput")
    ap.add_argument("--skip-peer", action="store_true", help="no Cinder (nor Stackling on PG)")
    ap.add_argument("--no-stackling-pg", dest="stackling_pg", action="store_false")
    ap.add_argument("--cinder-workers", type=int, default=2)
    ap.add_argument("--cinder-venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--cinder-db", choices=("pg", "sqlite"), default="pg")
    ap.add_argument("--cycle-timeout", type=float, default=300.0, help="per create+delete")
    ap.add_argument("--dd-mib", type=int, default=256)
    ap.add_argument("--dd-runs", type=int, default=3)
    ap.add_argument("--guest-timeout", type=float, default=300.0)
    ap.add_argument("--image-timeout", type=float, default=1800.0, help="for the cirros image")
    ap.add_argument("--request-timeout", type=float, default=120.0)
    ap.add_argument("--tmp-dir", type=Path, default=Path("/var/tmp"), help="where data dirs go")
    ap.add_argument("--keep-logs", type=Path, default=None, help="copy each cloud's logs/ here")
    ap.add_argument("--output", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _fail)
    info = run(args)
    report(info)
    if args.output:
        args.output.write_text(json.dumps(info, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
