"""The real Cinder from PyPI as a benchmark peer: API under gunicorn, scheduler, volume, RabbitMQ.

/work/shared/peers/openstack has no Cinder, so the volume bench sets one up
itself. What works and what did not (found by trying, Cinder 27.0.0 = 2025.2
on Python 3.11, the release of the peer's Nova 34 / Keystone 30):

- Install: a virtualenv cached in `--cinder-venv` (default
  /var/tmp/stackling-bench/cinder-venv, built once, ~2 min) with
  `cinder==27.0.0 gunicorn==27.0.1 psycopg2-binary`, pinned by the OpenStack
  peer's constraints.txt *minus its python-dateutil pin*: that file pins
  python-dateutil 4.0.0, every botocore needs < 3 and Cinder needs boto3 (its
  S3 backup driver), so with the pin pip backtracks through hundreds of
  botocore releases and never ends. Without it dateutil resolves to 2.9.0.post0.
  A `.installed` marker says the build finished; without it the venv is rebuilt.
- cinder-api runs as WSGI (`cinder.wsgi.wsgi.initialize_application`, which
  parses sys.argv for --config-file) under gunicorn 27 with sync workers
  (`--workers`, default 2), as the OpenStack peer runs Keystone and Nova;
  cinder-scheduler and cinder-volume run as their console scripts.
- auth_strategy noauth: Cinder's NoAuthMiddleware takes `X-Auth-Token:
  user:project` and makes an admin context for that project; URLs carry the
  project id (/v3/{project_id}/...).
- RabbitMQ: Debian's rabbitmq-server started the way the OpenStack peer's
  `up --compute` does it (peerctl.py start_rabbitmq): epmd on a port of its
  own, the node in the foreground with its own node name, AMQP port, Erlang
  distribution port, mnesia and log dirs under the peer's data dir; no systemd.
- Database: SQLite was tried first and does not work: `cinder-manage db sync`
  runs the alembic migrations on it fine, but as soon as the API workers, the
  scheduler and the volume service write the one file at once, cinder-volume
  fails with "(sqlite3.OperationalError) database is locked" (already on the
  bench's first probe volume, in volume_admin_metadata updates), and volumes
  end in `error`. So the default is PostgreSQL in a throwaway cluster
  (tests/support/pg.py: initdb, 127.0.0.1, free port, fsync off);
  `--cinder-db sqlite` is kept to show the failure.
- Backend: the LVM driver does NOT work here: the kernel of this machine has no
  device-mapper (no /dev/mapper/control, `dmsetup targets` fails, no modprobe
  or modules), so no LV, thin or thick, can be activated on a loop device.
  Cinder's NFS driver is used instead (the file-backed driver closest to
  Stackling's file backend: one file per volume, `nfs_qcow2_volumes = true`
  so each is a qcow2 made by `qemu-img create`, sparse) on a local directory
  through a small subclass (bench_cinder_driver.LocalDirNfsDriver, written
  into the peer's etc dir): there is neither an NFS server nor mount.nfs, so
  the subclass makes the "mount point" a plain directory instead of mounting
  and drops run_as_root (no sudo; the bench runs as root). Everything else,
  creating, deleting, capacity reports, is the NFS driver's own code.
  Volumes are attached to nothing, so no iSCSI target helper is needed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from loadgen import group_members
from procs import PEER_DIR, REPO, free_port, log

sys.path.insert(0, str(REPO))
from tests.support.pg import PostgresCluster, PostgresUnavailable

CINDER_VERSION = "27.0.0"
GUNICORN_VERSION = "27.0.1"
DEFAULT_VENV = Path("/var/tmp/stackling-bench/cinder-venv")
PACKAGES = [f"cinder=={CINDER_VERSION}", f"gunicorn=={GUNICORN_VERSION}", "psycopg2-binary"]
# Constraint lines left out of the peer's file (see the module docstring).
UNPINNED = ("python-dateutil",)
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
BACKEND = "bench"
SHARE = "bench:/cinder-volumes"

# gunicorn imports this from the peer's etc dir; Cinder's oslo.config parses sys.argv
# when the app is built, so it must hold Cinder's arguments, not gunicorn's.
WSGI_SHIM = """import sys


def cinder(config_file):
    sys.argv[1:] = ["--config-file", config_file]
    from cinder.wsgi.wsgi import initialize_application

    return initialize_application()
"""

DRIVER_SHIM = '''"""Cinder's NFS driver on a local dir, no mount, no sudo (see cinder_peer.py)."""
import os

