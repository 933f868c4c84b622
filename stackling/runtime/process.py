"""Running the server process: logging, pid file, foreground serving, detaching, stopping."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import logging.handlers
import os
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackling.common.middleware import RequestIdLogFilter
from stackling.settings import Settings

if TYPE_CHECKING:
    import uvicorn

LOG = logging.getLogger(__name__)
LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Allocations between young collections (CPython's default is 700).
GC_THRESHOLD_YOUNG = 20_000


def pid_file(data_dir: Path) -> Path:
    """Where the running server records its pid."""
    return data_dir / "stackling.pid"


def endpoint_file(data_dir: Path) -> Path:
    """Where the running server records the URL it serves (for `stackling status`)."""
    return data_dir / "stackling.endpoint"


def read_endpoint(data_dir: Path) -> str | None:
    """The URL of the live server for this data dir, or None."""
    if read_pid(data_dir) is None:
        return None
    try:
        return endpoint_file(data_dir).read_text().strip() or None
    except FileNotFoundError:
        return None


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
    if _is_zombie(pid):
        # Killed and not yet reaped by whoever adopted it: not a running server.
        return None
    return pid


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(") ", 1)[1][:1] == "Z"
    except (OSError, IndexError):
        return False


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


def _server(
    config: uvicorn.Config, on_started: Callable[[], None], on_stopped: Callable[[], None]
) -> uvicorn.Server:
    """A uvicorn server that calls `on_started` once it listens and `on_stopped` once it is done.

    `on_stopped` runs inside the server's own shutdown because, after a graceful
    shutdown on SIGTERM/SIGINT, uvicorn raises the signal again and the process
    ends there: code after `serve()` never runs in that case.
    """
    import uvicorn

    class _Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                on_started()

        async def shutdown(self, sockets: Any = None) -> None:
            try:
                await super().shutdown(sockets=sockets)
            finally:
                on_stopped()

    return _Server(config)


def _tune_for_bulk_bodies() -> None:
    """Let image and object uploads arrive in large pieces.

    uvicorn pauses reading a request once 64 KiB of its body wait unread, and
    asyncio reads a socket 256 KiB at a time: a 1 GiB upload then costs tens
    of thousands of pause/resume epoll calls and wake-ups, which measured as
    the upload bottleneck. 4 MiB per connection bounds memory just as well.
    """
    from asyncio import selector_events

    from uvicorn.protocols.http import h11_impl, httptools_impl

    httptools_impl.HIGH_WATER_LIMIT = 4 << 20  # type: ignore[attr-defined]
    h11_impl.HIGH_WATER_LIMIT = 4 << 20  # type: ignore[attr-defined]
    selector_events._SelectorSocketTransport.max_size = 1 << 20  # type: ignore[attr-defined]


def settle_heap() -> None:
    """Take what start-up built out of the garbage collector's view, and collect less often.

    Routes, models, compiled queries and modules live as long as the process;
    left tracked, every full collection walks them all, which showed as 100+ ms
    stalls in the tail of large list responses. Young collections are made
    rarer too, since one 1000-server page allocates several hundred thousand
    objects, nearly all freed by reference counting anyway.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD_YOUNG, *gc.get_threshold()[1:])


def serve(settings: Settings, ready_fd: int | None = None) -> None:
    """Run the cloud in this process until SIGTERM/SIGINT.

    Once the server listens, one byte is written to `ready_fd` (when given) and
    route state that the first request would otherwise build is built.
    """
    import uvicorn

    from stackling.app import build_app, warm

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    running = read_pid(settings.data_dir)
    if running is not None and running != os.getpid():
        raise SystemExit(f"stackling is already running for {settings.data_dir} (pid {running})")
    app = build_app(settings)
    _tune_for_bulk_bodies()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=20,
        server_header=False,
        # uvicorn closes idle keep-alive connections after 5 s, the interval at which the
        # openstack CLI polls with --wait: a poll could meet the close and fail with
        # "Remote end closed connection" (seen under load). Idle clients keep theirs longer.
        timeout_keep_alive=75,
    )

    def _started() -> None:
        if ready_fd is not None:
            with contextlib.suppress(OSError):
                os.write(ready_fd, b"1")
                os.close(ready_fd)
        # Clients need a moment to connect: use it to build what the first request would.
        loop = asyncio.get_running_loop()
        loop.call_soon(warm, app)
        loop.call_soon(settle_heap)

    path = pid_file(settings.data_dir)

    def _stopped() -> None:
        with contextlib.suppress(FileNotFoundError):
            if path.read_text().strip() == str(os.getpid()):
                endpoint_file(settings.data_dir).unlink(missing_ok=True)
                path.unlink()

    server = _server(config, _started, _stopped)
    endpoint_file(settings.data_dir).write_text(f"{settings.endpoint}\n")
    path.write_text(f"{os.getpid()}\n")
    try:
        asyncio.run(server.serve())
    finally:
        _stopped()
    if not server.started:
        raise SystemExit(1)


def _wait_ready(fd: int, timeout_s: float) -> bool:
    """Wait for the child's ready byte; False on timeout or when it exits first (EOF)."""
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([fd], [], [], remaining)
        if readable:
            return os.read(fd, 1) == b"1"
    return False


def _daemon_child(settings: Settings, ready_fd: int) -> None:
    """In the forked child: own session, stdio to the log dir, then serve; never returns."""
    code = 1
    try:
        os.setsid()
        # Only stdio and the ready pipe cross over, as with a fresh process.
        os.closerange(3, ready_fd)
        os.closerange(ready_fd + 1, os.sysconf("SC_OPEN_MAX"))
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(
            settings.log_dir / "stackling.out", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        setup_logging(settings, to_stderr=True)
        serve(settings, ready_fd=ready_fd)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _spawn(settings: Settings, argv: list[str], ready_fd: int) -> int:
    """Start `python -m stackling.cli.main <argv>` in a session of its own; return its pid."""
    import subprocess

    with open(settings.log_dir / "stackling.out", "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stackling.cli.main", *argv, "--ready-fd", str(ready_fd)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            pass_fds=(ready_fd,),
        )
    return proc.pid


def detach(settings: Settings, argv: list[str] | None = None, timeout_s: float = 60.0) -> int:
    """Start the server in the background; return its pid once it listens.

    By default the child is forked: it inherits what this process has already
    imported and loaded (no second interpreter, no second parse of the
    settings). With `argv` it is a new interpreter running `stackling <argv>`
    instead, for when this process's command line must not outlive it (a
    forked child shows its parent's command line). Either way the child
    reports readiness through a pipe instead of being polled.
    """
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    running = read_pid(settings.data_dir)
    if running is not None:
        raise SystemExit(f"stackling is already running for {settings.data_dir} (pid {running})")
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    if argv is not None:
        pid = _spawn(settings, argv, write_fd)
    else:
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _daemon_child(settings, write_fd)
    os.close(write_fd)
    try:
        ready = _wait_ready(read_fd, timeout_s)
    finally:
        os.close(read_fd)
    if not ready:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        raise SystemExit(
            f"stackling did not come up; see {settings.log_dir / 'stackling.out'} and "
            f"{settings.log_dir / 'stackling.log'}"
        )
    return pid


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
    pid_file(data_dir).unlink(missing_ok=True)
    endpoint_file(data_dir).unlink(missing_ok=True)
    return True
