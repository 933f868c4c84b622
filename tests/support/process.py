"""Real `stackling` server processes for end-to-end tests: start, wait, stop, kill."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.pg import free_port

__all__ = ["StacklingProcess", "child_env", "free_port", "run", "stackling_cmd"]


def stackling_cmd() -> list[str]:
    """The `stackling` command of the interpreter running the tests."""
    return [sys.executable, "-m", "stackling.cli.main"]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child: ours without STACKLING_*/OS_* settings, cheap bcrypt."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("STACKLING_", "OS_", "PYTEST_"))
    }
    env["STACKLING_IDENTITY__PASSWORD_HASH_ROUNDS"] = "4"
    # Building the guest image is for the tests that want it; they turn this on.
    env["STACKLING_IMAGE__REGISTER_TEST_IMAGE"] = "false"
    # Real guests are for the compute e2e tests, which ask for the libvirt driver.
    env["STACKLING_COMPUTE__DRIVER"] = "fake"
    # The real data plane (bridges, namespaces, nftables) is for the tests that ask for it.
    env["STACKLING_NETWORK__AGENT_ENABLED"] = "false"
    env.update(extra)
    return env


def run(
    argv: list[str], *, env: dict[str, str], timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion, capturing its output (bounded by `timeout`)."""
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def pid_alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Poll `url` until it answers below 500, the child exits, or time runs out."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code < 500:
                    return True
            time.sleep(0.05)
    return False


class StacklingProcess:
    """`stackling up` in the foreground as a direct child, so it can be SIGKILLed and reaped."""

    def __init__(self, data_dir: Path, port: int, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.port = port
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the server and wait until the identity API answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "foreground.out", "ab")  # noqa: SIM115 (handed to the child)
        self.proc = subprocess.Popen(
            [*stackling_cmd(), "up", "--data-dir", str(self.data_dir), "--port", str(self.port)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        if not wait_http(f"{self.url}/identity/v3", timeout_s, self.proc):
            self.kill()
            out = (self.data_dir / "foreground.out").read_text(errors="replace")[-3000:]
            raise AssertionError(f"stackling did not come up on port {self.port}:\n{out}")

    def kill(self) -> None:
        """SIGKILL the server and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM the server, wait for it (SIGKILL after the timeout); its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode
