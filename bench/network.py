"""Network benchmark: Neutron API port creation against the real Neutron, and the data plane.

    .venv/bin/python bench/network.py [--ports 1000] [--concurrency 10] [--sections ports,sg,fip]
        [--skip-peer] [--no-stackling-pg] [--sg-ports 100] [--sg-repeats 5] [--fip-runs 3]
        [--fip-keep-servers]
        [--neutron-venv DIR] [--keep-logs DIR] [--output r.json]

Sections (each prints figures; nothing passes or fails):

1. `ports`: `--ports` POST /v2.0/ports on one network (subnet 10.96.0.0/20, so
   4094 addresses) at concurrency `--concurrency`, one kept-alive HTTP/1.1
   connection per worker thread (loadgen.Connection, the same client code on
   every side), after 10 untimed warm-up ports. Figures: ports/s (ok / time
   from the first POST to the last answer), p50/p95/p99/max latency, CPU of the
   server's processes, of this client and of everything else. Sides, one after
   the other (never side by side): Stackling (`stackling up --detach`, identity
   + network, SQLite, agent off, no public network); Stackling again on
   PostgreSQL (unless `--no-stackling-pg`, same cluster as the peer: a
   like-for-like database); the real Neutron (neutron_peer.py says how it is
   set up: Neutron 29.0.0, ML2 without agents, noauth, gunicorn sync workers,
   PostgreSQL). Stackling requests carry an admin token from POST
   /identity/v3/auth/tokens; Neutron's carry X-Project-Id and X-Roles: admin.
   Every body names project_id (Neutron's noauth requires it). Quotas are
   raised first on every side (PUT /v2.0/quotas/{project} port -1; its status
   is reported).
2. `sg` (Stackling only: Neutron without agents has no data plane): a cloud
   whose network agent is confined to a namespace the bench makes
   (STACKLING_NETWORK__HOST_NETNS, a random TAG, its own DHCP dir, AGENT_HOST
   benchhost). `--sg-ports` ports bound to benchhost (compute:nova, a random
   device_id, security group `bench-sg`) on a DHCP-less network; each port's tap
   is a veth whose other end is in a second namespace of the bench; the bench
   waits until all are ACTIVE and runs one untimed rule cycle (so every port is
   in the filter). Then `--sg-repeats` times: POST an ingress TCP rule on
   bench-sg, poll `ip netns exec <host ns> nft list ruleset` every 20 ms (start
   to start) until the rule's comment ("rule <id>") is in every port's chain;
   seconds from the start of the POST to the first port and to all of them.
   Then DELETE it, timed the same way until no chain has it.
3. `fip` (root, libvirt; the router data plane in stackling/network/agent/):
   a cloud with the libvirt driver, the test image and the agent in the real
   host namespace (random TAG); network + subnet 10.77.0.0/24 + router with
   its gateway on `public` (172.24.4.0/24, the host is 172.24.4.1 on
   br-stackling) + interface; ICMP allowed in by the default group. Then
   `--fip-runs` times: POST /servers (cirros, s1.nano) → as soon as its port
   exists, POST /floatingips on it → `ping -c1 -W1 <fip>` from the host in a
   loop until it answers; seconds from the POST. Each server and FIP is
   deleted before the next run (one guest at a time under TCG), so the next
   port gets the freed fixed IP again; `--fip-keep-servers` keeps them until
   the end instead, so that no address is reused. Only the FIP on the bench's
   own provider bridge is pinged.

Ratios are Neutron/Stackling for latencies and Stackling/Neutron for rates:
both read as "times faster" for Stackling. Load averages are printed with the
figures (2 shared cores: expect noise). Namespaces, veths, the bridge and nft
tables the bench made are removed at the end, also on failure: the sections
compare with a snapshot taken before they started.
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
import secrets
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
from loadgen import Connection, CpuMeter, connect_to, percentile, pool, request_to
from neutron_peer import DEFAULT_VENV, NEUTRON_VERSION, NeutronPeer, PeerUnavailable
from procs import Stackling, auth_body, catalog_url, free_port, keep_logs, log, log_errors

from stackling.network.linux import names

PORT_CIDR = "10.96.0.0/20"
SG_CIDR = "10.97.0.0/24"
FIP_CIDR = "10.77.0.0/24"
WARMUP_PORTS = 10
NFT_POLL_S = 0.02
API_POLL_S = 0.05
AGENT_HOST = "benchhost"
TEST_IMAGE = "cirros"
FLAVOR = "100"  # s1.nano
MICROVERSION = "2.37"
SECTIONS = ("ports", "sg", "fip")
BASE_ENV = {
    "STACKLING_SERVICES": '["identity","network"]',
    "STACKLING_IDENTITY__PASSWORD_HASH_ROUNDS": "4",
}
LINK_PREFIXES = ("brq", "tap", "vxlan-", "qr-", "qg-", "ns-")


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


def sh(*argv: str, timeout: float = 60, check: bool = False, stdin: str | None = None) -> str:
    """Run a host command; its stdout (raises on failure when `check`)."""
    proc = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise BenchError(f"{' '.join(argv[:6])} failed ({proc.returncode}): {proc.stderr[:300]}")
    return proc.stdout


# -- one cloud's network API ------------------------------------------------------------


@dataclass
class NetSide:
    """A Neutron v2.0 API under test: where it is, how requests authenticate, its processes."""

    name: str
    label: str
    url: str  # .../v2.0
    headers: dict[str, str]
    project_id: str
    pids: Callable[[], list[int]]
    timeout_s: float = 120.0
    compute: str = ""
    image: str = ""
    results: dict[str, Any] = field(default_factory=dict)

    def http(self) -> httpx.Client:
        """A client for set-up calls (not the timed ones)."""
        return httpx.Client(timeout=httpx.Timeout(self.timeout_s, connect=10), headers=self.headers)

    def connection(self) -> Connection:
        """A kept-alive raw connection, for the timed requests."""
        return connect_to(self.url, self.timeout_s)

    def raw(self, method: str, path: str, body: Any = None) -> bytes:
        """A complete request below the v2.0 endpoint (e.g. /ports) as bytes."""
        return request_to(self.url, self.headers, method, path, body)

    def create(self, client: httpx.Client, member: str, **fields: Any) -> dict[str, Any]:
        """POST one resource (project_id added); its body."""
        path = "/" + member.replace("_", "-") + "s"
        body = {member: {"project_id": self.project_id, **fields}}
        return dict(_expect(client.post(self.url + path, json=body), 201, f"POST {path}")[member])


def stackling_side(name: str, label: str, stk: Stackling, timeout_s: float = 120) -> NetSide:
    """Log the admin in (password, project scope); the network endpoint from the catalog."""
    cloud = stk.cloud()
    with httpx.Client(timeout=60) as client:
        resp = client.post(
            f"{cloud.auth_url}/auth/tokens",
            json=auth_body(cloud.username, cloud.password, cloud.project, cloud.user_domain),
        )
    _expect(resp, 201, f"{name}: POST /v3/auth/tokens")
    token = resp.json()["token"]
    catalog = token["catalog"]
    side = NetSide(
        name=name,
        label=label,
        url=catalog_url(catalog, "network") + "/v2.0",
        headers={"X-Auth-Token": resp.headers["X-Subject-Token"]},
        project_id=token["project"]["id"],
        pids=stk.pids,
        timeout_s=timeout_s,
    )
    with contextlib.suppress(LookupError):
        side.compute = catalog_url(catalog, "compute")
        side.image = catalog_url(catalog, "image").removesuffix("/v2")
    return side


def raise_quotas(side: NetSide, **quotas: int) -> dict[str, Any]:
    """PUT /v2.0/quotas/{project}; status (and body when it failed)."""
    with side.http() as client:
        resp = client.put(f"{side.url}/quotas/{side.project_id}", json={"quota": quotas})
    out: dict[str, Any] = {"status": resp.status_code}
    if resp.status_code != 200:
        out["body"] = resp.text[:300]
        log(f"{side.name}: PUT /quotas: HTTP {resp.status_code}: {resp.text[:200]}")
    return out


# -- 1. port creation --------------------------------------------------------------------


def create_ports(
    side: NetSide, network_id: str, count: int, concurrency: int, prefix: str, **extra: Any
) -> list[dict[str, Any]]:
    """POST /ports `count` times on `concurrency` connections; per request t0/t1/id or error."""

    def one(conn: Connection, i: int) -> dict[str, Any]:
        body = {
            "port": {
                "network_id": network_id,
                "name": f"{prefix}-{i:05d}",
                "project_id": side.project_id,
                **extra,
            }
        }
        request = side.raw("POST", "/ports", body)
        t0 = time.perf_counter()
        status, _, data = conn.request(request)
        t1 = time.perf_counter()
        if status != 201:
            return {"t0": t0, "t1": t1, "error": f"HTTP {status}: {data[:200]!r}"}
        return {"t0": t0, "t1": t1, "id": json.loads(data)["port"]["id"]}

    return pool(list(range(count)), concurrency, side.connection, one)


def ports_section(side: NetSide, args: argparse.Namespace) -> dict[str, Any]:
    """Quota, a network with a /20, warm-up, then `--ports` ports at `--concurrency`."""
    out: dict[str, Any] = {"quota_put": raise_quotas(side, port=-1, network=-1, subnet=-1)}
    with side.http() as client:
        net = side.create(client, "network", name="bench-ports")
        side.create(
            client, "subnet", network_id=net["id"], ip_version=4, cidr=PORT_CIDR, name="bench"
        )
    warm = create_ports(side, net["id"], WARMUP_PORTS, 1, "bench-warm")
    if any("error" in r for r in warm):
        raise BenchError(f"warm-up: {next(r['error'] for r in warm if 'error' in r)}")
    cpu = CpuMeter(side.pids())
    runs = create_ports(side, net["id"], args.ports, args.concurrency, "bench-port")
    cpu_used = cpu.read()
    ok = [r for r in runs if "id" in r]
    begin = min(r["t0"] for r in runs)
    wall = max(r["t1"] for r in runs) - begin
    out |= {
        "count": len(runs),
        "ok": len(ok),
        "errors": len(runs) - len(ok),
        "error_samples": [r["error"] for r in runs if "error" in r][:5],
        "concurrency": args.concurrency,
        "wall_s": round(wall, 3),
        "per_s": len(ok) / wall if wall > 0 else math.nan,
        "ms": stats([r["t1"] - r["t0"] for r in ok], 1000),
        "cpu": cpu_used,
    }
    log(
        f"{side.name}: {out['ok']}/{out['count']} ports in {wall:.2f} s "
        f"({out['per_s']:.1f}/s), p50 {out['ms']['p50']:.1f} ms, p95 {out['ms']['p95']:.1f} ms"
    )
    return out


def _section(results: dict[str, Any], key: str, what: str, fn: Callable[[], dict]) -> None:
    """Run one measurement into results[key]; a failure is recorded, not raised."""
    try:
        results[key] = fn()
    except (BenchError, PeerUnavailable, httpx.HTTPError, OSError, LookupError) as exc:
        log(f"{what} FAILED: {exc}")
        results[key] = {"error": f"{type(exc).__name__}: {exc}"}


def stackling_ports(
    args: argparse.Namespace, tmp: Path, name: str, label: str, env: dict[str, str]
) -> dict[str, Any]:
    """Start a Stackling (identity + network, agent off), run the port section, stop it."""
    stk = Stackling(tmp / name, free_port())
    env = {
        **BASE_ENV,
        "STACKLING_NETWORK__AGENT_ENABLED": "false",
        "STACKLING_NETWORK__PUBLIC_NETWORK_CIDR": "",
        **env,
    }
    res: dict[str, Any] = {"env": env}
    log(f"{label}: starting in {stk.data_dir} (port {stk.port})")
    try:
        res["up_detach_s"] = round(stk.up(env=env), 2)
        side = stackling_side(name, label, stk, args.request_timeout)
        res["endpoint"] = side.url
        _section(res, "ports", f"{label}: ports", lambda: ports_section(side, args))
    except (RuntimeError, subprocess.TimeoutExpired, httpx.HTTPError, LookupError) as exc:
        log(f"{label}: unavailable: {exc}")
        res["unavailable"] = f"{type(exc).__name__}: {exc}"
    finally:
        stk.down()
        res["log_errors"] = log_errors(stk.data_dir / "logs", keep=20)
        keep_logs(args, stk.data_dir / "logs", name)
    return res


def run_ports(args: argparse.Namespace, tmp: Path, info: dict[str, Any]) -> None:
    """Section 1 on every side, one after the other."""
    sides = info["sides"]
    sides["stackling"] = stackling_ports(args, tmp, "stackling", "Stackling (SQLite)", {})
    if args.skip_peer:
        return
    peer = NeutronPeer(tmp / "neutron", free_port(), args.neutron_workers, args.neutron_venv)
    try:
        try:
            peer.start_postgres()
        except PeerUnavailable as exc:
            sides["neutron"] = {"unavailable": str(exc)}
            return
        if args.stackling_pg:
            assert peer.pg is not None
            url = "postgresql+asyncpg://" + peer.database("stackling")
            sides["stackling_pg"] = stackling_ports(
                args,
                tmp,
                "stackling_pg",
                "Stackling (PostgreSQL)",
                {"STACKLING_DATABASE__URL": url},
            )
        res: dict[str, Any] = {"version": NEUTRON_VERSION, "workers": args.neutron_workers}
        sides["neutron"] = res
        log(f"Neutron {NEUTRON_VERSION}: setting up in {peer.data_dir} (port {peer.port})")
        try:
            peer.up()
        except PeerUnavailable as exc:
            log(f"Neutron: unavailable: {exc}")
            res["unavailable"] = str(exc)
            return
        finally:
            res["timings"] = dict(peer.timings)
        side = NetSide(
            name="neutron",
            label=f"Neutron {NEUTRON_VERSION}",
            url=peer.url,
            headers={"X-Project-Id": uuid.uuid4().hex, "X-Roles": "admin", "X-User-Id": "bench"},
            project_id="",
            pids=peer.pids,
            timeout_s=args.request_timeout,
        )
        side.project_id = side.headers["X-Project-Id"]
        res["endpoint"] = side.url
        _section(res, "ports", "Neutron: ports", lambda: ports_section(side, args))
    finally:
        peer.down()
        if "neutron" in sides:
            sides["neutron"]["log_errors"] = [
                e
                for e in log_errors(peer.data_dir / "logs", keep=20)
                if "memcache" not in e and "auto-allocated-topology" not in e
            ]
        keep_logs(args, peer.data_dir / "logs", "neutron")


# -- host snapshots -----------------------------------------------------------------------


def namespaces() -> set[str]:
    """Network namespaces of the machine."""
    return {line.split()[0] for line in sh("ip", "netns", "list").splitlines() if line.strip()}


def host_links() -> set[str]:
    """Interface names in the real host namespace."""
    return set(re.findall(r"^\d+: ([^:@]+)", sh("ip", "-o", "link", "show"), re.M))


def nft_tables(netns: str | None = None) -> set[str]:
    """nftables tables ("family name") in a namespace (None: the host's)."""
    cmd = ["nft", "list", "tables"]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    return {
        line.removeprefix("table ").strip()
        for line in sh(*cmd).splitlines()
        if line.startswith("table ")
    }


# -- 2. security-group rule to nftables on N ports ---------------------------------------


def wait_ports_active(side: NetSide, ids: set[str], timeout_s: float) -> float:
    """GET /ports?device_owner=compute:nova every 0.25 s until all `ids` are ACTIVE; seconds."""
    began = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    with side.http() as client:
        while True:
            resp = client.get(f"{side.url}/ports", params={"device_owner": "compute:nova"})
            ports = _expect(resp, 200, "GET /ports")["ports"]
            active = {p["id"] for p in ports if p["status"] == "ACTIVE"}
            if ids <= active:
                return time.perf_counter() - began
            if time.monotonic() > deadline:
                raise BenchError(f"{len(ids - active)} of {len(ids)} ports not ACTIVE")
            time.sleep(0.25)


def count_rule(host_ns: str, rule_id: str) -> int:
    """How many chains of the ruleset in `host_ns` carry the rule's comment."""
    ruleset = sh("ip", "netns", "exec", host_ns, "nft", "list", "ruleset", timeout=30)
    return ruleset.count(f"rule {rule_id}")


def watch_rule(
    host_ns: str, rule_id: str, t0: float, done: Callable[[int], bool], timeout_s: float
) -> tuple[float, float, int]:
    """Poll the ruleset every NFT_POLL_S until `done(count)`; (first change s, done s, polls)."""
    first = math.nan
    polls = 0
    due = time.perf_counter()
    start = count_rule(host_ns, rule_id)
    while True:
        n = count_rule(host_ns, rule_id) if polls else start
        now = time.perf_counter()
        polls += 1
        if n != start and math.isnan(first):
            first = now - t0
        if done(n):
            if math.isnan(first):
                first = now - t0
            return first, now - t0, polls
        if now - t0 > timeout_s:
            raise BenchError(f"rule {rule_id}: {n} chains after {timeout_s:g} s")
        due += NFT_POLL_S
        time.sleep(max(0.0, due - time.perf_counter()))


def make_taps(host_ns: str, guest_ns: str, port_ids: list[str]) -> None:
    """A veth per port: tap<11> in the host namespace, g<i> (up) in the guest namespace."""
    host_lines, guest_lines = [], []
    for i, port_id in enumerate(port_ids):
        tap = names.tap_name(port_id)
        host_lines.append(f"link add {tap} type veth peer name g{i} netns {guest_ns}")
        host_lines.append(f"link set {tap} up")
        guest_lines.append(f"link set g{i} up")
    sh("ip", "-n", host_ns, "-batch", "-", stdin="\n".join(host_lines) + "\n", check=True)
    sh("ip", "-n", guest_ns, "-batch", "-", stdin="\n".join(guest_lines) + "\n", check=True)


def sg_cycle(
    side: NetSide, host_ns: str, sg_id: str, n: int, port: int, timeout_s: float
) -> dict[str, Any]:
    """One rule: POST → in all `n` chains, DELETE → in none; timings."""
    body = {
        "security_group_rule": {
            "security_group_id": sg_id,
            "direction": "ingress",
            "ethertype": "IPv4",
            "protocol": "tcp",
            "port_range_min": port,
            "port_range_max": port,
            "remote_ip_prefix": "192.0.2.0/24",
        }
    }
    out: dict[str, Any] = {}
    with side.http() as client:
        t0 = time.perf_counter()
        resp = client.post(f"{side.url}/security-group-rules", json=body)
        out["post_ms"] = (time.perf_counter() - t0) * 1000
        rule_id = _expect(resp, 201, "POST /security-group-rules")["security_group_rule"]["id"]
        first, done, polls = watch_rule(host_ns, rule_id, t0, lambda c: c >= n, timeout_s)
        out |= {"add_first_s": first, "add_all_s": done, "add_polls": polls}
        t0 = time.perf_counter()
        resp = client.delete(f"{side.url}/security-group-rules/{rule_id}")
        out["delete_ms"] = (time.perf_counter() - t0) * 1000
        _expect(resp, 204, "DELETE /security-group-rules")
        first, done, polls = watch_rule(host_ns, rule_id, t0, lambda c: c == 0, timeout_s)
        out |= {"del_first_s": first, "del_all_s": done, "del_polls": polls}
    return out


def sg_section(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Section 2: a Stackling whose agent lives in the bench's namespace; rule → nft on N ports."""
    if os.geteuid() != 0:
        return {"unavailable": "needs root (network namespaces)"}
    tag = "bsg" + secrets.token_hex(3) + "-"
    host_ns, guest_ns = f"{tag}host", f"{tag}guest"
    dhcp_dir = Path(tempfile.mkdtemp(prefix=tag, dir="/tmp"))
    dhcp_dir.chmod(0o755)
    before_links, before_tables = host_links(), nft_tables()
    stk = Stackling(tmp / "stackling_sg", free_port())
    env = {
        **BASE_ENV,
        "STACKLING_NETWORK__AGENT_ENABLED": "true",
        "STACKLING_NETWORK__HOST_NETNS": host_ns,
        "STACKLING_NETWORK__TAG": tag,
        "STACKLING_NETWORK__DHCP_DIR": str(dhcp_dir),
        "STACKLING_NETWORK__AGENT_HOST": AGENT_HOST,
        "STACKLING_NETWORK__PUBLIC_NETWORK_CIDR": "",
    }
    out: dict[str, Any] = {"env": env, "ports": args.sg_ports}
    try:
        for ns in (host_ns, guest_ns):
            sh("ip", "netns", "add", ns, check=True)
        sh("ip", "-n", host_ns, "link", "set", "lo", "up")
        log(f"sg: starting Stackling with its agent in namespace {host_ns}")
        out["up_detach_s"] = round(stk.up(env=env), 2)
        side = stackling_side("stackling_sg", "Stackling", stk, args.request_timeout)
        out["quota_put"] = raise_quotas(side, port=-1, security_group_rule=-1)
        with side.http() as client:
            sg = side.create(client, "security_group", name="bench-sg")
            net = side.create(client, "network", name="bench-sg")
            side.create(
                client,
                "subnet",
                network_id=net["id"],
                ip_version=4,
                cidr=SG_CIDR,
                enable_dhcp=False,
            )
        runs = create_ports(
            side,
            net["id"],
            args.sg_ports,
            args.concurrency,
            "bench-sg",
            **{
                "binding:host_id": AGENT_HOST,
                "device_owner": "compute:nova",
                "device_id": str(uuid.uuid4()),
                "security_groups": [sg["id"]],
            },
        )
        errors = [r["error"] for r in runs if "error" in r]
        if errors:
            raise BenchError(f"{len(errors)} port creations failed: {errors[0]}")
        ids = [r["id"] for r in runs]
        make_taps(host_ns, guest_ns, ids)
        out["to_active_s"] = round(wait_ports_active(side, set(ids), args.sg_timeout), 2)
        log(f"sg: {len(ids)} ports ACTIVE after {out['to_active_s']} s; warm-up rule")
        out["warmup"] = sg_cycle(side, host_ns, sg["id"], len(ids), 29999, args.sg_timeout)
        cycles = []
        for i in range(args.sg_repeats):
            c = sg_cycle(side, host_ns, sg["id"], len(ids), 30000 + i, args.sg_timeout)
            log(
                f"sg: rule {i + 1}: in all {len(ids)} chains after {c['add_all_s']:.3f} s, "
                f"gone after {c['del_all_s']:.3f} s"
            )
            cycles.append(c)
        out["cycles"] = cycles
        for key in ("add_first_s", "add_all_s", "del_first_s", "del_all_s", "post_ms"):
            out[key] = stats([c[key] for c in cycles])
        out["ruleset_bytes"] = len(
            sh("ip", "netns", "exec", host_ns, "nft", "list", "ruleset", timeout=30)
        )
    except (BenchError, RuntimeError, subprocess.TimeoutExpired, httpx.HTTPError, OSError) as exc:
        log(f"sg: FAILED: {exc}")
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        stk.down()
        out["log_errors"] = log_errors(stk.data_dir / "logs", keep=20)
        keep_logs(args, stk.data_dir / "logs", "stackling_sg")
        for ns in sorted(namespaces()):
            if ns.startswith(tag):
                sh("ip", "netns", "delete", ns)
        shutil.rmtree(dhcp_dir, ignore_errors=True)
        left = [ns for ns in namespaces() if ns.startswith(tag)]
        # Ours by name only: other tests may add links of their own meanwhile.
        added_links = sorted(
            x for x in host_links() - before_links if x.startswith((*LINK_PREFIXES, "br-stack"))
        )
        added_tables = sorted(x for x in nft_tables() - before_tables if "stackling" in x)
        out["leftovers"] = {"namespaces": left, "links": added_links, "tables": added_tables}
        if left or added_links or added_tables:
            log(f"sg: the real host changed: {out['leftovers']}")
    return out


# -- 3. server create -> ping on its floating IP -----------------------------------------


def fip_missing() -> list[str]:
    """Why the FIP section cannot run here (empty when it can)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("not root")
    if shutil.which("libvirtd") is None:
        reasons.append("libvirtd not installed")
    if shutil.which("ping") is None:
        reasons.append("no ping")
    return reasons


def pings(address: str) -> bool:
    """One ICMP echo to `address` (1 s timeout)."""
    return (
        subprocess.run(
            ["ping", "-c1", "-W1", "-n", address], capture_output=True, timeout=10, check=False
        ).returncode
        == 0
    )


def wait_image(side: NetSide, client: httpx.Client, timeout_s: float) -> str:
    """The id of the active test image, polled every 2 s."""
    deadline = time.monotonic() + timeout_s
    while True:
        resp = client.get(f"{side.image}/v2/images", params={"name": TEST_IMAGE})
        images = _expect(resp, 200, "GET /v2/images")["images"]
        if images and images[0]["status"] == "active":
            return str(images[0]["id"])
        if time.monotonic() > deadline:
            raise BenchError(f"no active {TEST_IMAGE} after {timeout_s:g} s")
        time.sleep(2)


def fip_boot(
    side: NetSide,
    client: httpx.Client,
    image_id: str,
    net_id: str,
    public_id: str,
    i: int,
    timeout_s: float,
) -> dict[str, Any]:
    """POST /servers → its port → POST /floatingips → ping answers; seconds from the POST."""
    nova = {"X-OpenStack-Nova-API-Version": MICROVERSION}
    body = {
        "server": {
            "name": f"bench-fip-{i}",
            "imageRef": image_id,
            "flavorRef": FLAVOR,
            "networks": [{"uuid": net_id}],
        }
    }
    t0 = time.perf_counter()
    resp = client.post(f"{side.compute}/servers", json=body, headers=nova)
    server_id = _expect(resp, 202, "POST /servers")["server"]["id"]
    out: dict[str, Any] = {"server_id": server_id}
    deadline = t0 + timeout_s
    while True:
        resp = client.get(f"{side.url}/ports", params={"device_id": server_id})
        ports = _expect(resp, 200, "GET /ports")["ports"]
        if ports:
            break
        if time.perf_counter() > deadline:
            raise BenchError(f"server {server_id}: no port after {timeout_s:g} s")
        time.sleep(API_POLL_S)
    out["port_s"] = time.perf_counter() - t0
    fip = side.create(client, "floatingip", floating_network_id=public_id, port_id=ports[0]["id"])
    out["fip"] = address = fip["floating_ip_address"]
    out["fip_id"] = fip["id"]
    out["fip_s"] = time.perf_counter() - t0
    active = False
    attempts = 0
    while time.perf_counter() < deadline:
        attempts += 1
        if pings(address):
            out["ping_s"] = time.perf_counter() - t0
            break
        if not active:
            resp = client.get(f"{side.compute}/servers/{server_id}", headers=nova)
            if resp.status_code == 200:
                status = resp.json()["server"]["status"]
                if status == "ACTIVE":
                    active = True
                    out["active_seen_s"] = time.perf_counter() - t0
                elif status == "ERROR":
                    raise BenchError(f"server {server_id} ERROR: {resp.text[:300]}")
        time.sleep(0.2)
    out["pings"] = attempts
    if "ping_s" not in out:
        out["error"] = f"{address} did not answer within {timeout_s:g} s (server active: {active})"
    return out


def delete_server(side: NetSide, client: httpx.Client, server_id: str, timeout_s: float) -> None:
    """DELETE a server and wait (bounded) for 404."""
    client.delete(f"{side.compute}/servers/{server_id}")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.get(f"{side.compute}/servers/{server_id}").status_code == 404:
            return
        time.sleep(0.5)


def teardown_cloud(side: NetSide, timeout_s: float = 120) -> None:
    """Servers, FIPs, router interfaces, routers and networks (but `public`), through the API."""
    with side.http() as client:
        with contextlib.suppress(httpx.HTTPError, KeyError):
            for server in client.get(f"{side.compute}/servers").json()["servers"]:
                delete_server(side, client, server["id"], timeout_s)
        with contextlib.suppress(httpx.HTTPError, KeyError):
            for fip in client.get(f"{side.url}/floatingips").json()["floatingips"]:
                client.delete(f"{side.url}/floatingips/{fip['id']}")
        with contextlib.suppress(httpx.HTTPError, KeyError):
            for router in client.get(f"{side.url}/routers").json()["routers"]:
                ports = client.get(
                    f"{side.url}/ports",
                    params={"device_id": router["id"], "device_owner": "network:router_interface"},
                ).json()["ports"]
                for port in ports:
                    client.put(
                        f"{side.url}/routers/{router['id']}/remove_router_interface",
                        json={"port_id": port["id"]},
                    )
                client.delete(f"{side.url}/routers/{router['id']}")
        with contextlib.suppress(httpx.HTTPError, KeyError):
            for net in client.get(f"{side.url}/networks").json()["networks"]:
                if net["name"] != "public":
                    client.delete(f"{side.url}/networks/{net['id']}")


def fip_section(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Section 3: boots under libvirt TCG, timed from POST /servers to a ping on the FIP."""
    missing = fip_missing()
    if missing:
        return {"unavailable": "; ".join(missing)}
    from compute import destroy_domains  # the same last resort as the compute bench

    tag = "bfp" + secrets.token_hex(3) + "-"
    before = {"ns": namespaces(), "links": host_links(), "tables": nft_tables()}
    stk = Stackling(tmp / "stackling_fip", free_port())
    dhcp_dir = Path(tempfile.mkdtemp(prefix=tag, dir="/tmp"))
    dhcp_dir.chmod(0o755)
    env = {
        "STACKLING_COMPUTE__DRIVER": "libvirt",
        "STACKLING_IMAGE__REGISTER_TEST_IMAGE": "true",
        "STACKLING_COMPUTE__SHUTDOWN_TIMEOUT_S": "5",
        "STACKLING_NETWORK__AGENT_ENABLED": "true",
        "STACKLING_NETWORK__TAG": tag,
        "STACKLING_NETWORK__DHCP_DIR": str(dhcp_dir),
    }
    out: dict[str, Any] = {"env": env}
    side: NetSide | None = None
    ours: set[str] = set()
    try:
        log(f"fip: starting Stackling (libvirt, agent on the host, tag {tag})")
        out["up_detach_s"] = round(stk.up(env=env, timeout_s=300), 2)
        side = stackling_side("stackling_fip", "Stackling", stk, args.request_timeout)
        with side.http() as client:
            began = time.perf_counter()
            image_id = wait_image(side, client, args.image_timeout)
            out["test_image_wait_s"] = round(time.perf_counter() - began, 1)
            nets = _expect(client.get(f"{side.url}/networks", params={"name": "public"}), 200, "")
            if not nets["networks"]:
                raise BenchError("no `public` network")
            public_id = nets["networks"][0]["id"]
            net = side.create(client, "network", name="bench-fip")
            sub = side.create(
                client, "subnet", network_id=net["id"], ip_version=4, cidr=FIP_CIDR, name="bench"
            )
            router = side.create(
                client, "router", name="bench-fip", external_gateway_info={"network_id": public_id}
            )
            resp = client.put(
                f"{side.url}/routers/{router['id']}/add_router_interface",
                json={"subnet_id": sub["id"]},
            )
            _expect(resp, 200, "add_router_interface")
            groups = _expect(
                client.get(
                    f"{side.url}/security-groups",
                    params={"name": "default", "project_id": side.project_id},
                ),
                200,
                "GET /security-groups",
            )["security_groups"]
            side.create(
                client,
                "security_group_rule",
                security_group_id=groups[0]["id"],
                direction="ingress",
                ethertype="IPv4",
                protocol="icmp",
            )
            runs = []
            for i in range(args.fip_runs):
                try:
                    r = fip_boot(
                        side, client, image_id, net["id"], public_id, i, args.guest_timeout
                    )
                except BenchError as exc:
                    r = {"error": str(exc)}
                runs.append(r)
                ours |= our_links(side)
                log(f"fip: run {i + 1}: { ({k: v for k, v in r.items() if k != 'server_id'}) }")
                if args.fip_keep_servers:
                    continue  # deleted at the end: every boot gets an address never leased
                if "server_id" in r:
                    delete_server(side, client, r["server_id"], 120)
                if "fip_id" in r:
                    client.delete(f"{side.url}/floatingips/{r['fip_id']}")
            out["runs"] = runs
            ok = [r["ping_s"] for r in runs if "ping_s" in r]
            out["ok"] = len(ok)
            out["ping_s"] = stats(ok)
            out["port_s"] = stats([r["port_s"] for r in runs if "port_s" in r])
            out["active_seen_s"] = stats([r["active_seen_s"] for r in runs if "active_seen_s" in r])
    except (BenchError, RuntimeError, subprocess.TimeoutExpired, httpx.HTTPError, OSError) as exc:
        log(f"fip: FAILED: {exc}")
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if side is not None:
            log("fip: deleting servers, FIPs, routers and networks through the API")
            ours |= our_links(side)
            teardown_cloud(side)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and any(n.startswith(tag) for n in namespaces()):
                time.sleep(1)
        stk.down()
        out["leftover_domains"] = destroy_domains(stk.data_dir)
        out["log_errors"] = log_errors(stk.data_dir / "logs", keep=20)
        keep_logs(args, stk.data_dir / "logs", "stackling_fip")
        out["removed"], out["left_shared"] = remove_new(before, tag, ours)
        shutil.rmtree(dhcp_dir, ignore_errors=True)
    return out


def our_links(side: NetSide) -> set[str]:
    """Interface names the cloud's data plane gives its ports, networks and segments."""
    out: set[str] = set()
    with side.http() as client, contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
        for port in client.get(f"{side.url}/ports").json()["ports"]:
            out.add(names.tap_name(port["id"]))
        for net in client.get(f"{side.url}/networks").json()["networks"]:
            out.add(names.bridge_name(net["id"]))
            if net.get("provider:network_type") == "vxlan":
                out.add(names.vxlan_name(int(net["provider:segmentation_id"])))
    return out


def remove_new(
    before: dict[str, set[str]], tag: str, ours: set[str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Remove what the FIP cloud left on the host; (removed, left because maybe shared).

    Other clouds (tests of other engineers) may run their data plane in the real
    host namespace at the same time, with the same kinds of names and the same
    host tables. So: namespaces with this run's tag, and links named after this
    cloud's own ports, networks and segments, are removed; br-stackling and the
    stackling_* host tables only when they were not there before and no other
    cloud's data plane is on the host (no other bridge/tap/router link, nothing
    else on br-stackling, no other qrouter-/qdhcp- namespace); else they are left
    and reported.
    """
    removed: dict[str, list[str]] = {"namespaces": [], "links": [], "tables": []}
    left: dict[str, list[str]] = {"links": [], "tables": []}
    for ns in sorted(namespaces()):
        if ns.startswith(tag):
            sh("ip", "netns", "delete", ns)
            removed["namespaces"].append(ns)
    links = host_links()
    for link in sorted(links & ours):
        sh("ip", "link", "delete", link)
        removed["links"].append(link)
    links -= ours
    others = [x for x in links if x.startswith(LINK_PREFIXES)]
    others += re.findall(r"^\d+: ([^:@]+).*master br-stackling", sh("ip", "-o", "link"), re.M)
    others += [ns for ns in namespaces() if "qrouter-" in ns or "qdhcp-" in ns]
    shared = []
    if "br-stackling" in links and "br-stackling" not in before["links"]:
        shared.append("br-stackling")
    tables = [t for t in sorted(nft_tables() - before["tables"]) if "stackling" in t]
    if others:
        left = {"links": shared, "tables": tables}
        if shared or tables:
            log(f"fip: left {left} on the host: another cloud's data plane is there ({others[:5]})")
    else:
        for link in shared:
            sh("ip", "link", "delete", link)
            removed["links"].append(link)
        for table in tables:
            sh("nft", "delete", "table", *table.split())
            removed["tables"].append(table)
    if any(removed.values()):
        log(f"fip: removed what the cloud left on the host: {removed}")
    return removed, left


# -- the run and the report ----------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every section asked for; everything measured."""
    info: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "loadavg_at_start": os.getloadavg(),
            "python": platform.python_version(),
        },
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "sides": {},
    }
    args.tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="stackling-bench-network-", dir=args.tmp_dir))
    try:
        if "ports" in args.sections:
            run_ports(args, tmp, info)
            info["machine"]["loadavg_after_ports"] = os.getloadavg()
        if "sg" in args.sections:
            info["sg"] = sg_section(args, tmp)
            info["machine"]["loadavg_after_sg"] = os.getloadavg()
        if "fip" in args.sections:
            info["fip"] = fip_section(args, tmp)
        info["machine"]["loadavg_at_end"] = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["ratios"] = ratios(info)
    return info


