"""Starting and stopping the clouds under test (Stackling, the OpenStack peer) and reading them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from loadgen import group_members

REPO = Path(__file__).resolve().parent.parent
PEER_DIR = Path(os.environ.get("OPENSTACK_PEER_DIR", "/work/shared/peers/openstack"))


def log(msg: str) -> None:
    """Progress on stderr, so stdout holds only the figures."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def venv_bin(name: str) -> Path:
    """A console script next to the running interpreter (the project's .venv)."""
    return Path(sys.executable).parent / name


def clean_env() -> dict[str, str]:
    """This process's environment without STACKLING_* settings, so defaults apply."""
    return {k: v for k, v in os.environ.items() if not k.startswith("STACKLING_")}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ports_free(*ports: int) -> bool:
    """Whether none of `ports` accepts connections on 127.0.0.1."""
    for port in ports:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return False
    return True


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (from status) and Rss/Pss (from smaps_rollup) of one process, in KiB."""
    out: dict[str, int] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["vmrss_kib"] = int(line.split()[1])
    with contextlib.suppress(FileNotFoundError, PermissionError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in ("Rss", "Pss"):
                out[f"{key.lower()}_kib"] = int(line.split()[1])
    return out


def vmrss_kib(pid: int) -> int:
    """VmRSS of one process in KiB (0 when it is gone); cheap enough to sample often."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def with_descendants(pid: int) -> list[int]:
    """`pid` and every process below it (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def disk_free_bytes(path: Path) -> int:
    """Bytes available to this user on the filesystem holding `path`."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@dataclass
class Cloud:
    """Where a cloud's identity API is and how its admin logs in."""

    name: str
    auth_url: str
    username: str
    password: str
    project: str
    user_domain: str
    project_domain: str

    @property
    def host(self) -> str:
        """Host of the identity endpoint."""
        return urlsplit(self.auth_url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        """Port of the identity endpoint."""
        return urlsplit(self.auth_url).port or 80

    @property
    def path(self) -> str:
        """Path prefix of the v3 API, e.g. /identity/v3."""
        return urlsplit(self.auth_url).path.rstrip("/")

    @classmethod
    def from_clouds_yaml(cls, path: Path, name: str) -> Cloud:
        """Read one cloud's admin credentials from a clouds.yaml."""
        auth = yaml.safe_load(path.read_text())["clouds"][name]["auth"]
        return cls(
            name=name,
            auth_url=auth["auth_url"],
            username=auth["username"],
            password=auth["password"],
            project=auth["project_name"],
            user_domain=auth.get("user_domain_name", "Default"),
            project_domain=auth.get("project_domain_name", "Default"),
        )


def auth_body(user: str, password: str, project: str, domain: str = "Default") -> dict[str, Any]:
    """POST /v3/auth/tokens body: password method, project scope, names."""
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "domain": {"name": domain}, "password": password}
                },
            },
            "scope": {"project": {"name": project, "domain": {"name": domain}}},
        }
    }


def catalog_url(catalog: list[dict[str, Any]], service_type: str) -> str:
    """The public endpoint of `service_type` in a token's catalog, without a trailing slash."""
    for service in catalog:
        if service.get("type") != service_type:
            continue
        for ep in service.get("endpoints", []):
            if ep.get("interface") == "public":
                return str(ep["url"]).rstrip("/")
    kinds = sorted(str(s.get("type")) for s in catalog)
    raise LookupError(f"no public {service_type} endpoint in the catalog (services: {kinds})")


def issue_token(client: httpx.Client, auth_url: str, body: dict[str, Any]) -> str:
    """Issue a token and return its id."""
    resp = client.post(f"{auth_url}/auth/tokens", json=body)
    resp.raise_for_status()
    return resp.headers["X-Subject-Token"]


