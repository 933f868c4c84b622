"""Identity benchmark: Stackling against the real Keystone (the OpenStack peer), in one run.

    .venv/bin/python bench/identity.py [--duration S] [--skip-peer] [--output r.json]

Starts Stackling (fresh temp data dir, default settings) and the OpenStack
peer (its own temp dir and port base), then on each side measures token issue
(POST /v3/auth/tokens, password method, project scope) and token validation
(GET /v3/auth/tokens, admin token in X-Auth-Token, a user's token in
X-Subject-Token) at concurrency 1 and 8. Stackling's issue rate is measured
with its password cache at its default TTL and with the cache off
(STACKLING_IDENTITY__PASSWORD_CACHE_TTL_S=0), Keystone having no such cache.

Then it records 100 000 token revocations on each side and re-measures
validation. Each side's rows are clones of the row(s) that side itself wrote
for one real DELETE /v3/auth/tokens made first through its API: Stackling's
are inserted while it is stopped and loaded by its normal start-up
(Identity.load_revocations; the count is checked in /healthcheck); Keystone's
are inserted while it runs (it reads them from SQL on every validation).
Keystone writes two rows per revoked token (audit_id, audit_chain_id), so its
side is measured twice: with the same 100 000 audit-id rows as Stackling, then
with the 100 000 audit-chain rows a real revocation adds as well.

Every row runs for a fixed time; both processes and all temp dirs are removed
at exit, also on failure or SIGTERM. No assertion on timings: it prints figures.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import json
import math
import os
import platform
import secrets
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
from loadgen import Row, build_request, run_load, table
from procs import (
    Cloud,
    Peer,
    Stackling,
    auth_body,
    free_port,
    issue_token,
    log,
    memory_kib,
    peer_port_base,
)

from stackling.settings import IdentitySettings

BENCH_USER = "bench-user"
BENCH_PROJECT = "bench-project"
CONCURRENCY = (1, 8)
EVENTS = 100_000
NO_CACHE = {"STACKLING_IDENTITY__PASSWORD_CACHE_TTL_S": "0"}
CACHE_TTL = IdentitySettings().password_cache_ttl_s
ISSUE_CACHED = f"token_issue [pw cache {CACHE_TTL} s]"


@dataclass
class Side:
    """One cloud under test, with what its requests need."""

    name: str
    cloud: Cloud
    pids: Callable[[], list[int]]
    password: str = ""
    admin_token: str = ""
    subject_token: str = ""

    def client(self) -> httpx.Client:
        """A plain client for set-up calls (not measured)."""
        return httpx.Client(timeout=120)

    def refresh_tokens(self) -> None:
        """Issue the admin token (X-Auth-Token) and the user token (X-Subject-Token)."""
        c = self.cloud
        with self.client() as client:
            self.admin_token = issue_token(
                client, c.auth_url, auth_body(c.username, c.password, c.project, c.user_domain)
            )
            self.subject_token = issue_token(
                client, c.auth_url, auth_body(BENCH_USER, self.password, BENCH_PROJECT)
            )

    def create_bench_user(self) -> None:
        """A member of a project of its own: the user whose tokens are issued and validated."""
        self.password = secrets.token_urlsafe(18)
        c = self.cloud
        with self.client() as client:
            admin = issue_token(
                client, c.auth_url, auth_body(c.username, c.password, c.project, c.user_domain)
            )
            h = {"X-Auth-Token": admin}
            project = client.post(
                f"{c.auth_url}/projects",
                json={"project": {"name": BENCH_PROJECT, "domain_id": "default"}},
                headers=h,
            )
            project.raise_for_status()
            user = client.post(
                f"{c.auth_url}/users",
                json={
                    "user": {"name": BENCH_USER, "password": self.password, "domain_id": "default"}
                },
                headers=h,
            )
            user.raise_for_status()
            roles = client.get(f"{c.auth_url}/roles", params={"name": "member"}, headers=h)
            roles.raise_for_status()
            pid, uid = project.json()["project"]["id"], user.json()["user"]["id"]
            rid = roles.json()["roles"][0]["id"]
            client.put(
                f"{c.auth_url}/projects/{pid}/users/{uid}/roles/{rid}", headers=h
            ).raise_for_status()
        self.refresh_tokens()

    def issue_request(self) -> bytes:
        """POST /v3/auth/tokens for the bench user, project scope."""
        body = json.dumps(auth_body(BENCH_USER, self.password, BENCH_PROJECT)).encode()
        c = self.cloud
        return build_request(
            "POST",
            c.host,
            c.port,
            f"{c.path}/auth/tokens",
            {"Content-Type": "application/json"},
            body,
        )

    def validate_request(self) -> bytes:
        """GET /v3/auth/tokens: the admin validates the bench user's token."""
        c = self.cloud
        return build_request(
            "GET",
            c.host,
            c.port,
            f"{c.path}/auth/tokens",
            {"X-Auth-Token": self.admin_token, "X-Subject-Token": self.subject_token},
        )

    def measure(self, operation: str, args: argparse.Namespace, rows: list[Row]) -> None:
        """Run one operation at every concurrency and print each row as it completes."""
        issue = operation.startswith("token_issue")
        request = self.issue_request() if issue else self.validate_request()
        for conc in CONCURRENCY:
            log(f"{self.name}: {operation} at concurrency {conc} for {args.duration:g} s")
            row = run_load(
                side=self.name,
                operation=operation,
                host=self.cloud.host,
                port=self.cloud.port,
                request=request,
                expect=201 if issue else 200,
                concurrency=conc,
                duration_s=args.duration,
                warmup_s=args.warmup,
                server_pids=self.pids,
                timeout_s=args.request_timeout,
            )
            rows.append(row)
            log(
                f"  -> {row.rps:.2f} rps, p50 {row.p50_ms:.1f} ms, p99 {row.p99_ms:.1f} ms, "
                f"{row.errors} errors, cpu client/server/others "
                f"{row.client_cpu_s}/{row.server_cpu_s}/{row.other_cpu_s} s"
            )