def ratios(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Stackling's speed-up over Neutron for the port figures."""
    sides = info["sides"]
    peer = sides.get("neutron", {}).get("ports", {})
    rows: list[dict[str, Any]] = []
    if not peer.get("ok"):
        return rows
    for name in ("stackling", "stackling_pg"):
        mine = sides.get(name, {}).get("ports", {})
        if not mine.get("ok"):
            continue
        label = "SQLite" if name == "stackling" else "PostgreSQL"
        for figure, a, b, lower in (
            ("ports/s", mine["per_s"], peer["per_s"], False),
            ("p50 ms", mine["ms"]["p50"], peer["ms"]["p50"], True),
            ("p95 ms", mine["ms"]["p95"], peer["ms"]["p95"], True),
            (
                "server CPU ms/port",
                mine["cpu"]["server_cpu_s"] * 1000 / mine["ok"],
                peer["cpu"]["server_cpu_s"] * 1000 / peer["ok"],
                True,
            ),
        ):
            if a and b and not (math.isnan(a) or math.isnan(b)):
                rows.append(
                    {
                        "figure": f"{figure} (Stackling on {label})",
                        "stackling": a,
                        "neutron": b,
                        "speedup": b / a if lower else a / b,
                    }
                )
    return rows


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def report(info: dict[str, Any]) -> None:
    """Print the figures on stdout."""
    opts, m = info["options"], info["machine"]
    print(f"# Network benchmark ({info['started_at']}, {m['cores']} cores)\n")
    notes: list[str] = []
    if info["sides"]:
        print(
            f"POST /v2.0/ports: {opts['ports']} ports on one network ({PORT_CIDR}) at "
            f"concurrency {opts['concurrency']}, one kept-alive connection per worker, after "
            f"{WARMUP_PORTS} untimed warm-up ports\n"
        )
        print(
            "| side | ok | errors | ports/s | p50 ms | p95 ms | p99 ms | max ms | wall s "
            "| server cpu s | client cpu s | others cpu s | quota PUT |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        labels = {
            "stackling": "Stackling (SQLite)",
            "stackling_pg": "Stackling (PostgreSQL)",
            "neutron": f"Neutron {NEUTRON_VERSION} (PostgreSQL)",
        }
        for name, side in info["sides"].items():
            p = side.get("ports", {})
            if "unavailable" in side or "ok" not in p:
                why = side.get("unavailable") or p.get("error", "?")
                print(f"| {labels[name]} | not measured: {why[:200]} |")
                continue
            ms, cpu = p["ms"], p["cpu"]
            print(
                f"| {labels[name]} | {p['ok']} | {p['errors']} | {_f(p['per_s'])} "
                f"| {_f(ms['p50'])} | {_f(ms['p95'])} | {_f(ms['p99'])} | {_f(ms['max'])} "
                f"| {_f(p['wall_s'], 2)} | {cpu['server_cpu_s']:.2f} | {cpu['client_cpu_s']:.2f} "
                f"| {cpu['other_cpu_s']:.2f} | {p['quota_put']['status']} |"
            )
            if p.get("error_samples"):
                notes.append(f"{labels[name]} errors: " + " | ".join(p["error_samples"]))
            if side.get("log_errors"):
                notes.append(
                    f"{labels[name]}: {len(side['log_errors'])} ERROR line(s) in its log, "
                    f"last: {side['log_errors'][-1][:200]}"
                )
        print()
        if info["ratios"]:
            print(
                "Stackling speed-up (Neutron/Stackling for times, Stackling/Neutron for rates):\n"
            )
            print("| figure | Stackling | Neutron | speed-up |")
            print("| --- | --- | --- | --- |")
            for r in info["ratios"]:
                print(
                    f"| {r['figure']} | {r['stackling']:.2f} | {r['neutron']:.2f} "
                    f"| {r['speedup']:.1f}x |"
                )
            print()
        n = info["sides"].get("neutron", {})
        if n.get("timings"):
            notes.append(
                f"Neutron: {n.get('workers')} gunicorn sync workers, ML2 (local/flat/vxlan, no "
                f"mechanism drivers), noauth, fake RPC transport, PostgreSQL 15; set-up "
                f"{n['timings']}"
            )
    sg = info.get("sg")
    if sg is not None:
        print(
            f"Security-group rule → nftables on {opts['sg_ports']} ports (Stackling only; agent "
            f"in a namespace; `nft list ruleset` polled every {NFT_POLL_S * 1000:.0f} ms; "
            "seconds from the start of the API call)\n"
        )
        if "unavailable" in sg or "cycles" not in sg:
            print(f"not measured: {sg.get('unavailable') or sg.get('error')}\n")
        else:
            print(
                "| step | runs | first port p50 s | all ports p50 s | all ports max s "
                "| API call p50 ms |"
            )
            print("| --- | --- | --- | --- | --- | --- |")
            runs = len(sg["cycles"])
            dms = stats([c["delete_ms"] for c in sg["cycles"]])
            print(
                f"| POST rule → in every chain | {runs} | {_f(sg['add_first_s']['p50'], 3)} "
                f"| {_f(sg['add_all_s']['p50'], 3)} | {_f(sg['add_all_s']['max'], 3)} "
                f"| {_f(sg['post_ms']['p50'])} |"
            )
            print(
                f"| DELETE rule → in no chain | {runs} | {_f(sg['del_first_s']['p50'], 3)} "
                f"| {_f(sg['del_all_s']['p50'], 3)} | {_f(sg['del_all_s']['max'], 3)} "
                f"| {_f(dms['p50'])} |"
            )
            print(
                f"\nports to ACTIVE after their taps appeared: {sg['to_active_s']} s; ruleset "
                f"{sg['ruleset_bytes'] / 1024:.0f} KiB; per run (add/del all, s): "
                + "; ".join(f"{c['add_all_s']:.3f}/{c['del_all_s']:.3f}" for c in sg["cycles"])
                + "\n"
            )
        if any(sg.get("leftovers", {}).values()):
            print(f"changed on the real host: {sg['leftovers']}\n")
        if sg.get("log_errors"):
            notes.append(
                f"sg cloud: {len(sg['log_errors'])} ERROR line(s), "
                f"last: {sg['log_errors'][-1][:200]}"
            )
    fip = info.get("fip")
    if fip is not None:
        print(
            f"Server create → ping on its floating IP (Stackling only; libvirt, {TEST_IMAGE} on "
            "s1.nano; seconds from POST /servers)\n"
        )
        if "unavailable" in fip:
            print(f"not measured: {fip['unavailable']}\n")
        elif "runs" not in fip:
            print(f"failed: {fip.get('error')}\n")
        else:
            print(
                "| runs | answered | ping p50 s | min / max s | port seen p50 s "
                "| ACTIVE seen p50 s |"
            )
            print("| --- | --- | --- | --- | --- | --- |")
            ps = fip["ping_s"]
            print(
                f"| {len(fip['runs'])} | {fip['ok']} | {_f(ps['p50'], 2)} | {_f(ps['min'], 2)} / "
                f"{_f(ps['max'], 2)} | {_f(fip['port_s']['p50'], 2)} "
                f"| {_f(fip['active_seen_s']['p50'], 2)} |"
            )
            print(
                "\nper run, port seen / FIP created / ping answered (s): "
                + "; ".join(
                    f"{_f(r.get('port_s'), 2)} / {_f(r.get('fip_s'), 2)} / {_f(r.get('ping_s'), 2)}"
                    for r in fip["runs"]
                )
                + (" (servers kept between runs)" if opts.get("fip_keep_servers") else "")
            )
            errs = [r["error"] for r in fip["runs"] if "error" in r]
            if errs:
                print("\nerrors: " + " | ".join(errs))
            print(f"\ntest image wait {fip.get('test_image_wait_s')} s\n")
        if fip.get("log_errors"):
            print(
                f"{len(fip['log_errors'])} ERROR line(s) in its log, "
                f"last: {fip['log_errors'][-1][:300]}\n"
            )
        if any(fip.get("left_shared", {}).values()):
            print(
                f"left on the host (another cloud's data plane was there): {fip['left_shared']}\n"
            )
        if any(fip.get("removed", {}).values()):
            print(f"removed after the run: {fip['removed']}\n")
    loads = [
        f"{k.removeprefix('loadavg_')} {v[0]:.2f}" for k, v in m.items() if k.startswith("loadavg")
    ]
    notes.append("Load average (1 min): " + ", ".join(loads) + ".")
    print("\n".join(notes))


def main() -> None:
    """Parse arguments, run, print, optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ports", type=int, default=1000, help="ports created in section 1")
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--sections", default=",".join(SECTIONS), help="of ports,sg,fip")
    ap.add_argument("--skip-peer", action="store_true", help="no Neutron (nor Stackling on PG)")
    ap.add_argument("--no-stackling-pg", dest="stackling_pg", action="store_false")
    ap.add_argument("--neutron-workers", type=int, default=2)
    ap.add_argument("--neutron-venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--sg-ports", type=int, default=100)
    ap.add_argument("--sg-repeats", type=int, default=5)
    ap.add_argument("--sg-timeout", type=float, default=120.0)
    ap.add_argument("--fip-runs", type=int, default=3)
    ap.add_argument(
        "--fip-keep-servers",
        action="store_true",
        help="keep each FIP run's server until the end (no fixed IP is reused between runs)",
    )
    ap.add_argument("--guest-timeout", type=float, default=300.0, help="per FIP boot")
    ap.add_argument("--image-timeout", type=float, default=1800.0, help="for the cirros image")
    ap.add_argument("--request-timeout", type=float, default=120.0)
    ap.add_argument("--tmp-dir", type=Path, default=Path("/var/tmp"), help="where data dirs go")
    ap.add_argument("--keep-logs", type=Path, default=None, help="copy each cloud's logs/ here")
    ap.add_argument("--output", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    if bad := set(args.sections) - set(SECTIONS):
        ap.error(f"unknown sections {sorted(bad)}")
    if min(args.ports, args.concurrency, args.sg_ports, args.sg_repeats, args.fip_runs) < 1:
        ap.error("counts must be >= 1")
    signal.signal(signal.SIGTERM, _fail)
    signal.signal(signal.SIGHUP, _fail)
    info = run(args)
    report(info)
    if args.output:
        args.output.write_text(json.dumps(info, indent=2, default=str) + "\n")
        print(f"\nJSON: {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
