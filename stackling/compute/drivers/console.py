"""Interactive serial consoles: a byte stream to a guest's serial port.

The websocket proxy pumps bytes between a client and one of these. The libvirt
driver opens the pseudo-terminal QEMU made for the guest's serial port (the
console log keeps being written by QEMU whatever happens here); the fake
driver answers with an echo, as a terminal in echo mode would.
"""

from __future__ import annotations

import asyncio
import errno
import os
import termios
import tty
from collections.abc import Callable
from typing import Protocol

READ_CHUNK = 65536


class ConsoleStream(Protocol):
    """Bytes to and from a guest's serial port."""

    async def read(self) -> bytes:
        """The next bytes from the guest; b"" once the console is gone."""
        ...

    async def write(self, data: bytes) -> None:
        """Send `data` to the guest as typed input."""
        ...

    async def close(self) -> None:
        """Let go of the console; the guest keeps running."""
        ...


class PtyConsole:
    """The slave side of the pseudo-terminal QEMU attached to a guest's serial port."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = -1
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()

    async def open(self) -> PtyConsole:
        """Open the terminal in raw mode, so nothing is echoed back or line-buffered."""
        fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            tty.setraw(fd, termios.TCSANOW)
        except termios.error:
            os.close(fd)
            raise
        self._fd = fd
        asyncio.get_running_loop().add_reader(fd, self._readable)
        return self

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            # EIO: QEMU closed the master side (the guest stopped).
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._fd)
        self._chunks.put_nowait(data)

    async def read(self) -> bytes:
        """The next bytes from the guest; b"" once QEMU has let go of the terminal."""
        if self._fd < 0:
            return b""
        return await self._chunks.get()

    async def write(self, data: bytes) -> None:
        """Write all of `data`, waiting while the terminal's buffer is full."""
        view = memoryview(data)
        while view and self._fd >= 0:
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                await _writable(self._fd)
            except OSError as exc:
                if exc.errno == errno.EIO:
                    return
                raise

    async def close(self) -> None:
        """Stop reading and close the terminal."""
        if self._fd < 0:
            return
        fd, self._fd = self._fd, -1
        asyncio.get_running_loop().remove_reader(fd)
        os.close(fd)
        self._chunks.put_nowait(b"")


async def _writable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    loop.add_writer(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await asyncio.wait_for(ready, 5.0)
    finally:
        loop.remove_writer(fd)


class EchoConsole:
    """The fake driver's console: what is typed comes back, and lands in the log."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._closed = False

    async def read(self) -> bytes:
        """What was typed, echoed back; b"" once closed."""
        if self._closed and self._chunks.empty():
            return b""
        return await self._chunks.get()

    async def write(self, data: bytes) -> None:
        """Echo `data` and record each full line in the console log."""
        if self._closed:
            return
        self._chunks.put_nowait(data)
        for line in data.decode(errors="replace").splitlines():
            if line:
                self._log(line)

    async def close(self) -> None:
        """Wake a pending read with EOF."""
        self._closed = True
        self._chunks.put_nowait(b"")
