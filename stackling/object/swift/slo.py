"""Static large objects: manifests of segments, checked when written, flattened when read.

The manifest is stored as the object's bytes, in Swift's stored form (one
{"name", "bytes", "hash", "content_type", "last_modified"[, "range"][, "sub_slo"]}
per segment); the row lists the total size and the SLO ETag, as Swift's
container listings do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from stackling.common import errors
from stackling.object import models as m
from stackling.object.errors import LengthRequired, UnprocessableEntity
from stackling.object.service import clock, manifests, objects
from stackling.object.service.objects import NewObject
from stackling.object.swift import access, bulk, content, large, meta
from stackling.object.swift import object as obj_api
from stackling.object.swift.call import Call
from stackling.object.swift.content import Content, Piece

# How deep manifests may nest (Swift's max_slo_recursion_depth).
MAX_DEPTH = 10
_KEYS = {"path", "etag", "size_bytes", "range"}


@dataclass(slots=True)
class _Segment:
    """One object-backed segment of a manifest being PUT."""

    index: int
    path: str
    container: str
    name: str
    etag: str | None
    size: int | None
    range: str | None


async def put_manifest(call: Call, name: str) -> Response:
    """PUT ?multipart-manifest=put: validate the segments and store the manifest."""
    conf = call.svc.conf
    raw = call.headers.get("content-length")
    if raw is None and "chunked" not in call.headers.get("transfer-encoding", "").lower():
        raise LengthRequired("Missing Content-Length header.")
    if raw is not None and raw.isdigit() and int(raw) > conf.max_manifest_size:
        raise errors.PayloadTooLarge(f"Manifest File > {conf.max_manifest_size} bytes")
    container = await access.container_for(call, write=True)
    text = await _read_body(call, conf.max_manifest_size)
    wanted = _parse(text, f"{call.container}/{name}", conf.min_segment_size)
    if len(wanted) > conf.max_manifest_segments:
        raise errors.PayloadTooLarge(
            f"Number of object-backed segments must be <= {conf.max_manifest_segments}"
        )
    fmt = bulk.out_format(call) or "text/plain"
    stored, total, problems = await _resolve(call, wanted, len(wanted))
    if problems:
        return call.reply(400, bulk.render(fmt, {}, problems, "upload"), content_type=fmt)
    slo_etag = etag_of(stored)
    sent = call.headers.get("etag")
    if sent and sent.strip().strip('"').lower() != slo_etag:
        raise UnprocessableEntity("Unprocessable Entity")
    user = meta.object_meta(call.headers, conf)
    user.pop(large.DLO, None)
    doc = json.dumps(stored).encode()
    new = NewObject(
        content_type=obj_api.content_type(call, name),
        meta={**user, large.SLO: "True"},
        delete_at=obj_api.delete_at(call),
        listed_size=total,
        listed_etag=slo_etag,
    )
    row = await objects.put_object(call.svc, container, name, _once(doc), new)
    headers = {"ETag": f'"{slo_etag}"', "Last-Modified": clock.http_date(row.timestamp)}
    return call.reply(201, headers=headers, content_type="text/html; charset=UTF-8")


def etag_of(stored: list[dict[str, Any]]) -> str:
    """Swift's SLO ETag: the md5 of the segments' etags ("etag:range;" for ranged ones)."""
    digest = hashlib.md5(usedforsecurity=False)
    for seg in stored:
        piece = f"{seg['hash']}:{seg['range']};" if seg.get("range") else str(seg["hash"])
        digest.update(piece.encode())
    return digest.hexdigest()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _read_body(call: Call, limit: int) -> bytes:
    got = bytearray()
    async for chunk in obj_api.body(call):
        got += chunk
        if len(got) > limit:
            raise errors.PayloadTooLarge(f"Manifest File > {limit} bytes")
    return bytes(got)


def _parse(text: bytes, own: str, min_size: int) -> list[_Segment]:
    """The manifest's segments; 400 listing every malformed one, as Swift words it."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise errors.BadRequest("Manifest must be valid JSON.\n") from None
    if not isinstance(doc, list):
        raise errors.BadRequest("Manifest must be a list.\n")
    problems: list[str] = []
    out: list[_Segment] = []
    last = len(doc) - 1
    for index, seg in enumerate(doc):
        problem = _check_entry(index, seg, own, min_size, index == last)
        if isinstance(problem, str):
            problems.append(f"Index {index}: {problem}")
        else:
            out.append(problem)
    if not doc:
        problems.append("Manifest must have at least one segment.")
    if problems:
        raise errors.BadRequest("".join(p + "\n" for p in problems))
    return out