# -- revocation events --------------------------------------------------------


def new_audit_id() -> str:
    """A random audit id shaped as both Keystone and Stackling make them (22 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


def max_id(db: Path, table_name: str) -> int:
    """Highest row id in a table (0 when empty)."""
    with contextlib.closing(sqlite3.connect(db, timeout=60)) as conn:
        return int(conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table_name}").fetchone()[0])


def revoke_one(side: Side, db: Path, table_name: str) -> list[dict[str, Any]]:
    """Revoke one fresh token through the API; return the row(s) that side wrote for it."""
    before = max_id(db, table_name)
    c = side.cloud
    with side.client() as client:
        victim = issue_token(
            client, c.auth_url, auth_body(BENCH_USER, side.password, BENCH_PROJECT)
        )
        resp = client.delete(
            f"{c.auth_url}/auth/tokens",
            headers={"X-Auth-Token": side.admin_token, "X-Subject-Token": victim},
        )
        resp.raise_for_status()
    with contextlib.closing(sqlite3.connect(db, timeout=60)) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            f"SELECT * FROM {table_name} WHERE id > ? ORDER BY id", (before,)
        ).fetchall()
    if not rows:
        raise RuntimeError(f"{side.name}: DELETE /v3/auth/tokens wrote no row in {table_name}")
    return [dict(r) for r in rows]


def _like(value: dt.datetime, template: str) -> str:
    """Format a naive UTC time as the template column value is formatted."""
    if dt.datetime.fromisoformat(template).microsecond == 0:
        value = value.replace(microsecond=0)
    sep = template[10] if len(template) > 10 else " "
    fmt = f"%Y-%m-%d{sep}%H:%M:%S" + (".%f" if "." in template else "")
    return value.strftime(fmt)


def clone_events(
    db: Path, table_name: str, templates: list[dict[str, Any]], audit_ids: list[str]
) -> float:
    """Insert one clone of every template row per audit id; return the seconds it took.

    Each clone differs from its template only by its audit id (audit_id or
    audit_chain_id, whichever the template has) and its times, spread evenly
    from the template's revocation time to now, as if the tokens had been
    revoked one after another since.
    """
    began = time.perf_counter()
    since = dt.datetime.fromisoformat(templates[0]["issued_before"])
    until = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    columns = [k for k in templates[0] if k != "id"]
    sql = (
        f"INSERT INTO {table_name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    values = []
    n = len(audit_ids)
    for i, audit in enumerate(audit_ids):
        when = since + (until - since) * (i / n)
        for tpl in templates:
            row = dict(tpl)
            for col in ("audit_id", "audit_chain_id"):
                if row.get(col):
                    row[col] = audit
            for col in ("issued_before", "revoked_at"):
                if row.get(col):
                    row[col] = _like(when, row[col])
            values.append(tuple(row[c] for c in columns))
    with contextlib.closing(sqlite3.connect(db, timeout=60)) as conn, conn:
        conn.executemany(sql, values)
    return time.perf_counter() - began


def count_rows(db: Path, table_name: str) -> int:
    """Rows in a table."""
    with contextlib.closing(sqlite3.connect(db, timeout=60)) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table_name}").fetchone()[0])


# -- report ---------------------------------------------------------------------

# (label, Stackling operation, peer operation), compared at every concurrency.
PAIRS = [
    ("token_issue, Stackling pw cache on (default)", ISSUE_CACHED, "token_issue"),
    ("token_issue, Stackling pw cache off", "token_issue [pw cache off]", "token_issue"),
    ("token_validate", "token_validate", "token_validate"),
    (
        "token_validate, 100k revoked (same audit rows)",
        "token_validate [100k revoked]",
        "token_validate [100k audit rows]",
    ),
    (
        "token_validate, 100k revoked (Keystone: + its 100k chain rows)",
        "token_validate [100k revoked]",
        "token_validate [100k audit + 100k chain rows]",
    ),
]


def ratios(rows: list[Row]) -> list[dict[str, Any]]:
    """Stackling/peer for every pair of rows measured on both sides."""
    by = {(r.side, r.operation, r.concurrency): r for r in rows}
    out = []
    for label, s_op, p_op in PAIRS:
        for conc in CONCURRENCY:
            s, p = by.get(("stackling", s_op, conc)), by.get(("peer", p_op, conc))
            if s is None or p is None:
                continue
            out.append(
                {
                    "comparison": label,
                    "concurrency": conc,
                    "stackling_rps": s.rps,
                    "peer_rps": p.rps,
                    "rps_ratio": s.rps / p.rps if p.rps else math.inf,
                    "p50_ratio": s.p50_ms / p.p50_ms if p.p50_ms else math.nan,
                }
            )
    return out


def ratio_table(items: list[dict[str, Any]]) -> str:
    """Ratios as a Markdown table."""
    out = [
        "| comparison | conc | Stackling rps | peer rps "
        "| rps Stackling/peer | p50 Stackling/peer |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for x in items:
        out.append(
            f"| {x['comparison']} | {x['concurrency']} | {x['stackling_rps']:.2f} "
            f"| {x['peer_rps']:.2f} | {x['rps_ratio']:.1f}x | {x['p50_ratio']:.4f} |"
        )
    return "\n".join(out)


METHOD = """\
Method: closed loop, one thread per concurrent client, each with one kept-alive
HTTP/1.1 connection (reopened when the server closes it: gunicorn's sync
workers close after every response), sending a pre-built request over a raw
socket and parsing only the status line, headers and Content-Length/chunked
body. {warmup:g} s of warm-up per row, then {duration:g} s measured; rps = ok
responses / wall time until the last in-flight request ended; percentiles
(nearest rank) and max over ok responses only; an error is a non-201/200
status or a socket error/timeout ({timeout:g} s). CPU columns are the CPU
seconds used during the row by this client process, by the server under test
(Stackling's one process; Keystone's gunicorn master + workers; Glance idle
and not counted) and by everything else on the machine (from /proc/stat), so
a saturated client or a busy neighbour shows; "server cpu ms/ok" (server CPU
per ok response) is the figure least moved by neighbours. The client, both
servers and anything else running share this machine's {cores} cores."""


