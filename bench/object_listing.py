"""Object listing bench: a container of one million objects, listed through the Swift API.

    .venv/bin/python bench/object_listing.py [--db sqlite[,postgres]] [--objects 1000000]
        [--runs 7] [--walks 1] [--tmp-dir /var/tmp] [--output r.json]

For each database (`sqlite`: Stackling's default file; `postgres`: a throwaway
cluster from tests/support/pg.py, fsync off, shared_buffers 32 MB), one after
the other on a fresh temp data dir:
1. `stackling up --detach` with identity + object; the admin logs in and the
   storage URL is the token catalog's public `object-store` endpoint.
2. PUT a container through the Swift API, then write `--objects` rows straight
   into object_objects while the server runs (executemany, 50,000 rows a
   transaction) and set the container's object_count/bytes_used to match. No
   HTTP and no data: every row names a FAKE file id ("bench-fake-..."), which is
   fine because a listing never reads data. Names look like
   "logs/2026/11/<day>/<host>/<n>.json": 30 days x 34 hosts = 1020 second-level
   "dirs", so one day holds ~1/30 of the names. PostgreSQL then gets an ANALYZE
   (its autovacuum would do that within a minute of such a load); SQLite gets
   none, as a real Stackling never runs one.
3. Through HTTP with the token (one kept-alive httpx connection), each request
   `--runs` times, p50/p95 ms: first page (limit 10000, format json), a page
   from a marker in the middle, the last page, a page bounded by end_marker, a
   prefix page (one day), delimiter=/ at the root, at "logs/2026/11/" (days)
   and at one day (hosts), reverse=on; HEAD of the container and the account.
   Every answer is checked (status, entry count, first name, order).
4. A full walk of every name, limit=10000 marker paging: seconds, names/s.
5. The query plans of the listing's SQL (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE).
6. Cleanup: the rows are deleted through SQL, then the (now empty) container
   through the API; the server stops and the temp dir is removed.

Loopback only; every request has a timeout. No assertion on timings: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
from procs import REPO, Stackling, auth_body, catalog_url, free_port, log, log_errors
from volume import stats

DBS = ("sqlite", "postgres")
CONTAINER = "bench-listing"
LIMIT = 10000
DAYS = 30
HOSTS = 34
DIRS = DAYS * HOSTS
DAY = 15
STACKLING_ENV = {
    "STACKLING_SERVICES": '["identity","object"]',
    "STACKLING_IDENTITY__PASSWORD_HASH_ROUNDS": "4",
}
INSERT_COLUMNS = "container_id, name, size, etag, content_type, timestamp, file_id, meta, delete_at"
# What listing.scan runs for a page after a marker: the rows of one container
# not yet expired, past the marker, in name order.
SCAN_SQL = (
    "SELECT name, etag, size, content_type, timestamp FROM object_objects "
    "WHERE container_id = {cid} AND (delete_at IS NULL OR delete_at > {now}) "
    "AND name > {marker} ORDER BY name LIMIT {limit}"
)


class BenchError(RuntimeError):
    """A request or step that did not do what the bench needs."""


def _fail(signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


# -- the names ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """The `count` object names, in listing order, computed from their index."""

    count: int

    @property
    def per_dir(self) -> int:
        """Names under one <day>/<host>/ dir."""
        return max(1, math.ceil(self.count / DIRS))

    def __getitem__(self, i: int) -> str:
        """Name number `i` (zero padding keeps index order equal to byte order)."""
        d, n = divmod(i, self.per_dir)
        day, host = divmod(d, HOSTS)
        return f"logs/2026/11/{day + 1:02d}/host-{host:02d}/{n:06d}.json"

    def day_prefix(self, day: int) -> str:
        """The prefix holding one day's names."""
        return f"logs/2026/11/{day:02d}/"

    def day_count(self, day: int) -> int:
        """How many names start with day_prefix(day)."""
        first = (day - 1) * HOSTS * self.per_dir
        return max(0, min(self.count, first + HOSTS * self.per_dir) - first)

    def days(self) -> int:
        """How many day dirs hold at least one name."""
        return math.ceil(self.count / (HOSTS * self.per_dir))

    def rows(self, container_id: int, start: int, stop: int, base_ts: float) -> list[tuple]:
        """Rows start..stop-1 as INSERT parameters (meta '{}', no X-Delete-At)."""
        out = []
        for i in range(start, stop):
            name = self[i]
            out.append(
                (
                    container_id,
                    name,
                    self.size(i),
                    hashlib.md5(name.encode()).hexdigest(),
                    "application/json",
                    f"{base_ts + i * 0.5:016.5f}",
                    f"bench-fake-{i:012d}",
                    "{}",
                    None,
                )
            )
        return out

    @staticmethod
    def size(i: int) -> int:
        """A varied object size, so bytes_used is not a round number."""
        return 200 + (i * 7919) % 4000

    def total_bytes(self) -> int:
        """Sum of every row's size."""
        return sum(self.size(i) for i in range(self.count))


