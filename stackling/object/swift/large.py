"""What an object's GET serves: its own bytes, or a large object's segments.

A static large object (SLO) lists its segments in a manifest; a dynamic one
(DLO) serves every object under a prefix, in name order, at the time of the GET.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

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


def at(call: Call, container: str, obj: str | None = None) -> Call:
    """The same caller, on another path of the same account (a segment, a listed path)."""
    return dataclasses.replace(call, container=container, obj=obj)


async def served(call: Call, container: m.ObjectContainer, row: m.StoredObject) -> Served:
    """The content a GET of `row` serves (a manifest's segments, unless asked for itself)."""
    if not is_large(row) or call.query.get("multipart-manifest") == "get":
        if SLO not in row.meta:
            return Served(Content.whole(row.file_id, row.size), row.etag)
        # The row lists the SLO's etag; the manifest's own is the md5 of its bytes.
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        async for chunk in call.svc.store.read(row.file_id):
            digest.update(chunk)
            size += len(chunk)
        return Served(Content.whole(row.file_id, size), digest.hexdigest())
    # Imported here: both build on this module's helpers.
    if SLO in row.meta:
        from stackling.object.swift import slo

        return Served(await slo.assemble(call, row), row.etag)
    from stackling.object.swift import dlo

    return await dlo.assemble(call, row)