class Stackling:
    """A `stackling up --detach` process on its own data dir."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.cli = venv_bin("stackling")

    @property
    def pid(self) -> int | None:
        """Pid of the running server, from its pid file."""
        try:
            return int((self.data_dir / "stackling.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def pids(self) -> list[int]:
        """The server process and any children it runs (empty when not running)."""
        pid = self.pid
        return with_descendants(pid) if pid is not None else []

    @property
    def db(self) -> Path:
        """The SQLite database."""
        return self.data_dir / "stackling.db"

    def cloud(self) -> Cloud:
        """Admin credentials from the written clouds.yaml."""
        return Cloud.from_clouds_yaml(self.data_dir / "clouds.yaml", "stackling")

    def up(self, env: dict[str, str] | None = None, timeout_s: float = 120) -> float:
        """Start detached; return the seconds `up --detach` took (it returns once ready)."""
        cmd = [str(self.cli), "up", "--detach", "--data-dir", str(self.data_dir)]
        cmd += ["--port", str(self.port)]
        began = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            env={**clean_env(), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except BaseException:
            # Interrupted (or too slow): let `up` finish, so that the server it
            # started has written its pid file and `down` can stop it.
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=60)
            proc.kill()
            raise
        took = time.perf_counter() - began
        if proc.returncode != 0:
            raise RuntimeError(f"stackling up failed ({proc.returncode}): {err[-2000:]}")
        return took

    def down(self) -> None:
        """Stop gracefully; SIGKILL whatever is left."""
        pid = self.pid
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [str(self.cli), "down", "--data-dir", str(self.data_dir)],
                capture_output=True,
                timeout=45,
                check=False,
            )
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def health(self) -> dict[str, Any]:
        """The /healthcheck document."""
        return httpx.get(f"http://127.0.0.1:{self.port}/healthcheck", timeout=10).json()


# Ports the peer uses, as offsets from its port base (see its README): Keystone,
# Glance; with --compute also Placement, nova-api, RabbitMQ, the Neutron stub,
# epmd and RabbitMQ's Erlang distribution port.
PEER_PORTS = (0, 1)
PEER_COMPUTE_PORTS = (2, 3, 4, 5, 6, 20004)


def peer_port_base(wanted: int | None, compute: bool = False) -> int:
    """`wanted`, or the first of 16000, 16100, ... whose peer ports are all free."""
    offsets = PEER_PORTS + (PEER_COMPUTE_PORTS if compute else ())
    candidates = [wanted] if wanted else list(range(16000, 17000, 100))
    for base in candidates:
        if ports_free(*(base + off for off in offsets)):
            return base
    raise SystemExit(f"no free port base for the peer among {candidates}")


class Peer:
    """The real OpenStack peer (Keystone + Glance under gunicorn; optionally Nova) on a data dir."""

    def __init__(
        self, data_dir: Path, port_base: int, compute: bool = False, fake_nodes: int = 20
    ) -> None:
        self.data_dir = data_dir
        self.port_base = port_base
        self.compute = compute
        self.fake_nodes = fake_nodes

    @property
    def keystone_db(self) -> Path:
        """Keystone's SQLite database."""
        return self.data_dir / "state" / "keystone" / "keystone.db"

    def cloud(self) -> Cloud:
        """Admin credentials from the written clouds.yaml."""
        return Cloud.from_clouds_yaml(self.data_dir / "clouds.yaml", "openstack-peer")

    def up(self, timeout_s: float = 400) -> float:
        """Run the peer's `up` (which returns when it is ready); return the seconds it took."""
        logfile = self.data_dir.parent / (self.data_dir.name + "-up.log")
        cmd = [str(PEER_DIR / "up"), "--data-dir", str(self.data_dir)]
        cmd += ["--port-base", str(self.port_base)]
        if self.compute:
            cmd += ["--compute", "--fake-nodes", str(self.fake_nodes)]
        began = time.perf_counter()
        with open(logfile, "w") as out:
            proc = subprocess.run(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
            )
        if proc.returncode != 0:
            raise RuntimeError(f"peer up failed ({proc.returncode}); see {logfile}")
        return time.perf_counter() - began

    def down(self, purge: bool = False) -> None:
        """Run the peer's `down` (it stops its process groups by pid); `purge` removes the dir."""
        if (self.data_dir / "run").is_dir():
            cmd = [str(PEER_DIR / "down"), "--data-dir", str(self.data_dir)]
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(
                    cmd + (["--purge"] if purge else []),
                    capture_output=True,
                    timeout=120,
                    check=False,
                )

    def pids(self) -> list[int]:
        """Every process of every group the peer started (its services, RabbitMQ, epmd...)."""
        out: list[int] = []
        run_dir = self.data_dir / "run"
        for pid_file in sorted(run_dir.glob("*.pid")) if run_dir.is_dir() else []:
            try:
                leader = int(pid_file.read_text().strip())
            except (FileNotFoundError, ValueError):
                continue
            out += group_members(leader) or [leader]
        return out

    def keystone_pids(self) -> list[int]:
        """The Keystone gunicorn master and its workers."""
        try:
            master = int((self.data_dir / "run" / "keystone.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return []
        return group_members(master) or [master]

    def glance_pids(self) -> list[int]:
        """The Glance gunicorn master and its workers."""
        try:
            master = int((self.data_dir / "run" / "glance.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return []
        return group_members(master) or [master]


def log_errors(logs: Path, keep: int = 40) -> list[str]:
    """The last `keep` ERROR/CRITICAL/Traceback lines of the *.log files under `logs`."""
    lines: list[str] = []
    for path in sorted(logs.glob("*.log")):
        with contextlib.suppress(OSError):
            for line in path.read_text(errors="replace").splitlines():
                if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
                    lines.append(f"{path.name}: {line[:400]}")
    return lines[-keep:]


def keep_logs(args: Any, logs: Path, name: str) -> None:
    """Copy a cloud's logs/ to `--keep-logs`/name when asked."""
    if args.keep_logs and logs.is_dir():
        shutil.copytree(logs, args.keep_logs / name, dirs_exist_ok=True)
