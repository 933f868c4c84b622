"""Start-up benchmark: `stackling up --detach` to the first `openstack token issue`; idle RSS.

    .venv/bin/python bench/startup.py [--runs 5] [--output r.json] [--importtime]

Each run starts Stackling (identity only, default settings) on a fresh temp
data dir, so every start is a first start: schema creation, key generation,
admin bootstrap (one bcrypt hash at the default cost). As soon as
`up --detach` returns, the real CLI (`openstack token issue`, the project's
.venv, the written clouds.yaml) runs until it succeeds. The process log's
timestamps split the server's part (process start to listening, lifespan
start-up) from the detaching parent and the CLI; `openstack --version` alone
and a second `openstack token issue` against the warm server give the CLI's
own cost. 5 s after ready, VmRSS (/proc/PID/status) and PSS
(/proc/PID/smaps_rollup) of the server are read. Targets: start to first
token under 3 s, idle RSS under 120 MB; they are reported, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

from loadgen import process_cpu_s
from procs import Stackling, clean_env, free_port, log, memory_kib, venv_bin

TARGET_FIRST_TOKEN_S = 3.0
TARGET_RSS_MB = 120.0
_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \d+ \w+ (\S+) \[[^\]]*\] (.*)$")


def _cli_env(data_dir: Path | None) -> dict[str, str]:
    env = clean_env()
    for key in [k for k in env if k.startswith("OS_")]:
        del env[key]
    if data_dir is not None:
        env.update(OS_CLIENT_CONFIG_FILE=str(data_dir / "clouds.yaml"), OS_CLOUD="stackling")
    return env


def children_cpu_s() -> float:
    """CPU seconds used so far by this process's waited-for children."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(cmd: list[str], env: dict[str, str], timeout_s: float = 60) -> tuple[float, int, str]:
    """Run a command; return (seconds, return code, stderr tail)."""
    began = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    return time.perf_counter() - began, proc.returncode, proc.stderr[-500:]


