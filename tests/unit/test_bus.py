"""The in-process bus: cast, call, timeouts, publish/subscribe."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from stackling.bus.base import BusTimeout, NoConsumer
from stackling.bus.local import LocalBus


async def test_cast_reaches_the_consumer_in_order() -> None:
    bus = LocalBus()
    seen: list[Any] = []
    done = asyncio.Event()

    async def handler(message: dict[str, Any]) -> None:
        seen.append(message["id"])
        if len(seen) == 3:
            done.set()

    bus.serve("compute", handler)
    await bus.start()
    for i in range(3):
        await bus.cast("compute", {"kind": "instance", "id": i})
    await asyncio.wait_for(done.wait(), 2)
    await bus.stop()
    assert seen == [0, 1, 2]


async def test_call_returns_the_result_and_raises_the_error() -> None:
    bus = LocalBus()

    async def handler(message: dict[str, Any]) -> int:
        if message["x"] < 0:
            raise ValueError("negative")
        return message["x"] * 2

    bus.serve("math", handler)
    await bus.start()
    assert await bus.call("math", {"x": 21}) == 42
    with pytest.raises(ValueError, match="negative"):
        await bus.call("math", {"x": -1})
    await bus.stop()


async def test_call_times_out() -> None:
    bus = LocalBus()

    async def slow(message: dict[str, Any]) -> None:
        await asyncio.sleep(5)

    bus.serve("slow", slow)
    await bus.start()
    with pytest.raises(BusTimeout):
        await bus.call("slow", {}, timeout=0.05)
    await bus.stop()


async def test_unknown_topic_is_an_error() -> None:
    bus = LocalBus()
    await bus.start()
    with pytest.raises(NoConsumer):
        await bus.cast("nobody", {})


async def test_publish_reaches_every_subscriber_even_if_one_fails() -> None:
    bus = LocalBus()
    got: list[str] = []

    async def broken(message: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    async def good(message: dict[str, Any]) -> None:
        got.append(message["id"])

    bus.subscribe("instance.deleted", broken)
    bus.subscribe("instance.deleted", good)
    await bus.publish("instance.deleted", {"id": "abc"})
    assert got == ["abc"]


async def test_messages_are_copied() -> None:
    bus = LocalBus()
    received: list[dict[str, Any]] = []

    async def handler(message: dict[str, Any]) -> None:
        message["mutated"] = True
        received.append(message)

    bus.subscribe("e", handler)
    original = {"id": "1"}
    await bus.publish("e", original)
    assert "mutated" not in original
