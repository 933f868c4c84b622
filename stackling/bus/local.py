"""The in-process bus: asyncio queues, one consumer task per served topic."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from stackling.bus.base import BusTimeout, Handler, Message, NoConsumer

LOG = logging.getLogger(__name__)


class LocalBus:
    """A Bus for one process: casts queue per topic, calls await a future."""

    def __init__(self, call_timeout_s: float = 60.0) -> None:
        self.call_timeout_s = call_timeout_s
        self._servers: dict[str, Handler] = {}
        self._queues: dict[str, asyncio.Queue[tuple[Message, asyncio.Future[Any] | None]]] = {}
        self._subscribers: dict[str, list[Handler]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    async def start(self) -> None:
        """Start one consumer per served topic."""
        self._started = True
        for topic in self._servers:
            self._spawn(topic)

    def _spawn(self, topic: str) -> None:
        self._tasks.append(asyncio.create_task(self._consume(topic), name=f"bus:{topic}"))

    async def stop(self) -> None:
        """Cancel the consumers."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._started = False

    def serve(self, topic: str, handler: Handler) -> None:
        """Consume messages sent to `topic`."""
        if topic in self._servers:
            raise ValueError(f"topic {topic!r} already has a consumer")
        self._servers[topic] = handler
        self._queues[topic] = asyncio.Queue()
        if self._started:
            self._spawn(topic)

    async def _consume(self, topic: str) -> None:
        queue = self._queues[topic]
        handler = self._servers[topic]
        while True:
            message, reply = await queue.get()
            try:
                result = await handler(message)
            except Exception as exc:
                if reply is not None and not reply.done():
                    reply.set_exception(exc)
                else:
                    LOG.exception("cast to %s failed", topic)
            else:
                if reply is not None and not reply.done():
                    reply.set_result(result)
            finally:
                queue.task_done()

    def _queue(self, topic: str) -> asyncio.Queue[tuple[Message, asyncio.Future[Any] | None]]:
        try:
            return self._queues[topic]
        except KeyError:
            raise NoConsumer(topic) from None

    async def cast(self, topic: str, message: Message) -> None:
        """Queue for the topic's consumer."""
        self._queue(topic).put_nowait((dict(message), None))

    async def call(self, topic: str, message: Message, timeout: float | None = None) -> Any:
        """Queue and wait for the reply."""
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue(topic).put_nowait((dict(message), reply))
        try:
            return await asyncio.wait_for(reply, timeout or self.call_timeout_s)
        except TimeoutError:
            raise BusTimeout(
                f"no reply from {topic} in {timeout or self.call_timeout_s}s"
            ) from None

    def subscribe(self, event: str, handler: Handler) -> None:
        """Add a subscriber."""
        self._subscribers.setdefault(event, []).append(handler)

    async def publish(self, event: str, message: Message) -> None:
        """Run every subscriber; one failing does not stop the others."""
        for handler in list(self._subscribers.get(event, ())):
            try:
                await handler(dict(message))
            except Exception:
                LOG.exception("subscriber of %s failed", event)
