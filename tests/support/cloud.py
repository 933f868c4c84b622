"""A real `stackling up --detach` cloud for end-to-end tests, and the `openstack` CLI against it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.process import child_env, free_port, pid_alive, run, stackling_cmd

OPENSTACK = Path(sys.executable).parent / "openstack"


@dataclass
class Cloud:
    """A running cloud and how to reach it."""

    data_dir: Path
    port: int
    env: dict[str, str]
    # What `stackling up` printed.
    up_output: str = ""

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth_url(self) -> str:
        """Keystone's URL."""
        return f"{self.url}/identity/v3"

    @property
    def clouds_yaml(self) -> Path:
        """The clouds.yaml `stackling up` wrote (admin credentials)."""
        return self.data_dir / "clouds.yaml"

    def admin_auth(self) -> dict[str, Any]:
        """The admin's `auth` section of clouds.yaml."""
        doc = yaml.safe_load(self.clouds_yaml.read_text())
        return dict(doc["clouds"]["stackling"]["auth"])

    def openstack(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        ok: bool = True,
        timeout: float = 300,
        no_stdin: bool = False,
    ) -> Any:
        """Run `openstack ARGS`; its JSON output (with -f json), text otherwise, or the result.

        With `no_stdin` the command's stdin is a terminal: `image create` reads image
        data from any stdin that is not one, so this is how it is told there is none.
        """
        argv = [str(OPENSTACK), *args]
        if no_stdin:
            controller, terminal = os.openpty()
            try:
                proc = subprocess.run(
                    argv,
                    env=env or self.env,
                    stdin=terminal,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
            finally:
                os.close(terminal)
                os.close(controller)
        else:
            proc = run(argv, env=env or self.env, timeout=timeout)
        if not ok:
            return proc
        assert proc.returncode == 0, (
            f"openstack {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
        if "json" in args:
            return json.loads(proc.stdout) if proc.stdout.strip() else None
        return proc.stdout

    def as_user(self, name: str, password: str, project: str | None = None) -> dict[str, str]:
        """An environment authenticating as `name` instead of the admin."""
        env = {k: v for k, v in self.env.items() if k != "OS_CLOUD"}
        env.update(
            OS_AUTH_URL=self.auth_url,
            OS_IDENTITY_API_VERSION="3",
            OS_USERNAME=name,
            OS_PASSWORD=password,
            OS_USER_DOMAIN_NAME="Default",
            OS_REGION_NAME="RegionOne",
        )
        if project:
            env.update(OS_PROJECT_NAME=project, OS_PROJECT_DOMAIN_NAME="Default")
        return env


@contextmanager
def detached_cloud(data_dir: Path, **settings: str) -> Iterator[Cloud]:
    """`stackling up --detach` on `data_dir` and a free port; `stackling down` after.

    `settings` are extra environment variables for the server (STACKLING_...).
    """
    if not OPENSTACK.is_file():
        pytest.fail(f"the openstack CLI is not installed at {OPENSTACK}; run `make install`")
    port = free_port()
    env = child_env(**settings)
    pid_path = data_dir / "stackling.pid"
    started_pid: int | None = None
    try:
        up = run(
            [*stackling_cmd(), "up", "--detach", "--data-dir", str(data_dir), "--port", str(port)],
            env=env,
            timeout=120,
        )
        started_pid = int(pid_path.read_text()) if pid_path.exists() else None
        assert up.returncode == 0, f"stackling up failed:\n{up.stdout}\n{up.stderr}"
        clouds = data_dir / "clouds.yaml"
        assert clouds.is_file()
        yield Cloud(
            data_dir,
            port,
            {**env, "OS_CLIENT_CONFIG_FILE": str(clouds), "OS_CLOUD": "stackling"},
            up.stdout,
        )
    finally:
        if started_pid is None and pid_path.exists():
            started_pid = int(pid_path.read_text())
        down = run([*stackling_cmd(), "down", "--data-dir", str(data_dir)], env=env, timeout=90)
        if started_pid is not None and pid_alive(started_pid):
            os.kill(started_pid, signal.SIGKILL)
            pytest.fail(
                f"stackling down left pid {started_pid} running:\n{down.stdout}\n{down.stderr}"
            )
        assert down.returncode == 0, down.stderr
