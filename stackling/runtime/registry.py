"""The registry of services: each service package provides one plugin object."""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from fastapi import APIRouter

from stackling.common.faults import Renderer
from stackling.db.engine import Database
from stackling.settings import Settings

# Service name -> "module:factory"; a factory takes (settings, db) and returns a ServicePlugin.
KNOWN_SERVICES: dict[str, str] = {
    "identity": "stackling.identity.plugin:IdentityPlugin",
    "image": "stackling.image.plugin:ImagePlugin",
    "placement": "stackling.placement.plugin:PlacementPlugin",
    "compute": "stackling.compute.plugin:ComputePlugin",
    "network": "stackling.network.plugin:NetworkPlugin",
    "volume": "stackling.volume.plugin:VolumePlugin",
    "object": "stackling.object.plugin:ObjectPlugin",
}


class ServicePlugin(Protocol):
    """What the runtime needs from a service package."""

    name: str
    catalog_type: str
    path_prefix: str
    # Regexes of paths whose request bodies are streamed (exempt from the body limit).
    streamed_paths: tuple[str, ...]

    def router(self) -> APIRouter:
        """Routes, with their full paths; the same for every instance (built once per process)."""
        ...

    def fault_renderer(self) -> Renderer:
        """How this API spells errors."""
        ...

    async def start(self, runtime: Any) -> None:
        """Start background work, after migrations."""
        ...

    async def stop(self) -> None:
        """Stop background work."""
        ...

    async def health(self) -> dict[str, Any]:
        """A small status document for `stackling status`."""
        ...


def load_plugins(settings: Settings, db: Database) -> dict[str, ServicePlugin]:
    """Instantiate the plugin of every enabled service, identity (then object storage) first."""
    # The object service starts right after identity: its start-up deletes
    # unpublished files nobody references, which must happen before any other
    # service (images, backups) can be writing objects.
    first = ["identity", *(["object"] if "object" in settings.services else [])]
    names = list(dict.fromkeys([*first, *settings.services]))
    plugins: dict[str, ServicePlugin] = {}
    for name in names:
        try:
            target = KNOWN_SERVICES[name]
        except KeyError:
            raise ValueError(
                f"unknown service {name!r}; known: {', '.join(sorted(KNOWN_SERVICES))}"
            ) from None
        module_name, _, factory = target.partition(":")
        plugins[name] = getattr(importlib.import_module(module_name), factory)(settings, db)
    return plugins
