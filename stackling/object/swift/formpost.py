"""Form POST: browsers upload straight into a container with a signed HTML form."""

from __future__ import annotations

from starlette.responses import Response

from stackling.common import errors
from stackling.object.swift.call import Call


async def handle(call: Call) -> Response:
    """A multipart/form-data POST to a container (or prefix) signed with a temp URL key."""
    raise errors.NotImplementedYet("Form POST is not supported yet.")