def _check_entry(index: int, seg: Any, own: str, min_size: int, last: bool) -> _Segment | str:
    """A well-formed segment, or what is wrong with it."""
    if not isinstance(seg, dict):
        return "not a JSON object"
    if "data" in seg:
        return "inline data segments are not supported"
    if "path" not in seg:
        return "expected keys to include one of 'data' or 'path'"
    extra = sorted(k for k in seg if k not in _KEYS)
    if extra:
        return "extraneous keys " + ", ".join(json.dumps(k) for k in extra)
    path = seg["path"]
    if not isinstance(path, str):
        return '"path" must be a string'
    etag = seg.get("etag")
    if etag is not None and not isinstance(etag, str):
        return '"etag" must be a string or null (if provided)'
    if "/" not in path.strip("/"):
        return "path does not refer to an object. Path must be of the form /container/object."
    size = seg.get("size_bytes")
    if size is not None:
        try:
            size = int(size)
        except (TypeError, ValueError):
            return "invalid size_bytes"
        if size < min_size and not last:
            return _too_small(min_size).lower()
    container, _, name = path.lstrip("/").partition("/")
    if path.lstrip("/") == own:
        return "manifest must not include itself as a segment"
    rng = seg.get("range")
    if rng:
        if not isinstance(rng, str) or content.parse_ranges(f"bytes={rng}", 2**62) is None:
            return "invalid range"
        if "," in rng:
            return "multiple ranges (only one allowed)"
        if size is not None and not content.parse_ranges(f"bytes={rng}", size):
            return "unsatisfiable range"
    return _Segment(
        index=index,
        path=path,
        container=container,
        name=name,
        etag=etag.strip('"') if etag else None,
        size=size,
        range=rng or None,
    )


def _too_small(min_size: int) -> str:
    unit = "byte" if min_size == 1 else "bytes"
    return f"Too small; each segment must be at least {min_size} {unit}."


async def _lookup(
    call: Call, wanted: list[tuple[str, str]]
) -> dict[tuple[str, str], m.StoredObject | errors.StacklingError]:
    """The rows the caller may read among (container, name) pairs, or why not."""
    by_container: dict[str, list[str]] = {}
    for cont, name in wanted:
        by_container.setdefault(cont, []).append(name)
    out: dict[tuple[str, str], m.StoredObject | errors.StacklingError] = {}
    for cont, names in by_container.items():
        try:
            row = await access.container_for(large.at(call, cont), write=False)
        except errors.StacklingError as err:
            out.update({(cont, n): err for n in names})
            continue
        found = await manifests.objects_named(call.svc, row.id, names)
        missing = errors.NotFound("The resource could not be found.")
        out.update({(cont, n): found.get(n, missing) for n in names})
    return out


async def _resolve(
    call: Call, wanted: list[_Segment], count: int
) -> tuple[list[dict[str, Any]], int, list[list[str]]]:
    """The stored form of each segment, the total size, and the problems found."""
    rows = await _lookup(call, [(w.container, w.name) for w in wanted])
    min_size = call.svc.conf.min_segment_size
    stored: list[dict[str, Any]] = []
    problems: list[list[str]] = []
    total = 0
    for seg in wanted:
        row = rows[(seg.container, seg.name)]
        if isinstance(row, errors.StacklingError):
            problems.append([quote(seg.path), bulk.status_line(row.status, row.title)])
            continue
        length = row.size
        entry: dict[str, Any] = {
            "name": "/" + seg.path.lstrip("/"),
            "bytes": row.size,
            "hash": row.etag,
            "content_type": row.content_type,
            "last_modified": clock.iso(row.timestamp),
        }
        if seg.range:
            ranges = content.parse_ranges(f"bytes={seg.range}", row.size)
            if not ranges:
                problems.append([quote(seg.path), "Unsatisfiable Range"])
            elif ranges[0] != (0, row.size - 1):
                first, last = ranges[0]
                entry["range"] = f"{first}-{last}"
                length = last - first + 1
        if length < min_size and seg.index != count - 1:
            problems.append([quote(seg.path), _too_small(min_size)])
        if seg.size is not None and seg.size != row.size:
            problems.append([quote(seg.path), "Size Mismatch"])
        if seg.etag is not None and seg.etag != row.etag:
            problems.append([quote(seg.path), "Etag Mismatch"])
        if large.SLO in row.meta:
            entry["sub_slo"] = True
        stored.append(entry)
        total += length
    return stored, total, problems