# -- direct SQL: fill, plans, cleanup -------------------------------------------------------


class Sql:
    """Writes and EXPLAINs straight to the database under the running Stackling."""

    def __init__(self, db: str, sqlite_path: Path | None = None, pg_dsn: str = "") -> None:
        self.db = db
        self.sqlite_path = sqlite_path
        self.pg_dsn = pg_dsn

    def fill(self, cid: int, names: Names, batch: int, base_ts: float) -> list[float]:
        """Insert every row, `batch` a transaction, then the container's totals; batch seconds."""
        if self.db == "sqlite":
            return self._fill_sqlite(cid, names, batch, base_ts)
        return asyncio.run(self._fill_pg(cid, names, batch, base_ts))

    def _batches(self, names: Names, batch: int) -> Iterator[tuple[int, int]]:
        for start in range(0, names.count, batch):
            yield start, min(names.count, start + batch)

    def _fill_sqlite(self, cid: int, names: Names, batch: int, base_ts: float) -> list[float]:
        took: list[float] = []
        sql = f"INSERT INTO object_objects ({INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
        with contextlib.closing(sqlite3.connect(self.sqlite_path, timeout=60)) as conn:
            conn.isolation_level = None
            for start, stop in self._batches(names, batch):
                rows = names.rows(cid, start, stop, base_ts)
                began = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(sql, rows)
                conn.execute("COMMIT")
                took.append(time.perf_counter() - began)
                log(f"sqlite: {stop}/{names.count} rows")
            conn.execute(
                "UPDATE object_containers SET object_count = ?, bytes_used = ? WHERE id = ?",
                (names.count, names.total_bytes(), cid),
            )
            # The load leaves a WAL of hundreds of MiB; fold it in as the server's
            # autocheckpoint would, so reads do not pay for it.
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return took

    async def _fill_pg(self, cid: int, names: Names, batch: int, base_ts: float) -> list[float]:
        import asyncpg

        took: list[float] = []
        sql = (
            f"INSERT INTO object_objects ({INSERT_COLUMNS}) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7,$8::json,$9)"
        )
        conn = await asyncpg.connect(self.pg_dsn, timeout=30)
        try:
            for start, stop in self._batches(names, batch):
                rows = names.rows(cid, start, stop, base_ts)
                began = time.perf_counter()
                async with conn.transaction():
                    await conn.executemany(sql, rows)
                took.append(time.perf_counter() - began)
                log(f"postgres: {stop}/{names.count} rows")
            await conn.execute(
                "UPDATE object_containers SET object_count = $1, bytes_used = $2 WHERE id = $3",
                names.count,
                names.total_bytes(),
                cid,
            )
            await conn.execute("ANALYZE object_objects")
        finally:
            await conn.close()
        return took

    def container_id(self, project_id: str, name: str) -> int:
        """The id of a container row."""
        sql = "SELECT id FROM object_containers WHERE project_id = {p} AND name = {n}"
        rows = self._query(sql, {"p": project_id, "n": name})
        if not rows:
            raise BenchError(f"no row for container {name!r} of {project_id}")
        return int(rows[0][0])

    def explain(self, cid: int, marker: str, limit: int) -> list[str]:
        """The plan of a listing page after `marker` (run, with timings, on PostgreSQL)."""
        params: dict[str, Any] = {"cid": cid, "now": int(time.time()), "limit": limit}
        sql = SCAN_SQL
        if marker:
            params["marker"] = marker
        else:
            # The first page has no lower bound at all.
            sql = sql.replace("AND name > {marker} ", "")
        if self.db == "sqlite":
            rows = self._query("EXPLAIN QUERY PLAN " + sql, params)
            return [str(r[-1]) for r in rows]
        rows = self._query("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return [str(r[0]) for r in rows]

    def cleanup(self, cid: int) -> None:
        """Delete the rows and zero the container's totals."""
        statements = [
            ("DELETE FROM object_objects WHERE container_id = {cid}", {"cid": cid}),
            (
                "UPDATE object_containers SET object_count = 0, bytes_used = 0 WHERE id = {cid}",
                {"cid": cid},
            ),
        ]
        for sql, params in statements:
            self._query(sql, params)

    def _query(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        """Run one statement with named parameters ({name} placeholders); its rows."""
        keys = list(params)
        if self.db == "sqlite":
            text = sql.format(**{k: f":{k}" for k in keys})
            with contextlib.closing(sqlite3.connect(self.sqlite_path, timeout=60)) as conn:
                conn.isolation_level = None
                return list(conn.execute(text, params).fetchall())
        text = sql.format(**{k: f"${i + 1}" for i, k in enumerate(keys)})
        return asyncio.run(self._pg_query(text, [params[k] for k in keys]))

    async def _pg_query(self, text: str, values: list[Any]) -> list[tuple]:
        import asyncpg

        conn = await asyncpg.connect(self.pg_dsn, timeout=30)
        try:
            return [tuple(r) for r in await conn.fetch(text, *values, timeout=300)]
        finally:
            await conn.close()


# -- HTTP measurements ----------------------------------------------------------------------


@dataclass
class Probe:
    """One listing request to repeat, and what its answer must hold."""

    key: str
    what: str
    params: dict[str, str]
    count: int
    first: str


def probes(names: Names) -> list[Probe]:
    """The listings to time, with the entry count and first entry each must return."""
    n = names.count
    mid = n // 2
    last = max(0, n - LIMIT // 2)
    day = min(DAY, names.days())
    day_first = (day - 1) * HOSTS * names.per_dir
    json_page = {"format": "json", "limit": str(LIMIT)}

    def page(start: int, stop: int) -> int:
        return max(0, min(LIMIT, stop - start))

    out = [
        Probe("first", "first page", json_page, page(0, n), names[0]),
        Probe(
            "middle",
            f"page after marker #{mid}",
            {**json_page, "marker": names[mid]},
            page(mid + 1, n),
            names[min(mid + 1, n - 1)],
        ),
        Probe(
            "last",
            f"last page (marker #{last})",
            {**json_page, "marker": names[last]},
            page(last + 1, n),
            names[min(last + 1, n - 1)],
        ),
        Probe(
            "end_marker",
            f"marker #{mid} to end_marker #{mid + LIMIT // 2}",
            {**json_page, "marker": names[mid], "end_marker": names[min(mid + LIMIT // 2, n - 1)]},
            page(mid + 1, min(mid + LIMIT // 2, n - 1)),
            names[min(mid + 1, n - 1)],
        ),
        Probe(
            "prefix",
            f"prefix one day ({names.day_count(day)} names)",
            {**json_page, "prefix": names.day_prefix(day)},
            min(LIMIT, names.day_count(day)),
            names[day_first],
        ),
        Probe(
            "delim_root",
            "delimiter=/ at the root",
            {**json_page, "delimiter": "/"},
            1,
            "logs/",
        ),
        Probe(
            "delim_days",
            "delimiter=/ prefix logs/2026/11/ (days)",
            {**json_page, "delimiter": "/", "prefix": "logs/2026/11/"},
            names.days(),
            "logs/2026/11/01/",
        ),
        Probe(
            "delim_hosts",
            f"delimiter=/ prefix {names.day_prefix(day)} (hosts)",
            {**json_page, "delimiter": "/", "prefix": names.day_prefix(day)},
            min(HOSTS, math.ceil(names.day_count(day) / names.per_dir)),
            f"{names.day_prefix(day)}host-00/",
        ),
        Probe(
            "reverse",
            "reverse=on first page",
            {**json_page, "reverse": "on"},
            page(0, n),
            names[n - 1],
        ),
    ]
    return out


def _entry_name(entry: dict[str, Any]) -> str:
    return str(entry.get("name", entry.get("subdir", "")))


def time_probe(client: httpx.Client, url: str, probe: Probe, runs: int) -> dict[str, Any]:
    """GET the listing `runs` times; latency figures and whether every answer was right."""
    seconds: list[float] = []
    problems: list[str] = []
    for _ in range(runs):
        began = time.perf_counter()
        resp = client.get(url, params=probe.params)
        took = time.perf_counter() - began
        if resp.status_code != 200:
            problems.append(f"HTTP {resp.status_code}: {resp.text[:200]}")
            continue
        seconds.append(took)
        entries = resp.json()
        got = [_entry_name(e) for e in entries]
        if len(got) != probe.count:
            problems.append(f"{len(got)} entries, not {probe.count}")
        elif got and got[0] != probe.first:
            problems.append(f"first entry {got[0]!r}, not {probe.first!r}")
        elif got != sorted(got, reverse=probe.key == "reverse"):
            problems.append("entries out of order")
    out = {
        "what": probe.what,
        "params": probe.params,
        "entries": probe.count,
        "runs": runs,
        "ms": stats(seconds, 1000),
        "ok": not problems,
        "problems": problems[:3],
    }
    log(f"{probe.what}: p50 {out['ms']['p50']:.1f} ms, p95 {out['ms']['p95']:.1f} ms")
    return out


def time_head(
    client: httpx.Client, url: str, what: str, runs: int, check: Callable[[httpx.Response], str]
) -> dict[str, Any]:
    """HEAD `url` `runs` times; latency figures and the check's complaints."""
    seconds: list[float] = []
    problems: list[str] = []
    for _ in range(runs):
        began = time.perf_counter()
        resp = client.head(url)
        seconds.append(time.perf_counter() - began)
        problem = check(resp)
        if problem:
            problems.append(problem)
    out = {
        "what": what,
        "runs": runs,
        "ms": stats(seconds, 1000),
        "ok": not problems,
        "problems": problems[:3],
    }
    log(f"{what}: p50 {out['ms']['p50']:.1f} ms")
    return out


def walk(client: httpx.Client, url: str, names: Names) -> dict[str, Any]:
    """Every name, LIMIT a page, marker = the last name seen; seconds, names/s, checks."""
    seen = pages = 0
    marker, previous = "", ""
    ordered = True
    page_s: list[float] = []
    began = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        resp = client.get(url, params={"format": "json", "limit": str(LIMIT), "marker": marker})
        page_s.append(time.perf_counter() - t0)
        if resp.status_code != 200:
            raise BenchError(f"walk: GET marker={marker!r}: HTTP {resp.status_code}")
        entries = resp.json()
        pages += 1
        for e in entries:
            ordered = ordered and e["name"] > previous
            previous = e["name"]
        seen += len(entries)
        if len(entries) < LIMIT:
            break
        marker = entries[-1]["name"]
    took = time.perf_counter() - began
    out = {
        "s": round(took, 3),
        "names": seen,
        "pages": pages,
        "names_s": seen / took if took > 0 else math.nan,
        "page_ms": stats(page_s, 1000),
        "ok": seen == names.count and ordered and previous == names[names.count - 1],
    }
    log(f"walk: {seen} names in {pages} pages, {took:.2f} s, {out['names_s']:.0f} names/s")
    return out


# -- one database ---------------------------------------------------------------------------


def _login(stk: Stackling) -> tuple[str, str]:
    """(storage URL, token) of the admin."""
    cloud = stk.cloud()
    with httpx.Client(timeout=60) as client:
        resp = client.post(
            f"{cloud.auth_url}/auth/tokens",
            json=auth_body(cloud.username, cloud.password, cloud.project, cloud.user_domain),
        )
    if resp.status_code != 201:
        raise BenchError(f"POST /v3/auth/tokens: HTTP {resp.status_code}: {resp.text[:200]}")
    storage_url = catalog_url(resp.json()["token"]["catalog"], "object-store")
    return storage_url, resp.headers["X-Subject-Token"]


def measure(
    args: argparse.Namespace, client: httpx.Client, url: str, sql: Sql, names: Names
) -> dict[str, Any]:
    """Create and fill the container, time the listings, clean up; the figures."""
    res: dict[str, Any] = {}
    resp = client.put(f"{url}/{CONTAINER}")
    if resp.status_code != 201:
        raise BenchError(f"PUT /{CONTAINER}: HTTP {resp.status_code}: {resp.text[:200]}")
    cid = sql.container_id(url.rsplit("/AUTH_", 1)[1], CONTAINER)
    log(f"{sql.db}: filling container {cid} with {names.count} rows (fake file ids)")
    began = time.perf_counter()
    batches = sql.fill(cid, names, args.batch, time.time() - 30 * 86400)
    took = time.perf_counter() - began
    res["fill"] = {
        "rows": names.count,
        "batch": args.batch,
        "s": round(took, 2),
        "rows_s": names.count / took if took > 0 else math.nan,
        "batch_s": stats(batches),
        "file_ids": "fake (bench-fake-<n>): listings never read data",
    }
    log(f"{sql.db}: filled in {took:.1f} s ({res['fill']['rows_s']:.0f} rows/s)")
    if sql.sqlite_path is not None:
        res["db_mib"] = round(sql.sqlite_path.stat().st_size / 2**20, 1)
    cont_url = f"{url}/{CONTAINER}"
    # Untimed: the first request after the load pays for cold caches.
    client.get(cont_url, params={"format": "json", "limit": str(LIMIT)})
    res["probes"] = {p.key: time_probe(client, cont_url, p, args.runs) for p in probes(names)}
    want_bytes = str(names.total_bytes())

    def container_counts(r: httpx.Response) -> str:
        got = (r.headers.get("X-Container-Object-Count"), r.headers.get("X-Container-Bytes-Used"))
        ok = r.status_code == 204 and got == (str(names.count), want_bytes)
        return "" if ok else f"HTTP {r.status_code}, count/bytes {got}"

    def account_counts(r: httpx.Response) -> str:
        got = r.headers.get("X-Account-Object-Count")
        return "" if r.status_code == 204 and got == str(names.count) else f"count {got}"

    res["head_container"] = time_head(
        client, cont_url, "HEAD container", args.runs, container_counts
    )
    res["head_account"] = time_head(client, url, "HEAD account", args.runs, account_counts)
    res["walks"] = [walk(client, cont_url, names) for _ in range(args.walks)]
    marker = names[names.count // 2]
    res["plans"] = {
        "first": {"sql": SCAN_SQL, "marker": "", "plan": sql.explain(cid, "", LIMIT)},
        "middle": {"sql": SCAN_SQL, "marker": marker, "plan": sql.explain(cid, marker, LIMIT)},
    }
    began = time.perf_counter()
    sql.cleanup(cid)
    resp = client.delete(cont_url)
    res["cleanup"] = {"s": round(time.perf_counter() - began, 2), "delete": resp.status_code}
    log(f"{sql.db}: cleanup {res['cleanup']}")
    return res


def run_db(args: argparse.Namespace, tmp: Path, db: str) -> dict[str, Any]:
    """Start Stackling on `db`, measure, stop it; the figures (or why it could not run)."""
    res: dict[str, Any] = {"db": db}
    pg: Any = None
    env = dict(STACKLING_ENV)
    stk = Stackling(tmp / f"stackling-{db}", free_port())
    try:
        if db == "postgres":
            sys.path.insert(0, str(REPO))
            from tests.support.pg import PostgresCluster, PostgresUnavailable

            try:
                pg = PostgresCluster()
                pg.start()
                pg.psql("CREATE DATABASE stackling")
            except PostgresUnavailable as exc:
                return {"db": db, "unavailable": f"PostgreSQL: {exc}"}
            dsn = f"postgres://postgres@127.0.0.1:{pg.port}/stackling"
            env["STACKLING_DATABASE__URL"] = dsn.replace("postgres://", "postgresql+asyncpg://")
            sql = Sql(db, pg_dsn=dsn)
        else:
            sql = Sql(db, sqlite_path=stk.db)
        log(f"{db}: starting Stackling in {stk.data_dir} (port {stk.port})")
        res["up_detach_s"] = round(stk.up(env=env), 2)
        url, token = _login(stk)
        timeout = httpx.Timeout(args.request_timeout, connect=10)
        with httpx.Client(headers={"X-Auth-Token": token}, timeout=timeout) as client:
            res |= measure(args, client, url, sql, Names(args.objects))
    except (BenchError, RuntimeError, OSError, subprocess.TimeoutExpired, httpx.HTTPError) as exc:
        log(f"{db}: FAILED: {type(exc).__name__}: {exc}")
        res["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        stk.down()
        res["log_errors"] = log_errors(stk.data_dir / "logs", keep=20)
        if pg is not None:
            pg.stop()
    return res


# -- report ---------------------------------------------------------------------------------


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def report(info: dict[str, Any]) -> None:
    """The figures as Markdown on stdout."""
    print(f"# Object listing bench ({info['started']}, {info['host']})\n")
    print(f"{info['objects']} objects in one container; file ids are fake (no data written).")
    print(f"load average before: {info['load_before']}, after: {info.get('load_after')}\n")
    for db, side in info["dbs"].items():
        print(f"## {db}\n")
        if "unavailable" in side or "error" in side:
            print(f"{side.get('unavailable') or side.get('error')}\n")
        fill = side.get("fill")
        if fill:
            size = f", database file {side['db_mib']} MiB" if "db_mib" in side else ""
            print(
                f"Fill (SQL, {fill['batch']} rows/transaction): {fill['rows']} rows in "
                f"{fill['s']} s = {_f(fill['rows_s'], 0)} rows/s{size}\n"
            )
        rows = list((side.get("probes") or {}).values())
        rows += [side[k] for k in ("head_container", "head_account") if k in side]
        if rows:
            print("| request | entries | runs | p50 ms | p95 ms | max ms | checks |")
            print("| --- | --- | --- | --- | --- | --- | --- |")
            for r in rows:
                ms = r["ms"]
                checks = "ok" if r["ok"] else "; ".join(r["problems"])
                print(
                    f"| {r['what']} | {r.get('entries', '-')} | {r['runs']} | {_f(ms['p50'])} "
                    f"| {_f(ms['p95'])} | {_f(ms['max'])} | {checks} |"
                )
        for w in side.get("walks") or []:
            pm = w["page_ms"]
            print(
                f"\nFull walk ({LIMIT}/page): {w['names']} names, {w['pages']} pages in "
                f"{w['s']} s = {_f(w['names_s'], 0)} names/s; page p50/p95/max "
                f"{_f(pm['p50'])}/{_f(pm['p95'])}/{_f(pm['max'])} ms; checks "
                f"{'ok' if w['ok'] else 'FAILED'}"
            )
        for key, plan in (side.get("plans") or {}).items():
            print(f"\nPlan of the {key} page's query:\n")
            print("```")
            print("\n".join(plan["plan"]))
            print("```")
        if "cleanup" in side:
            c = side["cleanup"]
            print(f"\nCleanup: rows deleted in SQL + DELETE container ({c['delete']}) {c['s']} s")
        if side.get("log_errors"):
            print("\nServer log errors:\n")
            for line in side["log_errors"]:
                print(f"    {line}")
        print()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every asked-for database, one after the other; the figures."""
    info: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": f"{platform.node()} ({os.cpu_count()} cpus)",
        "load_before": os.getloadavg(),
        "objects": args.objects,
        "args": {k: str(v) for k, v in vars(args).items()},
        "dbs": {},
    }
    tmp = Path(tempfile.mkdtemp(prefix="bench-listing-", dir=args.tmp_dir))
    try:
        for db in args.db_list:
            info["dbs"][db] = run_db(args, tmp, db)
    finally:
        log(f"removing {tmp}")
        shutil.rmtree(tmp, ignore_errors=True)
    info["load_after"] = os.getloadavg()
    return info


def main() -> None:
    """Parse arguments, run, print, write JSON."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--db", default="sqlite", help="of sqlite,postgres (comma-separated)")
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=50_000, help="rows per INSERT transaction")
    ap.add_argument("--runs", type=int, default=7, help="times each request is timed")
    ap.add_argument("--walks", type=int, default=1, help="full walks of every name")
    ap.add_argument("--request-timeout", type=float, default=120.0)
    ap.add_argument("--tmp-dir", type=Path, default=Path("/var/tmp"), help="where data dirs go")
    ap.add_argument("--output", "--json", type=Path, default=None, help="also write JSON here")
    args = ap.parse_args()
    args.db_list = [d.strip() for d in args.db.split(",") if d.strip()]
    if not args.db_list or set(args.db_list) - set(DBS):
        ap.error(f"--db: of {','.join(DBS)}")
    if args.objects < LIMIT or args.batch < 1 or args.runs < 1:
        ap.error(f"--objects must be at least {LIMIT}; --batch and --runs at least 1")
    signal.signal(signal.SIGTERM, _fail)
    info = run(args)
    report(info)
    if args.output:
        args.output.write_text(json.dumps(info, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
