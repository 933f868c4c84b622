"""Base images cached on the host, fetched once from the image service per image."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from stackling.common.context import RequestContext
from stackling.compute.drivers.base import DriverError


class ImageCache:
    """`<dir>/<image id>`: complete files only (written under a temporary name, then renamed)."""

    def __init__(self, root: Path, image_service: Any) -> None:
        self.root = root
        self.image_service = image_service
        self._locks: dict[str, asyncio.Lock] = {}

    def path(self, image_id: str) -> Path:
        """Where an image's cached copy lives."""
        return self.root / image_id

    async def fetch(self, ctx: RequestContext, image_id: str) -> Path:
        """The cached copy of an image, downloaded on first use."""
        from stackling.image.service import data as image_data

        path = self.path(image_id)
        if path.exists():
            return path
        lock = self._locks.setdefault(image_id, asyncio.Lock())
        async with lock:
            if path.exists():
                return path
            await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
            tmp = path.with_name(f".{image_id}.part")
            download = await image_data.download(self.image_service, ctx, image_id, None)
            if download.chunks is None:
                raise DriverError(f"Image {image_id} has no data.")
            fd = await asyncio.to_thread(os.open, tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                async for chunk in download.chunks:
                    await asyncio.to_thread(os.write, fd, chunk)
                await asyncio.to_thread(os.fsync, fd)
            finally:
                os.close(fd)
            await asyncio.to_thread(os.replace, tmp, path)
            return path

    async def sweep_partials(self) -> None:
        """Remove downloads a crash interrupted."""
        if not self.root.exists():
            return
        for leftover in self.root.glob(".*.part"):
            leftover.unlink(missing_ok=True)
