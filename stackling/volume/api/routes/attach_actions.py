"""Volume actions of attaching: reserve, attach, detach, connections, readonly."""

from __future__ import annotations

from stackling.volume.api.routes.action_types import Handler

HANDLERS: dict[str, Handler] = {}
