"""Keeps credentials carried in URLs out of the logs.

A console URL's token is its only credential, and uvicorn logs the path and
query of every websocket handshake; this filter masks `token=` values there.
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"((?:^|[?&])token=)[^&\s\"]*", re.IGNORECASE)
# The loggers that print request paths with their query strings.
_LOGGERS = ("uvicorn.error", "uvicorn.access")


def redact(text: str) -> str:
    """`text` with the value of every `token=` query parameter masked."""
    return _TOKEN.sub(r"\1***", text)


class QueryTokenFilter(logging.Filter):
    """Masks `token=` query values in a record's arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(arg) if isinstance(arg, str) and "token=" in arg.lower() else arg
                for arg in record.args
            )
        return True


def install() -> None:
    """Put the filter on uvicorn's loggers, once per process."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QueryTokenFilter) for f in logger.filters):
            logger.addFilter(QueryTokenFilter())
