"""The real Neutron from PyPI as a benchmark peer: ML2, no agents, noauth, on PostgreSQL.

/work/shared/peers/openstack has no Neutron, so the network bench sets one up
itself. What works (found by trying, Neutron 29.0.0 on Python 3.11):

- Install: a virtualenv cached in `--neutron-venv` (default
  /var/tmp/stackling-bench/neutron-venv, built once, ~2 min) with
  `neutron==29.0.0 gunicorn==27.0.1 psycopg2-binary`, pinned by the OpenStack
  peer's constraints.txt (its Keystone/Nova release; neutron resolves with it).
  A `.installed` marker says the build finished; without it the venv is rebuilt.
- No `neutron-server` any more: Neutron 29 serves its API only as a WSGI app
  (`neutron.wsgi.api:application`, config files from $OS_NEUTRON_CONFIG_DIR and
  $OS_NEUTRON_CONFIG_FILES). It runs here under gunicorn 27 with sync workers
  (`--workers`, default 2), as the peer runs Keystone, Glance and Nova.
- Database: SQLite does not work (`neutron-db-manage upgrade heads` stops at a
  Mitaka migration: "No support for ALTER of constraints in SQLite"), and on
  PostgreSQL the 2025.2 migration d553edeb540f runs MySQL-only SQL (`ALTER TABLE
  tags CONVERT TO CHARACTER SET utf8mb4`) and fails. So the schema is made from
  Neutron's own head models (`neutron.db.migration.models.head.get_metadata()
  .create_all`, what its migration tests compare the migrations against), then
  `neutron-db-manage stamp heads`, in a throwaway PostgreSQL cluster
  (tests/support/pg.py: initdb as `postgres`, 127.0.0.1, free port, fsync off).
- neutron.conf: core_plugin ml2, no service plugins, auth_strategy noauth
  (requests carry X-Project-Id and X-Roles: admin; bodies need project_id),
  transport_url fake:/ (oslo.messaging's in-process fake driver: RPC casts to the
  absent agents go nowhere), rpc_workers 0, api_workers as --workers.
  ml2_conf.ini: type drivers local,flat,vxlan, tenant network type vxlan (VNIs
  1:10000), no mechanism drivers (the openvswitch/linuxbridge ones need agents;
  linuxbridge is gone from Neutron 29 anyway), port_security extension, security
  groups on. Ports stay DOWN and unbound; the API path is the whole of it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from loadgen import group_members
from procs import PEER_DIR, REPO, log

sys.path.insert(0, str(REPO))
from tests.support.pg import PostgresCluster, PostgresUnavailable

NEUTRON_VERSION = "29.0.0"
GUNICORN_VERSION = "27.0.1"
DEFAULT_VENV = Path("/var/tmp/stackling-bench/neutron-venv")
PACKAGES = [f"neutron=={NEUTRON_VERSION}", f"gunicorn=={GUNICORN_VERSION}", "psycopg2-binary"]

# gunicorn imports this module from the peer's etc dir: oslo.config parses sys.argv
# when the app is built, and would reject gunicorn's own arguments.
SHIM = """import sys


def neutron():
    del sys.argv[1:]
    from neutron.wsgi.api import application

    return application
"""

NEUTRON_CONF = """[DEFAULT]
core_plugin = ml2
service_plugins =
auth_strategy = noauth
api_workers = {workers}
rpc_workers = 0
rpc_state_report_workers = 0
bind_host = 127.0.0.1
bind_port = {port}
state_path = {state}
api_paste_config = {etc}/api-paste.ini
transport_url = fake:/
allow_overlapping_ips = true
use_stderr = true
debug = false

[database]
connection = {db_url}

[oslo_concurrency]
lock_path = {state}/lock
"""

ML2_CONF = """[ml2]
type_drivers = local,flat,vxlan
tenant_network_types = vxlan
mechanism_drivers =
extension_drivers = port_security

[ml2_type_flat]
flat_networks = *

[ml2_type_vxlan]
vni_ranges = 1:10000