def log_events(path: Path) -> list[tuple[float, str, str]]:
    """(epoch seconds, logger, message) for every line of the process log."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        m = _LOG_LINE.match(line)
        if m:
            stamp = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            out.append((stamp, m.group(2), m.group(3)))
    return out


def first(events: list[tuple[float, str, str]], needle: str) -> float | None:
    """Time of the first log message containing `needle`."""
    return next((t for t, _, msg in events if needle in msg), None)


def one_run(index: int, openstack: Path) -> dict[str, Any]:
    """One cold start on a fresh data dir, measured and torn down."""
    data_dir = Path(tempfile.mkdtemp(prefix="stackling-startup-"))
    stk = Stackling(data_dir, free_port())
    result: dict[str, Any] = {"run": index}
    try:
        wall0 = time.time()
        cpu0 = children_cpu_s()
        result["up_detach_s"] = stk.up()
        t_ready = time.perf_counter()
        cpu1 = children_cpu_s()
        server_pid = stk.pid or 0
        server_ready_cpu = process_cpu_s(server_pid)
        attempts = 0
        while True:
            attempts += 1
            _, rc, err = timed(
                [str(openstack), "token", "issue", "-f", "value", "-c", "id"], _cli_env(data_dir)
            )
            if rc == 0 or time.perf_counter() - t_ready > 30:
                break
        result["token_issue_s"] = time.perf_counter() - t_ready
        result["cpu_s"] = {
            # The `stackling up --detach` process (waited for; the server it starts is not).
            "detaching_parent": cpu1 - cpu0,
            "server_until_ready": server_ready_cpu,
            "server_first_token": process_cpu_s(server_pid) - server_ready_cpu,
            "openstack_cli": children_cpu_s() - cpu1,
        }
        result["token_issue_attempts"] = attempts
        result["token_issue_ok"] = rc == 0
        if rc != 0:
            result["token_issue_error"] = err
        result["start_to_first_token_s"] = result["up_detach_s"] + result["token_issue_s"]
        pid = stk.pid
        time.sleep(max(0.0, t_ready + 5.0 - time.perf_counter()))
        result["memory_5s_after_ready"] = memory_kib(pid or 0)
        warm, rc, _ = timed(
            [str(openstack), "token", "issue", "-f", "value", "-c", "id"], _cli_env(data_dir)
        )
        result["token_issue_warm_server_s"] = warm if rc == 0 else None
        events = log_events(data_dir / "logs" / "stackling.log")
        started = first(events, "Started server process")
        complete = first(events, "Application startup complete")
        if started and complete:
            result["phases_s"] = {
                "cli_and_child_imports_and_build_app": started - wall0,
                "lifespan_startup": complete - started,
                "ready_to_detach_return": wall0 + result["up_detach_s"] - complete,
            }
        times = [
            float(m.group(1))
            for _, logger, msg in events
            if logger == "stackling.access"
            and "POST /identity/v3/auth/tokens" in msg
            and (m := re.search(r"time (\d+\.\d+)", msg))
        ]
        if times:
            result["server_first_token_request_s"] = times[0]
    finally:
        stk.down()
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def import_profile(top: int = 20) -> list[tuple[str, float]]:
    """Cumulative import time (s) of the slowest modules the server imports."""
    code = "import stackling.cli.main, stackling.runtime.process, stackling.app, "
    code += "stackling.identity.plugin, uvicorn"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
        timeout=60,
    )
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((parts[2].rstrip(), int(parts[1]) / 1e6))
    return sorted(rows, key=lambda r: r[1], reverse=True)[:top]


def _fail(signum: int, _frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


def _f(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report(info: dict[str, Any]) -> None:
    """Print the figures."""
    runs = info["runs"]
    print(f"# Start-up benchmark ({info['started_at']}, {info['machine']['cores']} cores)\n")
    print(
        "| run | up --detach s | first token issue s | start to first token s "
        "| imports+build_app s | lifespan s | ready->detach returns s | server POST s "
        "| CPU s: parent / server to ready / server 1st token / CLI | RSS MiB | PSS MiB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        ph = r.get("phases_s", {})
        mem = r.get("memory_5s_after_ready", {})
        print(
            f"| {r['run']} | {_f(r['up_detach_s'])} | {_f(r['token_issue_s'])} "
            f"| {_f(r['start_to_first_token_s'])} "
            f"| {_f(ph.get('cli_and_child_imports_and_build_app'))} "
            f"| {_f(ph.get('lifespan_startup'))} | {_f(ph.get('ready_to_detach_return'))} "
            f"| {_f(r.get('server_first_token_request_s'))} "
            f"| {' / '.join(_f(v) for v in r.get('cpu_s', {}).values())} "
            f"| {mem.get('vmrss_kib', 0) / 1024:.1f} | {mem.get('pss_kib', 0) / 1024:.1f} |"
        )
    med = info["median"]
    print(
        f"| median | {_f(med['up_detach_s'])} | {_f(med['token_issue_s'])} "
        f"| {_f(med['start_to_first_token_s'])} | | | | | "
        f"| {med['rss_mib']:.1f} | {med['pss_mib']:.1f} |"
    )
    print(
        f"\n`openstack --version` alone: median {_f(info['cli_version_s']['median'])} s "
        f"({', '.join(_f(x) for x in info['cli_version_s']['all'])}); "
        f"`openstack token issue` against the warm server: median "
        f"{_f(info['token_issue_warm_server_s_median'])} s."
    )
    ok_t = med["start_to_first_token_s"] < TARGET_FIRST_TOKEN_S
    ok_m = med["rss_mib"] * 1024 * 1024 / 1e6 < TARGET_RSS_MB
    print(
        f"Targets: start to first token < {TARGET_FIRST_TOKEN_S:g} s: "
        f"{'met' if ok_t else 'MISSED'} (median {med['start_to_first_token_s']:.2f} s); "
        f"idle RSS < {TARGET_RSS_MB:g} MB: {'met' if ok_m else 'MISSED'} "
        f"(median {med['rss_mib'] * 1.048576:.1f} MB = {med['rss_mib']:.1f} MiB)."
    )
    print(f"Load average at start {info['machine']['loadavg_at_start'][0]:.2f}.")
    if info.get("import_profile"):
        print("\nSlowest imports (cumulative, python -X importtime, one run):\n")
        for name, secs in info["import_profile"]:
            print(f"  {secs * 1000:7.1f} ms  {name}")


def main() -> None:
    """Parse arguments, run, print, optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="cold starts (default 5, max 50)")
    ap.add_argument("--importtime", action="store_true", help="also profile the server's imports")
    ap.add_argument("--output", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    if not 1 <= args.runs <= 50:
        ap.error("--runs must be in [1, 50]")
    signal.signal(signal.SIGTERM, _fail)
    signal.signal(signal.SIGHUP, _fail)
    openstack = venv_bin("openstack")
    info: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "loadavg_at_start": os.getloadavg()},
    }
    versions = []
    for _ in range(3):
        took, _, _ = timed([str(openstack), "--version"], _cli_env(None))
        versions.append(took)
    info["cli_version_s"] = {"all": versions, "median": statistics.median(versions)}
    runs = []
    for i in range(1, args.runs + 1):
        log(f"cold start {i}/{args.runs}")
        runs.append(one_run(i, openstack))
        log(
            f"  -> up --detach {runs[-1]['up_detach_s']:.2f} s, first token "
            f"{runs[-1]['token_issue_s']:.2f} s"
        )
    info["runs"] = runs
    rss = [r["memory_5s_after_ready"].get("vmrss_kib", 0) / 1024 for r in runs]
    pss = [r["memory_5s_after_ready"].get("pss_kib", 0) / 1024 for r in runs]
    info["median"] = {
        "up_detach_s": statistics.median(r["up_detach_s"] for r in runs),
        "token_issue_s": statistics.median(r["token_issue_s"] for r in runs),
        "start_to_first_token_s": statistics.median(r["start_to_first_token_s"] for r in runs),
        "rss_mib": statistics.median(rss),
        "pss_mib": statistics.median(pss),
    }
    warm = [r["token_issue_warm_server_s"] for r in runs if r.get("token_issue_warm_server_s")]
    info["token_issue_warm_server_s_median"] = statistics.median(warm) if warm else None
    info["machine"]["loadavg_at_end"] = os.getloadavg()
    if args.importtime:
        info["import_profile"] = import_profile()
    report(info)
    if args.output:
        args.output.write_text(json.dumps(info, indent=2, default=str) + "\n")
        print(f"\nJSON: {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
