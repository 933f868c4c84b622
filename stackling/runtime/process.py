"""Running the server process: logging, pid file, foreground serving, detaching, stopping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from stackling.common.middleware import RequestIdLogFilter
from stackling.settings import Settings

LOG = logging.getLogger(__name__)
LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s] %(message)s"


def pid_file(data_dir: Path) -> Path:
    """Where the running server records its pid."""
    return data_dir / "stackling.pid"


def read_pid(data_dir: Path) -> int | None:
    """The pid of a live server for this data dir, or None."""
    path = pid_file(data_dir)
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def setup_logging(settings: Settings, *, to_stderr: bool) -> None:
    """Log to <data-dir>/logs/stackling.log (and stderr in the foreground), with request ids."""
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    root.setLevel(settings.log.level.upper())
    formatter = logging.Formatter(LOG_FORMAT)
    handlers: list[logging.Handler] = [
        logging.handlers.WatchedFileHandler(settings.log_dir / "stackling.log")
    ]
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RequestIdLogFilter())
        root.addHandler(handler)
    # Our access log replaces uvicorn's (which has no request id).
    logging.getLogger("uvicorn.access").disabled = True


def serve(settings: Settings) -> None:
    """Run the cloud in this process until SIGTERM/SIGINT."""
    import uvicorn

    from stackling.app import build_app

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    running = read_pid(settings.data_dir)
    if running is not None and running != os.getpid():
        raise SystemExit(f"stackling is already running for {settings.data_dir} (pid {running})")
    app = build_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=20,
        server_header=False,
    )
    server = uvicorn.Server(config)
    path = pid_file(settings.data_dir)
    path.write_text(f"{os.getpid()}\n")
    try:
        asyncio.run(server.serve())
    finally:
        with contextlib.suppress(FileNotFoundError):
            if path.read_text().strip() == str(os.getpid()):
                path.unlink()
    if not server.started:
        raise SystemExit(1)


def wait_until_up(url: str, proc: subprocess.Popen[bytes] | None, timeout_s: float) -> bool:
    """Poll `url` until it answers, the child dies, or time runs out."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code < 500:
                    return True
            time.sleep(0.03)
    return False


def detach(settings: Settings, argv: list[str], timeout_s: float = 60.0) -> int:
    """Start `stackling up` (without --detach) in the background; return once the API answers."""
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    running = read_pid(settings.data_dir)
    if running is not None:
        raise SystemExit(f"stackling is already running for {settings.data_dir} (pid {running})")
    out = open(settings.log_dir / "stackling.out", "ab")  # noqa: SIM115 (handed to the child)
    proc = subprocess.Popen(
        [sys.executable, "-m", "stackling.cli.main", *argv],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
    )
    out.close()
    if not wait_until_up(f"{settings.endpoint}/identity/v3", proc, timeout_s):
        if proc.poll() is None:
            proc.terminate()
        raise SystemExit(
            f"stackling did not come up; see {settings.log_dir / 'stackling.out'} and "
            f"{settings.log_dir / 'stackling.log'}"
        )
    return proc.pid


def stop(data_dir: Path, timeout_s: float = 30.0) -> bool:
    """SIGTERM the server and wait for it to exit (SIGKILL after the timeout)."""
    pid = read_pid(data_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        LOG.warning("pid %d ignored SIGTERM for %ss; killing it", pid, timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        pid_file(data_dir).unlink()
    return True
