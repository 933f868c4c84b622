"""Dynamic large objects: every object under a prefix, in name order, read at GET time."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote

from stackling.object import models as m
from stackling.object.service import manifests
from stackling.object.swift import access, large
from stackling.object.swift.call import Call
from stackling.object.swift.content import Content, Piece

# Swift reads one listing page of segments up front; more than that are not served.
MAX_SEGMENTS = 10000


def target(row: m.StoredObject) -> tuple[str, str]:
    """The (container, prefix) an X-Object-Manifest value names."""
    container, _, prefix = unquote(str(row.meta[large.DLO])).lstrip("/").partition("/")
    return container, prefix


async def assemble(call: Call, row: m.StoredObject) -> large.Served:
    """The segments' bytes one after another, and the ETag Swift gives a DLO."""
    container_name, prefix = target(row)
    # Listing the segments needs read access there, as a GET of that listing would.
    container = await access.container_for(
        large.at(call, container_name), write=False, listing=True
    )
    rows = await manifests.under_prefix(call.svc, container.id, prefix, MAX_SEGMENTS)
    pieces: list[Piece] = []
    etag = hashlib.md5(usedforsecurity=False)
    for seg in rows:
        etag.update(seg.etag.strip('"').encode())
        if large.SLO in seg.meta:
            from stackling.object.swift import slo

            pieces.extend((await slo.assemble(call, seg)).pieces)
        elif seg.size:
            pieces.append(Piece(seg.file_id, 0, seg.size))
    return large.Served(Content(tuple(pieces)), etag.hexdigest())
