"""The bus interface. Messages name resources by id and never carry their state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

Message = dict[str, Any]
Handler = Callable[[Message], Awaitable[Any]]


class BusTimeout(Exception):
    """A call got no reply in time."""


class NoConsumer(Exception):
    """A call or cast went to a topic nobody serves."""


class Bus(Protocol):
    """Point-to-point (cast, call) and fan-out (publish) messaging."""

    async def start(self) -> None:
        """Connect and start delivering."""
        ...

    async def stop(self) -> None:
        """Finish in-flight deliveries and disconnect."""
        ...

    def serve(self, topic: str, handler: Handler) -> None:
        """Consume casts and calls sent to `topic` (one consumer gets each message)."""
        ...

    async def cast(self, topic: str, message: Message) -> None:
        """Send without waiting for the handler."""
        ...

    async def call(self, topic: str, message: Message, timeout: float | None = None) -> Any:
        """Send and wait for the handler's result; BusTimeout after `timeout` seconds."""
        ...

    def subscribe(self, event: str, handler: Handler) -> None:
        """Receive every message published under `event`."""
        ...

    async def publish(self, event: str, message: Message) -> None:
        """Deliver to every subscriber of `event`."""
        ...
