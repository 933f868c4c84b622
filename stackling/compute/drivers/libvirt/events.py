"""Libvirt's event loop, once per process, and the hand-over of its events to asyncio.

libvirt delivers domain events (and keepalives, and connection-close notices)
only while an event loop implementation runs. Its default implementation is
registered once per process, before any connection is opened, and run in a daemon
thread. Callbacks therefore run on that thread; they must not block and only
forward what happened to the owning asyncio loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import libvirt

from stackling.compute.drivers.base import (
    DriverError,
    InstanceNotFound,
    PowerEventHandler,
    PowerState,
)

LOG = logging.getLogger(__name__)

LIFECYCLE = "lifecycle"
REBOOT = "reboot"
# How long a burst of domain events may take to settle before states are read.
SETTLE_S = 0.3

StateReader = Callable[[str], Awaitable[PowerState | None]]
Lister = Callable[[], Awaitable[list[str]]]

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _ignore_error(_ctx: object, _error: object) -> None:
    """libvirt prints every error to stderr by default; ours are raised and handled."""


def _run_forever() -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except Exception:  # a failing iteration must not stop event delivery for good
            LOG.exception("libvirt event loop iteration failed")


def ensure_event_loop() -> None:
    """Register libvirt's default event loop and start its thread (idempotent)."""
    global _thread
    with _lock:
        if _thread is not None:
            return
        libvirt.registerErrorHandler(_ignore_error, None)
        libvirt.virEventRegisterDefaultImpl()
        _thread = threading.Thread(target=_run_forever, name="libvirt-events", daemon=True)
        _thread.start()


def forward(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    """Run `fn(*args)` on `loop` (from the libvirt thread); dropped if the loop has closed."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        LOG.debug("event for a closed loop dropped")


class PowerEvents:
    """Domain events in, the agent's power events out: our domains only, on change.

    Events come in bursts (a start is define, pause, resume...), so each burst is
    read once it has settled and the handler sees states, not transitions. The
    state is read afresh for each domain (level, not edge): `read_state` gives
    None for domains that are not ours, gone, or only passing through a pause.
    """

    def __init__(self, read_state: StateReader, list_owned: Lister, name: str) -> None:
        self._read_state = read_state
        self._list_owned = list_owned
        self._name = name
        self._handler: PowerEventHandler | None = None
        self._queue: asyncio.Queue[str] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._reported: dict[str, PowerState] = {}
        self._reboots: dict[str, asyncio.Event] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, handler: PowerEventHandler) -> None:
        """Begin delivering to `handler` (on the running loop)."""
        self._handler = handler
        self._queue = asyncio.Queue()
        self._pump = asyncio.create_task(self._deliver(), name=f"libvirt-events:{self._name}")

    async def stop(self) -> None:
        """Stop delivering."""
        tasks = [t for t in (self._pump, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pump = self._queue = self._handler = None

    def on_libvirt_event(self, uuid: str, kind: str) -> None:
        """A lifecycle or reboot event of some domain (any owner's), on the loop."""
        if kind == REBOOT:
            reset = self._reboots.get(uuid)
            if reset is not None:
                reset.set()
        elif self._queue is not None:
            self._queue.put_nowait(uuid)

    def resync(self) -> None:
        """Report every instance's state again (after a reconnect: events may be lost)."""
        self._reported.clear()
        task = asyncio.get_running_loop().create_task(self._requeue_all())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def forget(self, uuid: str) -> None:
        """The instance is gone: a new one with its UUID starts from scratch."""
        self._reported.pop(uuid, None)

    @contextlib.contextmanager
    def reset_of(self, uuid: str) -> Iterator[asyncio.Event]:
        """An event set when the guest `uuid` resets (reboots), while in the block."""
        reset = self._reboots[uuid] = asyncio.Event()
        try:
            yield reset
        finally:
            self._reboots.pop(uuid, None)

    async def _requeue_all(self) -> None:
        try:
            uuids = await self._list_owned()
        except DriverError as exc:
            LOG.warning("cannot list instances after reconnecting: %s", exc)
            return
        if self._queue is not None:
            for uuid in uuids:
                self._queue.put_nowait(uuid)

    async def _deliver(self) -> None:
        assert self._queue is not None
        while True:
            burst = [await self._queue.get()]
            await asyncio.sleep(SETTLE_S)
            while not self._queue.empty():
                burst.append(self._queue.get_nowait())
            for uuid in dict.fromkeys(burst):
                await self._report(uuid)

    async def _report(self, uuid: str) -> None:
        try:
            state = await self._read_state(uuid)
        except InstanceNotFound:
            self.forget(uuid)
            return
        except DriverError as exc:
            LOG.warning("cannot read the state of %s after an event: %s", uuid, exc)
            return
        if state is None or self._reported.get(uuid) == state:  # a later event will follow
            return
        self._reported[uuid] = state
        if self._handler is not None:
            try:
                await self._handler(uuid, state)
            except Exception:
                LOG.exception("power event handler failed for %s", uuid)
