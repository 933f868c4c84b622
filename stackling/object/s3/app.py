"""The S3 API as an ASGI app, path-style: /s3/<bucket>/<key>."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class S3App:
    """Serves /s3."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code>'
            b"<Message>S3 is not available yet.</Message></Error>"
        )
        await Response(body, status_code=501, media_type="application/xml")(scope, receive, send)
