"""The app served by uvicorn on a real loopback port, in the test's own event loop.

For what an in-process ASGI transport cannot carry, such as websockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn

from stackling.app import build_app
from stackling.settings import Settings
from tests.support.pg import free_port


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Serve the app on a free port; yield a client whose base URL is that server."""
    port = free_port()
    config = uvicorn.Config(
        build_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(60):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            yield c
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
