"""Responses of the compute API: JSON with the microversion headers Nova always sends."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Response

from stackling.compute.api.microversion import Version

VARY = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"


def headers_for(version: Version) -> dict[str, str]:
    """The headers naming the microversion a response was made for."""
    return {
        "OpenStack-API-Version": f"compute {version}",
        "X-OpenStack-Nova-API-Version": str(version),
        "Vary": VARY,
    }


def reply(
    version: Version,
    body: Any = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A response carrying `body` as JSON (no body when None)."""
    all_headers = headers_for(version)
    if headers:
        all_headers.update(headers)
    if body is None:
        return Response(status_code=status, headers=all_headers)
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content, status_code=status, headers=all_headers, media_type="application/json")
