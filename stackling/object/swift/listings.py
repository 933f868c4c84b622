"""Listing parameters and the json, xml and plain renderings of account and container listings."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from stackling.common import errors
from stackling.object.errors import PreconditionFailed
from stackling.object.service.listing import Query, Subdir
from stackling.object.swift.call import Call


def query(call: Call, max_limit: int) -> Query:
    """The listing a request asks for; 412 for a limit past the maximum, 400 for bad values."""
    q = call.query
    limit = max_limit
    if "limit" in q:
        try:
            limit = int(q["limit"])
        except ValueError:
            raise errors.BadRequest("Value of limit must be a positive integer") from None
        if limit < 0:
            raise errors.BadRequest("Value of limit must be a positive integer")
        if limit > max_limit:
            raise PreconditionFailed(f"Maximum limit is {max_limit}")
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    if "path" in q:
        path = q["path"].rstrip("/")
        prefix, delimiter = (path + "/" if path else ""), "/"
    if len(delimiter) > 1:
        raise errors.BadRequest("Bad delimiter")
    for value in (prefix, delimiter, q.get("marker", ""), q.get("end_marker", "")):
        if "\x00" in value:
            raise errors.BadRequest("Invalid character in a listing parameter")
    return Query(
        limit=limit,
        prefix=prefix,
        marker=q.get("marker", ""),
        end_marker=q.get("end_marker", ""),
        delimiter=delimiter,
        reverse=q.get("reverse", "").lower() in ("true", "1", "yes", "on", "t", "y"),
    )


def out_format(call: Call) -> str:
    """json, xml or plain: from ?format=, else the Accept header, else plain."""
    fmt = call.query.get("format", "").lower()
    if fmt in ("json", "xml", "plain"):
        return fmt
    accept = call.headers.get("accept", "")
    if "application/json" in accept:
        return "json"
    if "application/xml" in accept or "text/xml" in accept:
        return "xml"
    return "plain"


CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
    "plain": "text/plain; charset=utf-8",
}


def render(
    fmt: str,
    root: str,
    root_name: str,
    item_tag: str,
    items: list[Any],
    as_dict: Callable[[Any], dict[str, Any]],
) -> bytes:
    """A listing in the asked format; Subdirs appear as {"subdir": name}."""
    if fmt == "json":
        docs = [{"subdir": i.name} if isinstance(i, Subdir) else as_dict(i) for i in items]
        return json.dumps(docs, ensure_ascii=False, separators=(",", ":")).encode()
    if fmt == "xml":
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} name={quoteattr(root_name)}>']
        for item in items:
            if isinstance(item, Subdir):
                name = escape(item.name)
                parts.append(f"<subdir name={quoteattr(item.name)}><name>{name}</name></subdir>")
                continue
            fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in as_dict(item).items())
            parts.append(f"<{item_tag}>{fields}</{item_tag}>")
        parts.append(f"</{root}>")
        return "".join(parts).encode()
    return "".join(f"{i.name}\n" for i in items).encode()