from cinder.volume.drivers import nfs


class LocalDirNfsDriver(nfs.NfsDriver):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        real = self._execute

        def execute(*cmd, **kw):
            kw.pop("run_as_root", None)
            kw.pop("root_helper", None)
            if cmd and cmd[0] == "mount.nfs":
                return "", ""
            return real(*cmd, **kw)

        self._execute = execute

    def _ensure_share_mounted(self, nfs_share):
        os.makedirs(self._get_mount_point_for_share(nfs_share), exist_ok=True)
'''

CINDER_CONF = """[DEFAULT]
auth_strategy = noauth
transport_url = rabbit://guest:guest@127.0.0.1:{amqp}/
host = benchhost
my_ip = 127.0.0.1
state_path = {state}
api_paste_config = {etc}/api-paste.ini
resource_query_filters_file = {etc}/resource_filters.json
enabled_backends = {backend}
default_volume_type = __DEFAULT__
osapi_volume_workers = {workers}
scheduler_driver_init_wait_time = 5
# Capabilities reach the scheduler only with these periodic reports (default 60 s):
# until the first one, every create fails with "No valid backend".
periodic_interval = 10
backend_stats_polling_interval = 10
use_stderr = true
debug = false

[database]
connection = {db_url}

[oslo_concurrency]
lock_path = {state}/lock

[coordination]
backend_url = file://{state}/coordination

[oslo_messaging_notifications]
driver = noop

[{backend}]
volume_driver = bench_cinder_driver.LocalDirNfsDriver
volume_backend_name = {backend}
nfs_shares_config = {etc}/nfs_shares
nfs_mount_point_base = {state}/mnt
nfs_sparsed_volumes = true
nfs_qcow2_volumes = true
nfs_snapshot_support = false
nas_secure_file_operations = true
nas_secure_file_permissions = true
max_over_subscription_ratio = 1000
"""


class PeerUnavailable(RuntimeError):
    """The Cinder peer could not be installed or started; the message says why."""


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


def constraints(venv: Path) -> list[str]:
    """pip's -c arguments: the peer's constraints.txt without the UNPINNED lines, in the venv."""
    source = PEER_DIR / "constraints.txt"
    if not source.is_file():
        return []
    kept = [
        line
        for line in source.read_text().splitlines()
        if not line.lower().startswith(tuple(f"{name}=" for name in UNPINNED))
    ]
    target = venv / "bench-constraints.txt"
    target.write_text("\n".join(kept) + "\n")
    return ["-c", str(target)]


def ensure_venv(venv: Path, logfile: Path) -> float:
    """Build the cached virtualenv unless its `.installed` marker is there; seconds spent."""
    if (venv / ".installed").is_file():
        return 0.0
    began = time.perf_counter()
    log(f"installing Cinder {CINDER_VERSION} into {venv} (once; ~2 min)")
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    _run(["python3", "-m", "venv", str(venv)], logfile, 120)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    _run([*pip, "--upgrade", "pip"], logfile, 300)
    _run([*pip, *PACKAGES, *constraints(venv)], logfile, 1200)
    (venv / ".installed").write_text(" ".join(PACKAGES) + "\n")
    return time.perf_counter() - began


class CinderPeer:
    """cinder-api (gunicorn), cinder-scheduler, cinder-volume and RabbitMQ in one data dir."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        workers: int = 2,
        venv: Path = DEFAULT_VENV,
        database: str = "pg",
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.workers = workers
        self.venv = venv
        self.database = database
        self.pg: PostgresCluster | None = None
        # Process-group leaders by name, in start order.
        self.groups: dict[str, subprocess.Popen[bytes]] = {}
        self.timings: dict[str, float] = {}
        self.amqp_port = free_port()
        self.epmd_port = free_port()
        self.dist_port = free_port()

    def url(self, project_id: str) -> str:
        """The v3 API of one project (noauth takes any hex project id)."""
        return f"http://127.0.0.1:{self.port}/v3/{project_id}"

    @staticmethod
    def headers(project_id: str) -> dict[str, str]:
        """noauth's token form `user:project` (an admin context)."""
        return {"X-Auth-Token": f"bench:{project_id}"}

    @property
    def logs(self) -> Path:
        """The peer's log dir."""
        return self.data_dir / "logs"

    @property
    def volumes_dir(self) -> Path:
        """Where the driver keeps the volume files (the share's "mount point" is below it)."""
        return self.data_dir / "state" / "mnt"

    def bin(self, name: str) -> str:
        """A console script of the venv."""
        return str(self.venv / "bin" / name)

    def _start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{name}.log", "a") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.data_dir,
                start_new_session=True,
            )
        self.groups[name] = proc
        return proc

    def _wait_port(self, port: int, name: str, deadline: float) -> None:
        import socket

        while True:
            proc = self.groups.get(name)
            if proc is not None and proc.poll() is not None:
                raise PeerUnavailable(f"{name} exited ({proc.returncode}); see {self.logs}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            if time.monotonic() > deadline:
                raise PeerUnavailable(f"{name} not listening on {port}")
            time.sleep(0.2)

    def _rabbit_env(self) -> dict[str, str]:
        state = self.data_dir / "state" / "rabbitmq"
        return {
            **self._base_env(),
            "HOME": str(state),  # .erlang.cookie
            "RABBITMQ_CONF_ENV_FILE": f"{state}/rabbitmq-env.conf",
            "RABBITMQ_CONFIG_FILE": f"{state}/rabbitmq.conf",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{state}/enabled_plugins",
            "RABBITMQ_NODENAME": f"benchcinder{self.amqp_port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false"
            ),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": f"{state}/mnesia",
            "RABBITMQ_LOG_BASE": str(self.logs / "rabbitmq"),
            "RABBITMQ_PID_FILE": f"{state}/rabbitmq.pid",
        }

    @staticmethod
    def _base_env() -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "STACKLING_"))}

    def start_rabbitmq(self) -> None:
        """epmd on its own port, then the RabbitMQ node in the foreground (it boots meanwhile)."""
        if not RABBITMQ_SERVER.exists():
            raise PeerUnavailable(
                "rabbitmq-server is not installed (apt-get install rabbitmq-server)"
            )
        state = self.data_dir / "state" / "rabbitmq"
        (state / "mnesia").mkdir(parents=True, exist_ok=True)
        (self.logs / "rabbitmq").mkdir(parents=True, exist_ok=True)
        (state / "rabbitmq-env.conf").write_text("")
        (state / "enabled_plugins").write_text("[].\n")
        (state / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}\n"
            "log.console = false\nlog.file.level = warning\n"
        )
        cookie = state / ".erlang.cookie"
        cookie.write_text(os.urandom(10).hex())
        cookie.chmod(0o400)
        env = self._rabbit_env()
        epmd = shutil.which("epmd") or "/usr/bin/epmd"
        self._start("epmd", [epmd, "-port", str(self.epmd_port), "-address", "127.0.0.1"], env)
        self._wait_port(self.epmd_port, "epmd", time.monotonic() + 30)
        self._start("rabbitmq", [str(RABBITMQ_SERVER)], env)

    def _db_url(self) -> str:
        if self.database == "sqlite":
            return f"sqlite:///{self.data_dir / 'state' / 'cinder.sqlite'}"
        began = time.perf_counter()
        try:
            self.pg = PostgresCluster()
            self.pg.start()
        except PostgresUnavailable as exc:
            raise PeerUnavailable(f"PostgreSQL: {exc}") from None
        self.pg.psql("CREATE DATABASE cinder")
        self.timings["postgres_s"] = round(time.perf_counter() - began, 2)
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.pg.port}/cinder"

    def configure(self) -> Path:
        """Write cinder.conf, the paste file, the share list and both shims; the conf's path."""
        etc, state = self.data_dir / "etc", self.data_dir / "state"
        shutil.copy(self.venv / "etc" / "cinder" / "api-paste.ini", etc / "api-paste.ini")
        shutil.copy(self.venv / "etc" / "cinder" / "resource_filters.json", etc)
        (etc / "nfs_shares").write_text(SHARE + "\n")
        (etc / "bench_cinder_wsgi.py").write_text(WSGI_SHIM)
        (etc / "bench_cinder_driver.py").write_text(DRIVER_SHIM)
        conf = etc / "cinder.conf"
        conf.write_text(
            CINDER_CONF.format(
                amqp=self.amqp_port,
                state=state,
                etc=etc,
                backend=BACKEND,
                workers=self.workers,
                db_url=self._db_url(),
            )
        )
        return conf

    def up(self, timeout_s: float = 240) -> None:
        """Install if needed, configure, db sync, start everything, wait until a volume works."""
        for sub in ("etc", "state", "logs"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        setup_log = self.logs / "setup.log"
        self.timings["install_s"] = round(ensure_venv(self.venv, setup_log), 2)
        began = time.perf_counter()
        self.start_rabbitmq()  # boots while the schema is made
        conf = self.configure()
        confs = ["--config-file", str(conf)]
        _run([self.bin("cinder-manage"), *confs, "db", "sync"], setup_log, 600)
        self.timings["schema_s"] = round(time.perf_counter() - began, 2)
        deadline = time.monotonic() + timeout_s
        self._wait_port(self.amqp_port, "rabbitmq", deadline)
        self.timings["rabbitmq_s"] = round(time.perf_counter() - began, 2)
        etc = self.data_dir / "etc"
        env = {**self._base_env(), "PYTHONPATH": str(etc)}
        began = time.perf_counter()
        self._start("cinder-scheduler", [self.bin("cinder-scheduler"), *confs], env)
        self._start("cinder-volume", [self.bin("cinder-volume"), *confs], env)
        gunicorn = [
            self.bin("gunicorn"),
            "--workers", str(self.workers),
            "--bind", f"127.0.0.1:{self.port}",
            "--timeout", "300",
            "--graceful-timeout", "5",
            "--name", "bench-cinder",
            "--error-logfile", "-",
            "--pythonpath", str(etc),
            f"bench_cinder_wsgi:cinder({str(conf)!r})",
        ]  # fmt: skip
        self._start("cinder-api", gunicorn, env)
        self._wait_ready(deadline)
        self.timings["start_to_ready_s"] = round(time.perf_counter() - began, 2)

    def _wait_ready(self, deadline: float) -> None:
        """The API answers and a probe volume gets available (the scheduler knows the backend)."""
        # Cinder's routes only match hex project ids (with dashes).
        project = uuid.uuid4().hex
        url, headers = self.url(project), self.headers(project)
        last = "no answer"
        with httpx.Client(headers=headers, timeout=30) as client:
            while True:
                self._check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    resp = client.get(f"{url}/os-services")
                    last = f"HTTP {resp.status_code}: {resp.text[:300]}"
                    if resp.status_code == 200 and any(
                        s["binary"] == "cinder-volume" and s["state"] == "up"
                        for s in resp.json()["services"]
                    ):
                        break
                if time.monotonic() > deadline:
                    raise PeerUnavailable(f"no cinder-volume up ({last}); see {self.logs}")
                time.sleep(0.5)
            while True:
                self._check_alive()
                resp = client.post(f"{url}/volumes", json={"volume": {"size": 1}})
                if resp.status_code != 202:
                    raise PeerUnavailable(f"probe POST /volumes: {resp.status_code} {resp.text}")
                vol_id = resp.json()["volume"]["id"]
                status = ""
                while time.monotonic() < deadline:
                    status = client.get(f"{url}/volumes/{vol_id}").json()["volume"]["status"]
                    if status not in ("creating",):
                        break
                    time.sleep(0.2)
                client.delete(f"{url}/volumes/{vol_id}")
                while time.monotonic() < deadline:
                    if client.get(f"{url}/volumes/{vol_id}").status_code == 404:
                        break
                    time.sleep(0.2)
                if status == "available":
                    return
                if time.monotonic() > deadline:
                    raise PeerUnavailable(f"probe volume ended {status}; see {self.logs}")
                # "No valid backend" until cinder-volume's capabilities reach the scheduler.
                time.sleep(2)

    def _check_alive(self) -> None:
        for name, proc in self.groups.items():
            if proc.poll() is not None:
                raise PeerUnavailable(f"{name} exited ({proc.returncode}); see {self.logs}")

    def pids(self, names: tuple[str, ...] | None = None) -> list[int]:
        """Every process of the named groups (all of them by default)."""
        out: list[int] = []
        for name, proc in self.groups.items():
            if names is None or name in names:
                out += group_members(proc.pid) or [proc.pid]
        return out

    def volume_files(self) -> list[Path]:
        """Volume files the driver left in its share directory."""
        if not self.volumes_dir.is_dir():
            return []
        return [p for p in self.volumes_dir.rglob("volume-*") if p.is_file()]

    def down(self) -> None:
        """Stop every group, newest first (TERM, then KILL), and the PostgreSQL cluster."""
        for name in reversed(list(self.groups)):
            proc = self.groups[name]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.groups.clear()
        if self.pg is not None:
            self.pg.stop()
            self.pg = None
