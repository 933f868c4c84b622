"""What an object's GET serves: its own bytes, or a large object's segments.

A static large object (SLO) lists its segments in a manifest; a dynamic one
(DLO) serves every object under a prefix, in name order, at the time of the GET.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackling.common import errors
from stackling.object import models as m
from stackling.object.swift.call import Call
from stackling.object.swift.content import Content

SLO = "x-static-large-object"
DLO = "x-object-manifest"


@dataclass(frozen=True, slots=True)
class Served:
    """The bytes a GET serves and the ETag header that goes with them."""

    content: Content
    etag: str


def is_large(row: m.StoredObject) -> bool:
    """Whether GET assembles the object from segments."""
    return SLO in row.meta or DLO in row.meta


async def served(call: Call, container: m.ObjectContainer, row: m.StoredObject) -> Served:
    """The content a GET of `row` serves (a manifest's segments, unless asked for itself)."""
    if not is_large(row) or call.query.get("multipart-manifest") == "get":
        return Served(Content.whole(row.file_id, await _own_size(call, row)), row.etag)
    raise errors.NotImplementedYet("Large objects are not served yet.")


async def _own_size(call: Call, row: m.StoredObject) -> int:
    if not is_large(row):
        return row.size
    return await call.svc.store.size(row.file_id)
