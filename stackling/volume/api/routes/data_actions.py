"""Volume actions on the volume's data: upload to image, revert to snapshot, retype."""

from __future__ import annotations

from stackling.volume.api.routes.action_types import Handler

HANDLERS: dict[str, Handler] = {}
