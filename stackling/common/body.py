"""Reading JSON request bodies: one parser, so every API refuses the same bad input alike."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from stackling.common import errors


def content_type(request: Request) -> str:
    """The request's media type, lower case, without parameters."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def parse_json(request: Request) -> Any:
    """The body parsed as JSON; 400 when it is empty or does not parse."""
    raw = await request.body()
    if not raw:
        raise errors.BadRequest("The request body is empty; JSON was expected.")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.BadRequest("The request body is not valid JSON.") from None
    try:
        # JSON may escape a lone UTF-16 surrogate ("\\ud800"): it parses, but is
        # no character, so no database can store it (SQLite raises, PostgreSQL refuses).
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise errors.BadRequest("The request body holds an unpaired UTF-16 surrogate.") from None
    return value
