"""A work queue that runs one job per key at a time and different keys in parallel.

Agents reconcile by key (an instance id, a network id): a second request for
a key that is being worked on does not run beside the first; it is remembered
and the key is reconciled once more after the current run, so the latest
desired state always wins and duplicates collapse into one extra pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

LOG = logging.getLogger(__name__)

Worker = Callable[[str], Awaitable[None]]


class KeyedQueue:
    """Runs `worker(key)` for submitted keys: serial per key, at most `concurrency` at once."""

    def __init__(self, worker: Worker, *, concurrency: int = 10, name: str = "queue") -> None:
        self._worker = worker
        self._slots = asyncio.Semaphore(concurrency)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._name = name
        self._closed = False

    def submit(self, key: str) -> None:
        """Reconcile `key` soon (once more after the current run if one is in progress)."""
        if self._closed:
            return
        if key in self._running:
            self._again.add(key)
            return
        self._running[key] = asyncio.create_task(self._run(key), name=f"{self._name}:{key}")

    async def _run(self, key: str) -> None:
        try:
            while True:
                self._again.discard(key)
                async with self._slots:
                    try:
                        await self._worker(key)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        LOG.exception("%s: reconciling %s failed", self._name, key)
                if key not in self._again or self._closed:
                    return
        finally:
            self._running.pop(key, None)

    @property
    def busy(self) -> int:
        """Keys queued or running."""
        return len(self._running)

    async def drain(self) -> None:
        """Wait until no key is queued or running."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def close(self) -> None:
        """Cancel what runs; nothing more is accepted."""
        self._closed = True
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
