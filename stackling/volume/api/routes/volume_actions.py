"""Every POST /volumes/{id}/action handler by name, gathered from the modules owning them."""

from __future__ import annotations

from stackling.volume.api.routes import attach_actions, basic_actions, data_actions
from stackling.volume.api.routes.action_types import Handler

HANDLERS: dict[str, Handler] = {
    **basic_actions.HANDLERS,
    **attach_actions.HANDLERS,
    **data_actions.HANDLERS,
}