async def assemble(call: Call, row: m.StoredObject, depth: int = 1) -> Content:
    """The bytes an SLO serves: its segments' pieces, sub-manifests flattened.

    A segment gone or changed since the manifest was written makes the GET a
    409 before anything is sent (Swift would cut the body short instead).
    """
    entries = await _entries(call, row)
    wanted = [_split(e) for e in entries]
    rows = await _lookup(call, wanted)
    pieces: list[Piece] = []
    for entry, key in zip(entries, wanted, strict=True):
        seg = rows[key]
        if isinstance(seg, errors.StacklingError) or seg.etag != entry.get("hash"):
            raise errors.Conflict(f"Object segment no longer valid: {entry.get('name')}")
        if large.SLO in seg.meta:
            if depth >= MAX_DEPTH:
                raise errors.Conflict("Max recursion depth exceeded on a static large object")
            inner = list((await assemble(call, seg, depth + 1)).pieces)
        else:
            inner = [Piece(seg.file_id, 0, seg.size)]
        rng = entry.get("range")
        if rng:
            size = sum(p.length for p in inner)
            ranges = content.parse_ranges(f"bytes={rng}", size)
            if not ranges:
                raise errors.Conflict(f"Object segment no longer valid: {entry.get('name')}")
            first, last = ranges[0]
            inner = _slice(inner, first, last - first + 1)
        pieces.extend(p for p in inner if p.length)
    return Content(tuple(pieces))


async def _entries(call: Call, row: m.StoredObject) -> list[dict[str, Any]]:
    data = bytearray()
    async for chunk in call.svc.store.read(row.file_id):
        data += chunk
    try:
        entries = json.loads(bytes(data))
    except ValueError:
        entries = None
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries
    ):
        raise errors.Conflict(f"Not a valid static large object manifest: {row.name}")
    return entries


def _split(entry: dict[str, Any]) -> tuple[str, str]:
    cont, _, name = str(entry["name"]).lstrip("/").partition("/")
    return cont, name


def _slice(pieces: list[Piece], first: int, length: int) -> list[Piece]:
    """`length` bytes from `first` of the pieces laid end to end."""
    out: list[Piece] = []
    for piece in pieces:
        if length <= 0:
            break
        if first >= piece.length:
            first -= piece.length
            continue
        take = min(piece.length - first, length)
        out.append(Piece(piece.file_id, piece.start + first, take))
        length -= take
        first = 0
    return out


async def delete_manifest(call: Call, container: m.ObjectContainer, name: str) -> Response:
    """DELETE ?multipart-manifest=delete: the manifest and its segments."""
    fmt = bulk.out_format(call)
    limit = call.svc.conf.max_manifest_segments * 10
    items: list[bulk.Item] = []
    # (path, is a manifest still to open); manifests go after their segments.
    queue: list[tuple[str, bool]] = [(f"/{container.name}/{name}", True)]
    while queue:
        if len(queue) > limit:
            raise errors.BadRequest("Too many buffered slo segments to delete.")
        path, is_manifest = queue.pop(0)
        if not is_manifest:
            items.append(bulk.Item(path))
            continue
        try:
            entries = await _manifest_at(call, path)
        except errors.StacklingError as err:
            items.append(bulk.Item(path, err))
            continue
        queue.extend((str(e["name"]), bool(e.get("sub_slo"))) for e in entries)
        queue.append((path, False))
    return await bulk.delete_items(call, items, fmt)


async def _manifest_at(call: Call, path: str) -> list[dict[str, Any]]:
    cont, _, name = path.lstrip("/").partition("/")
    row_container = await access.container_for(large.at(call, cont), write=False)
    try:
        row = await objects.get_object(call.svc, row_container.id, name)
    except errors.NotFound:
        raise errors.NotFound("SLO manifest not found") from None
    if large.SLO not in row.meta:
        raise errors.BadRequest("Not an SLO manifest")
    return await _entries(call, row)
