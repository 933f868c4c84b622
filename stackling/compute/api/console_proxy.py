"""The serial console proxy: a websocket on one side, a guest's serial port on the other.

It plays nova-serialproxy's part on the main port. The token in the URL is the
only credential (browsers cannot send headers with a websocket), so it is
checked before the handshake is accepted, and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from stackling.compute.drivers.base import DriverError
from stackling.compute.drivers.console import ConsoleStream
from stackling.compute.service import consoles

LOG = logging.getLogger(__name__)
router = APIRouter(tags=["compute-console-proxy"])
# RFC 6455 close codes.
POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011


@router.websocket(consoles.SERIAL_PATH)
async def serial_console(ws: WebSocket) -> None:
    """Join the client to the serial console its token grants, until either side leaves."""
    plugin = ws.app.state.runtime.service("compute")
    grant = await consoles.live_grant(plugin.svc, ws.query_params.get("token", ""))
    agent = None
    if grant is not None:
        agent = next((a for a in plugin.agents if a.host == grant.host), None)
    if grant is None or agent is None:
        # Before accept, a close is a 403 to the handshake.
        await ws.close(code=POLICY_VIOLATION)
        return
    offered = ws.scope.get("subprotocols") or []
    await ws.accept(subprotocol="binary" if "binary" in offered else None)
    try:
        console = await agent.open_console(grant.instance_uuid)
    except DriverError as exc:
        await ws.close(code=INTERNAL_ERROR, reason=str(exc)[:120])
        return
    LOG.info("serial console of %s opened", grant.instance_uuid)
    try:
        await _pump(ws, console)
    finally:
        await agent.close_console(grant.instance_uuid, console)
        LOG.info("serial console of %s closed", grant.instance_uuid)


async def _pump(ws: WebSocket, console: ConsoleStream) -> None:
    """Copy both ways; when one direction ends, the other is stopped."""

    async def to_client() -> None:
        while data := await console.read():
            await ws.send_bytes(data)

    async def to_guest() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode()
            await console.write(data)

    tasks = [asyncio.create_task(to_client()), asyncio.create_task(to_guest())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        exc = task.exception()
        if exc is not None and not isinstance(exc, (WebSocketDisconnect, RuntimeError)):
            LOG.warning("serial console proxy stopped: %s", exc)
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await ws.close()
