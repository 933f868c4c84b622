"""One libvirt connection: opened in a thread, reopened when libvirtd goes away.

Every blocking libvirt call runs in a worker thread (`call`). Domain lifecycle and
reboot events, which libvirt raises on its event thread, reach the asyncio loop
through `on_event(uuid, kind)`. When libvirtd restarts, the close callback drops
the connection and a background task reconnects (starting the daemons again if
they are gone); any call made meanwhile reconnects by itself first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import libvirt

from stackling.compute.drivers.base import DriverError, InstanceNotFound
from stackling.compute.drivers.libvirt import daemons, events

LOG = logging.getLogger(__name__)

T = TypeVar("T")
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
RECONNECT_MAX_DELAY_S = 10.0
_CONNECTION_ERRORS = {libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_ERR_RPC}

EventSink = Callable[[str, str], None]


class Connection:
    """A libvirt connection that survives libvirtd restarts."""

    def __init__(self, uri: str, on_event: EventSink, on_reconnect: Callable[[], None]) -> None:
        self.uri = uri
        self._on_event = on_event
        self._on_reconnect = on_reconnect
        self._conn: libvirt.virConnect | None = None
        self._callback_ids: list[int] = []
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False

    async def open(self) -> None:
        """Connect now (starting local daemons if needed); DriverError if that fails."""
        self._closed = False
        self._loop = asyncio.get_running_loop()
        events.ensure_event_loop()
        await self.get()

    async def get(self) -> libvirt.virConnect:
        """The live connection, reconnecting first if it has dropped."""
        conn = self._conn
        if conn is not None and conn.isAlive():
            return conn
        async with self._lock:
            if self._conn is not None and self._conn.isAlive():
                return self._conn
            if self._closed:
                raise DriverError("the libvirt driver is stopped")
            if self._conn is not None:
                await asyncio.to_thread(self._forget, self._conn)
                self._conn = None
            if daemons.manages_local_daemons(self.uri):
                await daemons.ensure_daemons()
            try:
                self._conn = await asyncio.to_thread(self._connect)
            except libvirt.libvirtError as exc:
                raise DriverError(f"cannot connect to libvirt at {self.uri}: {exc}") from exc
            LOG.info("connected to libvirt at %s", self.uri)
            return self._conn

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(conn, *args)` in a worker thread; libvirt errors become DriverError."""
        conn = await self.get()
        try:
            return await asyncio.to_thread(fn, conn, *args)
        except libvirt.libvirtError as exc:
            if is_connection_error(conn, exc):
                self._lost(conn)
                raise DriverError(f"lost the connection to libvirt ({self.uri}): {exc}") from exc
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                # Undefined while we were working on it: for the caller it is simply gone.
                raise InstanceNotFound(str(exc)) from exc
            raise DriverError(str(exc)) from exc

    async def close(self) -> None:
        """Stop reconnecting, deregister callbacks and close the connection."""
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
            self._reconnecting = None
        async with self._lock:
            if self._conn is not None:
                await asyncio.to_thread(self._forget, self._conn)
                self._conn = None

    # -- on a worker thread ---------------------------------------------------

    def _connect(self) -> libvirt.virConnect:
        conn = libvirt.open(self.uri)
        try:
            conn.setKeepAlive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT)
            conn.registerCloseCallback(self._closed_cb, None)
            self._callback_ids = [
                conn.domainEventRegisterAny(
                    None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle_cb, None
                ),
                conn.domainEventRegisterAny(
                    None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, self._reboot_cb, None
                ),
            ]
        except libvirt.libvirtError:
            conn.close()
            raise
        return conn

    def _forget(self, conn: libvirt.virConnect) -> None:
        ids, self._callback_ids = self._callback_ids, []
        with contextlib.suppress(libvirt.libvirtError):
            for callback_id in ids:
                conn.domainEventDeregisterAny(callback_id)
            conn.unregisterCloseCallback()
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()

    # -- on libvirt's event thread --------------------------------------------

    def _lifecycle_cb(self, _c: Any, dom: Any, _event: int, _detail: int, _o: Any) -> None:
        if self._loop is not None:
            events.forward(self._loop, self._on_event, dom.UUIDString(), events.LIFECYCLE)

    def _reboot_cb(self, _c: Any, dom: Any, _o: Any) -> None:
        if self._loop is not None:
            events.forward(self._loop, self._on_event, dom.UUIDString(), events.REBOOT)

    def _closed_cb(self, conn: Any, reason: int, _o: Any) -> None:
        LOG.warning("libvirt connection to %s closed (reason %s)", self.uri, reason)
        if self._loop is not None:
            events.forward(self._loop, self._lost, conn)

    # -- on the asyncio loop ----------------------------------------------------

    def _lost(self, conn: libvirt.virConnect) -> None:
        if self._closed or conn is not self._conn:
            return
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.create_task(self._reconnect(), name="libvirt-reconnect")

    async def _reconnect(self) -> None:
        delay = 0.5
        while not self._closed:
            try:
                await self.get()
            except DriverError as exc:
                LOG.warning("reconnecting to libvirt failed (retrying in %.1fs): %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY_S)
                continue
            # Events may have been missed while disconnected: let the driver resync.
            self._on_reconnect()
            return


def is_connection_error(conn: libvirt.virConnect, exc: libvirt.libvirtError) -> bool:
    """Whether `exc` means the connection itself is gone (rather than the call failing)."""
    if exc.get_error_code() in _CONNECTION_ERRORS:
        return True
    if exc.get_error_domain() == libvirt.VIR_FROM_RPC:
        return True
    try:
        return not conn.isAlive()
    except libvirt.libvirtError:
        return True