[securitygroup]
enable_security_group = true
"""

CREATE_SCHEMA = """import sys
import sqlalchemy as sa
from neutron.db.migration.models import head
engine = sa.create_engine(sys.argv[1])
head.get_metadata().create_all(engine)
engine.dispose()
"""


class PeerUnavailable(RuntimeError):
    """The Neutron peer could not be installed or started; the message says why."""


def _run(
    cmd: list[str], logfile: Path, timeout_s: float, env: dict[str, str] | None = None
) -> None:
    with open(logfile, "a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        try:
            proc = subprocess.run(
                cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s, env=env, check=False
            )
        except subprocess.TimeoutExpired:
            raise PeerUnavailable(f"{cmd[0]} ran past {timeout_s:g} s; see {logfile}") from None
    if proc.returncode != 0:
        tail = logfile.read_text(errors="replace").splitlines()[-5:]
        raise PeerUnavailable(f"{' '.join(cmd[:3])} failed ({proc.returncode}): {tail}")


def ensure_venv(venv: Path, logfile: Path) -> float:
    """Build the cached virtualenv unless its `.installed` marker is there; seconds spent."""
    if (venv / ".installed").is_file():
        return 0.0
    began = time.perf_counter()
    log(f"installing Neutron {NEUTRON_VERSION} into {venv} (once; ~2 min)")
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    _run(["python3", "-m", "venv", str(venv)], logfile, 120)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    constraints = PEER_DIR / "constraints.txt"
    _run([*pip, "--upgrade", "pip"], logfile, 300)
    cons = ["-c", str(constraints)] if constraints.is_file() else []
    _run([*pip, *PACKAGES, *cons], logfile, 1200)
    (venv / ".installed").write_text(" ".join(PACKAGES) + "\n")
    return time.perf_counter() - began


class NeutronPeer:
    """neutron-api under gunicorn on a throwaway PostgreSQL, in its own data dir."""

    def __init__(self, data_dir: Path, port: int, workers: int = 2, venv: Path = DEFAULT_VENV):
        self.data_dir = data_dir
        self.port = port
        self.workers = workers
        self.venv = venv
        self.pg: PostgresCluster | None = None
        self.pgid: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.timings: dict[str, float] = {}

    @property
    def url(self) -> str:
        """The v2.0 API."""
        return f"http://127.0.0.1:{self.port}/v2.0"

    @property
    def logfile(self) -> Path:
        """neutron-api's (gunicorn's) log."""
        return self.data_dir / "logs" / "neutron-api.log"

    def bin(self, name: str) -> str:
        """A console script of the venv."""
        return str(self.venv / "bin" / name)

    def database(self, name: str) -> str:
        """Create database `name` in the peer's PostgreSQL cluster; its SQLAlchemy URL host part."""
        if self.pg is None:
            raise PeerUnavailable("no PostgreSQL cluster")
        self.pg.psql(f"CREATE DATABASE {name}")
        return f"postgres@127.0.0.1:{self.pg.port}/{name}"

    def start_postgres(self) -> None:
        """The throwaway cluster (also used for Stackling's PostgreSQL run)."""
        began = time.perf_counter()
        try:
            self.pg = PostgresCluster()
            self.pg.start()
        except PostgresUnavailable as exc:
            raise PeerUnavailable(f"PostgreSQL: {exc}") from None
        self.timings["postgres_s"] = round(time.perf_counter() - began, 2)

    def up(self, timeout_s: float = 180) -> None:
        """Install if needed, configure, make the schema, start gunicorn, wait until it answers."""
        for sub in ("etc", "state", "logs"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        setup_log = self.data_dir / "logs" / "setup.log"
        self.timings["install_s"] = round(ensure_venv(self.venv, setup_log), 2)
        if self.pg is None:
            self.start_postgres()
        began = time.perf_counter()
        db_url = "postgresql+psycopg2://" + self.database("neutron")
        etc, state = self.data_dir / "etc", self.data_dir / "state"
        shutil.copy(self.venv / "etc" / "neutron" / "api-paste.ini", etc / "api-paste.ini")
        fields = {"workers": self.workers, "port": self.port, "state": state, "etc": etc}
        (etc / "neutron.conf").write_text(NEUTRON_CONF.format(db_url=db_url, **fields))
        (etc / "ml2_conf.ini").write_text(ML2_CONF)
        (etc / "bench_neutron_wsgi.py").write_text(SHIM)
        py = self.bin("python")
        _run([py, "-c", CREATE_SCHEMA, db_url], setup_log, 300)
        confs = ["--config-file", str(etc / "neutron.conf")]
        confs += ["--config-file", str(etc / "ml2_conf.ini")]
        _run([self.bin("neutron-db-manage"), *confs, "stamp", "heads"], setup_log, 300)
        self.timings["schema_s"] = round(time.perf_counter() - began, 2)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OS_", "STACKLING_"))},
            "OS_NEUTRON_CONFIG_DIR": str(etc),
            "OS_NEUTRON_CONFIG_FILES": "neutron.conf;ml2_conf.ini",
        }
        cmd = [
            self.bin("gunicorn"),
            "--workers", str(self.workers),
            "--bind", f"127.0.0.1:{self.port}",
            "--timeout", "300",
            "--graceful-timeout", "5",
            "--name", "bench-neutron",
            "--error-logfile", "-",
            "--pythonpath", str(etc),
            "bench_neutron_wsgi:neutron()",
        ]  # fmt: skip
        began = time.perf_counter()
        with open(self.logfile, "a") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.data_dir,
                start_new_session=True,
            )
        self.pgid, self.proc = proc.pid, proc
        deadline = time.monotonic() + timeout_s
        headers = {"X-Project-Id": "bench", "X-Roles": "admin"}
        while True:
            if proc.poll() is not None:
                raise PeerUnavailable(f"gunicorn exited ({proc.returncode}); see {self.logfile}")
            with contextlib.suppress(httpx.HTTPError):
                resp = httpx.get(f"{self.url}/networks", headers=headers, timeout=10)
                if resp.status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise PeerUnavailable(f"neutron-api not answering after {timeout_s:g} s")
            time.sleep(0.5)
        self.timings["start_to_ready_s"] = round(time.perf_counter() - began, 2)

    def pids(self) -> list[int]:
        """The gunicorn master and its workers."""
        if self.pgid is None:
            return []
        return group_members(self.pgid) or [self.pgid]

    def down(self) -> None:
        """Stop gunicorn's process group (TERM, then KILL) and the PostgreSQL cluster."""
        if self.pgid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGTERM)
            if self.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
            self.pgid = None
        if self.pg is not None:
            self.pg.stop()
            self.pg = None
