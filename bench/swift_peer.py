"""The real OpenStack Swift from PyPI as a benchmark peer: proxy, account, container, object.

/work/shared/peers/openstack has no Swift, so the object bench sets one up
itself. What works and what was needed (found by trying, on Python 3.11):

- Version: swift 2.36.4, the last 2.36 release, which is the 2025.2 "Flamingo"
  series of the peer's Keystone 30 / Nova 34 (PyPI also has 2.37 and 2.38).
- Install: a virtualenv cached in `--swift-venv` (default
  /var/tmp/stackling-bench/swift-venv, a few seconds from a warm pip cache)
  with `swift==2.36.4`, pinned by the OpenStack peer's constraints.txt minus
  its python-dateutil pin, as cinder_peer.py does (the same constraint
  helper). That brings eventlet 0.41.3, pyeclib 1.8.0 and xattr 1.3.0.
  pyeclib 1.8.0's manylinux wheel bundles liberasurecode (pyeclib.libs/), so
  Debian's liberasurecode1 / liberasurecode-dev are NOT needed (they were
  installed on this machine while trying; the wheel does not use them).
  A `.installed` marker says the build finished; without it the venv is rebuilt.
- xattr: the object server keeps metadata in `user.*` extended attributes of
  the data files; /var/tmp (ext4 here) has them. `check_xattr` says so at
  start-up instead of letting the first PUT fail with a 503.
- memcached: Debian's `memcached` (apt-get install memcached) on a port of its
  own. It is not optional: tempauth keeps its tokens only in memcache (without
  it GET /auth/v1.0 fails), and the proxy caches account and container info in
  it; without memcache every object request would first HEAD the account and
  the container on their servers. A default Swift deployment runs it too.
- Auth: tempauth, one user `admin:admin` with key `admin` (.admin
  .reseller_admin), the account AUTH_admin. Keystone auth (authtoken +
  keystoneauth) would need a Keystone, which this peer does not start: the
  OpenStack peer's Keystone is not up during this bench, and a token check
  that reaches Keystone would be cached by authtoken anyway.
- Processes: the proxy, account, container and object servers (eventlet WSGI
  servers), each with a config file written here and in its own process group,
  on 127.0.0.1 with ports of their own; `workers = N` (default 1) in every
  server, which forks N worker processes under a parent. They are started
  through a small launcher that calls the entry point of their console script
  (swift-proxy-server is `swift.proxy.server:main`, ...) after pointing Swift
  at the peer's swift.conf: the servers read /etc/swift/swift.conf before they
  look at their `swift_dir` option, and nothing is written under /etc. No
  replicators, auditors, updaters or expirer: one replica needs no
  replication, and the object server updates container listings synchronously
  on each PUT/DELETE.
- Rings: swift-ring-builder, part power 8, 1 replica, min_part_hours 1, one
  device `d1` (weight 1) per ring on the server's port; devices under the data
  dir with `mount_check = false`.
- Proxy pipeline: the default sample's, minus container_sync, ratelimit,
  container-quotas, account-quotas and symlink: catch_errors gatekeeper
  healthcheck proxy-logging cache listing_formats bulk tempurl tempauth copy
  slo dlo versioned_writes proxy-logging proxy-server.
- Logs: Swift logs through syslog (/dev/log). This machine has no /dev/log, so
  Swift's logger falls back to UDP 127.0.0.1:514, where nobody listens: the
  access-log lines are formatted and sent (a default deployment's cost) and
  dropped. The log files under logs/ hold only the servers' stdout/stderr
  (start-up errors, tracebacks).
- Swift fsyncs every object it writes (DiskFileWriter), and its account and
  container databases are SQLite files; nothing here turns that off. Its
  object server also drops what it wrote and what it read from the page cache
  (fadvise DONTNEED) unless the request had no token (`keep_cache_private`
  false, the default), so the bench's authenticated GETs read from the disk;
  defaults are kept, as a deployment has them.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import httpx
from cinder_peer import constraints
from loadgen import group_members
from procs import free_port, log

SWIFT_VERSION = "2.36.4"
DEFAULT_VENV = Path("/var/tmp/stackling-bench/swift-venv")
PACKAGES = [f"swift=={SWIFT_VERSION}"]
MEMCACHED = "/usr/bin/memcached"
PART_POWER = 8
USER, KEY = "admin:admin", "admin"
SERVERS = ("account", "container", "object")

# Swift's servers read /etc/swift/swift.conf before they look at their swift_dir
# option (wsgi._initrp validates the hash prefix first), so each server runs
# through this launcher, which points Swift at the peer's own swift.conf and then
# calls the server's console-script entry point (`swift.proxy.server:main` ...).
LAUNCHER = """import importlib
import sys