def _fail(signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns everything measured."""
    rows: list[Row] = []
    info: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "loadavg_at_start": os.getloadavg(),
            "python": platform.python_version(),
        },
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "stackling": {},
        "peer": {},
    }
    with contextlib.ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="stackling-bench-"))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        stk = Stackling(tmp / "stackling", free_port())
        stack.callback(stk.down)
        peer: Peer | None = None
        if not args.skip_peer:
            peer = Peer(tmp / "peer", peer_port_base(args.peer_port_base))
            stack.callback(peer.down)
            log(f"starting the OpenStack peer in {peer.data_dir} (port base {peer.port_base})")
            info["peer"]["up_s"] = round(peer.up(), 2)
            with contextlib.suppress(FileNotFoundError, ValueError):
                info["peer"]["peer_json"] = json.loads((peer.data_dir / "peer.json").read_text())
        log(f"starting Stackling in {stk.data_dir} (port {stk.port})")
        info["stackling"]["up_detach_s"] = round(stk.up(), 2)
        s_side = Side("stackling", stk.cloud(), lambda: [p] if (p := stk.pid) else [])
        s_side.create_bench_user()
        time.sleep(1)
        info["stackling"]["memory_after_setup"] = memory_kib(stk.pid or 0)

        # Stackling, default settings: issue (password cache on) and validate.
        s_side.measure(ISSUE_CACHED, args, rows)
        s_side.measure("token_validate", args, rows)
        # Stackling with the password cache off: every issue pays bcrypt, as Keystone does.
        stk.down()
        info["stackling"]["up_detach_pw_cache_off_s"] = round(stk.up(env=NO_CACHE), 2)
        s_side.refresh_tokens()
        s_side.measure("token_issue [pw cache off]", args, rows)

        p_side: Side | None = None
        if peer is not None:
            p_side = Side("peer", peer.cloud(), peer.keystone_pids)
            p_side.create_bench_user()
            p_side.measure("token_issue", args, rows)
            p_side.measure("token_validate", args, rows)

        # 100 000 revocations in Stackling: cloned while stopped, loaded at start-up.
        audit_ids = [new_audit_id() for _ in range(EVENTS)]
        table_s = "identity_revocation_events"
        s_side.refresh_tokens()
        templates = revoke_one(s_side, stk.db, table_s)
        log(f"stackling wrote {len(templates)} row(s) for one revocation: {templates}")
        stk.down()
        took = clone_events(stk.db, table_s, templates, audit_ids)
        rev: dict[str, Any] = {
            "template_rows": templates,
            "insert_s": round(took, 2),
            "rows_in_table": count_rows(stk.db, table_s),
        }
        rev["up_detach_s"] = round(stk.up(), 2)
        rev["health_revocation_events"] = stk.health()["services"]["identity"].get(
            "revocation_events"
        )
        rev["memory"] = memory_kib(stk.pid or 0)
        info["stackling"]["revocations"] = rev
        log(f"stackling revocations: {rev | {'template_rows': len(templates)}}")
        s_side.measure("token_validate [100k revoked]", args, rows)

        if peer is not None and p_side is not None:
            table_p = "revocation_event"
            p_side.refresh_tokens()
            templates = revoke_one(p_side, peer.keystone_db, table_p)
            log(f"peer wrote {len(templates)} row(s) for one revocation: {templates}")
            audit_rows = [t for t in templates if t.get("audit_id")]
            other_rows = [t for t in templates if not t.get("audit_id")]
            prev: dict[str, Any] = {"template_rows": templates}
            prev["insert_audit_s"] = round(
                clone_events(peer.keystone_db, table_p, audit_rows, audit_ids), 2
            )
            prev["rows_after_audit"] = count_rows(peer.keystone_db, table_p)
            p_side.measure("token_validate [100k audit rows]", args, rows)
            if other_rows:
                prev["insert_chain_s"] = round(
                    clone_events(peer.keystone_db, table_p, other_rows, audit_ids), 2
                )
                prev["rows_after_chain"] = count_rows(peer.keystone_db, table_p)
                p_side.measure("token_validate [100k audit + 100k chain rows]", args, rows)
            info["peer"]["revocations"] = prev
        info["machine"]["loadavg_at_end"] = os.getloadavg()
        log("stopping both clouds and removing their data dirs")
    info["rows"] = [r.as_dict() for r in rows]
    info["ratios"] = ratios(rows)
    info["method"] = METHOD.format(
        warmup=args.warmup,
        duration=args.duration,
        timeout=args.request_timeout,
        cores=os.cpu_count(),
    )
    return info


def report(info: dict[str, Any]) -> None:
    """Print the figures on stdout."""
    rows = [Row(**r) for r in info["rows"]]
    print(f"# Identity benchmark ({info['started_at']}, {info['machine']['cores']} cores)\n")
    print(table(rows))
    if info["ratios"]:
        print("\nStackling / peer (rps ratio > 1 and p50 ratio < 1 favour Stackling):\n")
        print(ratio_table(info["ratios"]))
    s = info["stackling"]
    rev = s.get("revocations", {})
    mem = s.get("memory_after_setup", {})
    print(
        f"\nStackling: up --detach {s.get('up_detach_s')} s (fresh), "
        f"{s.get('up_detach_pw_cache_off_s')} s (restart, pw cache off), "
        f"{rev.get('up_detach_s')} s (restart with {rev.get('rows_in_table')} revocation rows; "
        f"index holds {rev.get('health_revocation_events')}); RSS "
        f"{mem.get('vmrss_kib', 0) / 1024:.0f} MiB after set-up, "
        f"{rev.get('memory', {}).get('vmrss_kib', 0) / 1024:.0f} MiB with the events loaded; "
        f"insert {rev.get('insert_s')} s."
    )
    p = info["peer"]
    if p:
        prev = p.get("revocations", {})
        print(
            f"Peer: up {p.get('up_s')} s; revocation_event rows {prev.get('rows_after_audit')} "
            f"then {prev.get('rows_after_chain')}; one real revocation wrote "
            f"{len(prev.get('template_rows', []))} row(s)."
        )
    lo, hi = info["machine"]["loadavg_at_start"], info["machine"].get("loadavg_at_end")
    print(f"Load average at start {lo[0]:.2f}, at end {hi[0] if hi else float('nan'):.2f}.\n")
    print(info["method"])


def main() -> None:
    """Parse arguments, run, print, optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per row (max 300)")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per row")
    ap.add_argument("--skip-peer", action="store_true", help="measure Stackling only")
    ap.add_argument(
        "--peer-port-base", type=int, default=None, help="default: first free of 16000, 16100, ..."
    )
    ap.add_argument("--request-timeout", type=float, default=60.0)
    ap.add_argument("--output", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    if not 0 < args.duration <= 300:
        ap.error("--duration must be in (0, 300]: tokens live an hour and every row reuses them")
    signal.signal(signal.SIGTERM, _fail)
    signal.signal(signal.SIGHUP, _fail)
    info = run(args)
    report(info)
    if args.output:
        args.output.write_text(json.dumps(info, indent=2, default=str) + "\n")
        print(f"\nJSON: {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
