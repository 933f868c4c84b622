"""Glance's error format: webob's JSON body, `{"code": "404 Not Found", "title", "message"}`."""

from __future__ import annotations

from typing import Any

from stackling.common import errors


def glance_fault(err: errors.StacklingError) -> dict[str, Any]:
    """The body webob gives a JSON client for an HTTP error, as Glance returns it."""
    return {
        "code": f"{err.status} {err.title}",
        "title": err.title,
        "message": err.message,
    }