from swift.common import utils

utils.SWIFT_CONF_FILE = sys.argv[1]
server = importlib.import_module(sys.argv[2])
sys.argv[1:] = sys.argv[3:]
server.main()
"""
# The module of each server's console script (swift-<kind>-server).
SERVER_MODULES = {
    "account": "swift.account.server",
    "container": "swift.container.server",
    "object": "swift.obj.server",
    "proxy": "swift.proxy.server",
}

SWIFT_CONF = """[swift-hash]
swift_hash_path_prefix = bench
swift_hash_path_suffix = bench

[storage-policy:0]
name = Policy-0
default = yes
"""

SERVER_CONF = """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = {workers}
user = {user}
devices = {devices}
mount_check = false
swift_dir = {etc}
log_name = {kind}-server

[pipeline:main]
pipeline = healthcheck recon {kind}-server

[app:{kind}-server]
use = egg:swift#{kind}

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:recon]
use = egg:swift#recon
recon_cache_path = {state}
"""

PROXY_CONF = """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = {workers}
user = {user}
swift_dir = {etc}
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk
    tempurl tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{memcached}

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:bulk]
use = egg:swift#bulk

[filter:tempurl]
use = egg:swift#tempurl

[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = {key} .admin .reseller_admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
"""


class PeerUnavailable(RuntimeError):
    """The Swift peer could not be installed or started; the message says why."""


def _run(cmd: list[str], logfile: Path, timeout_s: float, ok: tuple[int, ...] = (0,)) -> None:
    with open(logfile, "a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        try:
            proc = subprocess.run(
                cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise PeerUnavailable(f"{cmd[0]} ran past {timeout_s:g} s; see {logfile}") from None
    if proc.returncode not in ok:
        tail = logfile.read_text(errors="replace").splitlines()[-5:]
        raise PeerUnavailable(f"{' '.join(cmd[:3])} failed ({proc.returncode}): {tail}")


def ensure_venv(venv: Path, logfile: Path) -> float:
    """Build the cached virtualenv unless its `.installed` marker is there; seconds spent."""
    if (venv / ".installed").is_file():
        return 0.0
    began = time.perf_counter()
    log(f"installing Swift {SWIFT_VERSION} into {venv} (once)")
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    _run(["python3", "-m", "venv", str(venv)], logfile, 120)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    _run([*pip, *PACKAGES, *constraints(venv)], logfile, 1200)
    (venv / ".installed").write_text(" ".join(PACKAGES) + "\n")
    return time.perf_counter() - began


def check_xattr(directory: Path) -> None:
    """Fail early when the data dir's file system has no user extended attributes."""
    probe = directory / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.swift.probe", b"1")
    except OSError as exc:
        raise PeerUnavailable(f"no user xattrs on {directory}: {exc}") from None
    finally:
        probe.unlink()


class SwiftPeer:
    """One replica of Swift (proxy, account, container, object) plus memcached in one data dir.

    Use as a context manager, or call up() and down(); `storage_url` and `token`
    are set once up() returns.
    """

    def __init__(
        self, data_dir: Path, port: int, workers: int = 1, venv: Path = DEFAULT_VENV
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.workers = workers
        self.venv = venv
        self.ports = {kind: free_port() for kind in (*SERVERS, "memcached")}
        # Process-group leaders by name, in start order.
        self.groups: dict[str, subprocess.Popen[bytes]] = {}
        self.timings: dict[str, float] = {}
        self.storage_url = ""
        self.token = ""

    def __enter__(self) -> SwiftPeer:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def logs(self) -> Path:
        """The peer's log dir."""
        return self.data_dir / "logs"

    @property
    def etc(self) -> Path:
        """Config files and rings (the servers' swift_dir)."""
        return self.data_dir / "etc"

    @property
    def devices(self) -> Path:
        """The devices dir; each ring's one device `d1` is below it."""
        return self.data_dir / "srv"

    def bin(self, name: str) -> str:
        """A console script of the venv."""
        return str(self.venv / "bin" / name)

    def configure(self) -> None:
        """Write swift.conf and the four server configs; build the three rings."""
        etc, state = self.etc, self.data_dir / "state"
        (self.devices / "d1").mkdir(parents=True, exist_ok=True)
        check_xattr(self.devices / "d1")
        # Workers drop privileges to `user` (default "swift", absent here): keep ours.
        user = pwd.getpwuid(os.getuid()).pw_name
        (etc / "swift.conf").write_text(SWIFT_CONF)
        (etc / "bench_swift_launcher.py").write_text(LAUNCHER)
        for kind in SERVERS:
            (etc / f"{kind}-server.conf").write_text(
                SERVER_CONF.format(
                    kind=kind,
                    port=self.ports[kind],
                    workers=self.workers,
                    devices=self.devices,
                    etc=etc,
                    state=state,
                    user=user,
                )
            )
        (etc / "proxy-server.conf").write_text(
            PROXY_CONF.format(
                port=self.port,
                workers=self.workers,
                etc=etc,
                memcached=self.ports["memcached"],
                key=KEY,
                user=user,
            )
        )
        setup_log = self.logs / "setup.log"
        builder = self.bin("swift-ring-builder")
        for kind in SERVERS:
            ring = str(etc / f"{kind}.builder")
            _run([builder, ring, "create", str(PART_POWER), "1", "1"], setup_log, 60)
            device = f"r1z1-127.0.0.1:{self.ports[kind]}/d1"
            _run([builder, ring, "add", device, "1"], setup_log, 60)
            # 1 means "rebalanced with warnings" (a one-device ring has nothing to balance).
            _run([builder, ring, "rebalance"], setup_log, 60, ok=(0, 1))

    def _start(self, name: str, cmd: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "STACKLING_"))}
        with open(self.logs / f"{name}.log", "a") as out:
            self.groups[name] = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.data_dir,
                start_new_session=True,
            )

    def _wait_port(self, port: int, name: str, deadline: float) -> None:
        while True:
            self._check_alive()
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            if time.monotonic() > deadline:
                raise PeerUnavailable(f"{name} not listening on {port}; see {self.logs}")
            time.sleep(0.1)

    def _check_alive(self) -> None:
        for name, proc in self.groups.items():
            if proc.poll() is not None:
                raise PeerUnavailable(f"{name} exited ({proc.returncode}); see {self.logs}")

    def up(self, timeout_s: float = 120) -> None:
        """Install if needed, configure, start everything, wait for a token and the account."""
        for sub in ("etc", "state", "logs"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        if not Path(MEMCACHED).exists():
            raise PeerUnavailable("memcached is not installed (apt-get install memcached)")
        self.timings["install_s"] = round(ensure_venv(self.venv, self.logs / "setup.log"), 2)
        began = time.perf_counter()
        self.configure()
        self.timings["configure_s"] = round(time.perf_counter() - began, 2)
        began = time.perf_counter()
        deadline = time.monotonic() + timeout_s
        memcached = [MEMCACHED, "-l", "127.0.0.1", "-p", str(self.ports["memcached"])]
        self._start("memcached", [*memcached, "-U", "0", "-m", "64", "-u", "root"])
        launcher = [self.bin("python"), str(self.etc / "bench_swift_launcher.py")]
        for kind in (*SERVERS, "proxy"):
            conf = str(self.etc / f"{kind}-server.conf")
            self._start(kind, [*launcher, str(self.etc / "swift.conf"), SERVER_MODULES[kind], conf])
        for name, port in (*self.ports.items(), ("proxy", self.port)):
            self._wait_port(port, name, deadline)
        self._wait_ready(deadline)
        self.timings["start_to_ready_s"] = round(time.perf_counter() - began, 2)

    def auth(self, client: httpx.Client) -> tuple[str, str]:
        """GET /auth/v1.0 as admin:admin; the storage URL and the token."""
        resp = client.get(f"{self.url}/auth/v1.0", headers={"X-Auth-User": USER, "X-Auth-Key": KEY})
        if resp.status_code != 200:
            raise PeerUnavailable(f"GET /auth/v1.0: HTTP {resp.status_code}: {resp.text[:200]}")
        return resp.headers["X-Storage-Url"].rstrip("/"), resp.headers["X-Auth-Token"]

    def _wait_ready(self, deadline: float) -> None:
        """A token from tempauth, then a 2xx HEAD of the account (autocreated)."""
        last = "no answer"
        with httpx.Client(timeout=10) as client:
            while True:
                self._check_alive()
                with contextlib.suppress(httpx.HTTPError, PeerUnavailable):
                    url, token = self.auth(client)
                    resp = client.head(url, headers={"X-Auth-Token": token})
                    last = f"HEAD account: HTTP {resp.status_code}"
                    if resp.is_success:
                        self.storage_url, self.token = url, token
                        return
                if time.monotonic() > deadline:
                    raise PeerUnavailable(f"not ready ({last}); see {self.logs}")
                time.sleep(0.2)

    def pids(self, names: tuple[str, ...] | None = None) -> list[int]:
        """Every process of the named groups (all of them by default)."""
        out: list[int] = []
        for name, proc in self.groups.items():
            if names is None or name in names:
                out += group_members(proc.pid) or [proc.pid]
        return out

    def down(self) -> None:
        """Stop every group, newest first (TERM, then KILL)."""
        for name in reversed(list(self.groups)):
            proc = self.groups[name]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.groups.clear()
