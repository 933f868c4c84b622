"""The shape of a volume action handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Response

from stackling.volume.api.deps import Call

# (call, volume id, the action's argument) -> the response.
Handler = Callable[[Call, str, Any], Awaitable[Response]]
