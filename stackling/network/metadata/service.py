"""The metadata server as the network service runs it: one per host, started with the agent."""

from __future__ import annotations

from pathlib import Path

from stackling.network.metadata.lookup import PortOwner, instance_at
from stackling.network.metadata.server import MetadataServer, Upstream
from stackling.network.service.core import NetworkService
from stackling.settings import Settings


def socket_path(settings: Settings) -> Path:
    """Where this host's metadata server listens (the proxies' --upstream)."""
    return settings.data_dir / "network" / "metadata.sock"


class MetadataService:
    """The host's metadata server: instances found through this service's ports."""

    def __init__(self, svc: NetworkService, upstream: Upstream, path: Path | None = None) -> None:
        self.svc = svc
        self.path = path or socket_path(svc.settings)
        self.server = MetadataServer(self.path, self._resolve, upstream)

    async def _resolve(self, network_id: str, address: str) -> PortOwner | None:
        return await instance_at(self.svc, network_id, address)

    async def start(self) -> None:
        """Listen on the socket."""
        await self.server.start()

    async def stop(self) -> None:
        """Stop listening; proxies answer 502 until it is back."""
        await self.server.stop()
