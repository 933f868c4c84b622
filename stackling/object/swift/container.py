"""Container requests: PUT, HEAD, GET (the object listing), POST and DELETE."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from stackling.common import errors
from stackling.object import models as m
from stackling.object.service import clock, containers
from stackling.object.swift import access, acl, listings, meta
from stackling.object.swift.account import POLICY
from stackling.object.swift.call import Call

_ACLS = ("x-container-read", "x-container-write")
# Shown to the account's operators only: who may read, and keys that sign temp URLs.
_OWNER_ONLY = (
    *_ACLS,
    "x-container-sync-key",
    "x-container-sync-to",
    "x-container-meta-temp-url-key",
    "x-container-meta-temp-url-key-2",
)
_COUNTS = ("x-container-meta-quota-bytes", "x-container-meta-quota-count")


def check_name(call: Call) -> str:
    """The container name of the path; 400 past Swift's length limit."""
    name = call.container or ""
    limit = call.svc.conf.max_container_name_length
    if len(name.encode()) > limit:
        raise errors.BadRequest(f"Container name length of {len(name)} longer than {limit}")
    return name


def _changes(call: Call) -> dict[str, str]:
    changes = meta.changes(call.headers, "container", call.svc.conf)
    for key in _COUNTS:
        value = changes.get(key)
        if value and not value.isdigit():
            raise errors.BadRequest(f"Invalid {meta.title(key)} value: {value}")
    write_rules = acl.parse(changes.get("x-container-write"))
    if any(r.startswith(".") for r in write_rules):
        raise errors.BadRequest("Referrers are not allowed in a write ACL")
    for key in _ACLS:
        if changes.get(key):
            try:
                acl.validate(changes[key])
            except ValueError as exc:
                raise errors.BadRequest(str(exc)) from None
    for key in ("x-versions-location", "x-history-location"):
        value = changes.get(key)
        if value and (
            "/" in value.strip("/") or len(value) > call.svc.conf.max_container_name_length
        ):
            raise errors.BadRequest(f"Invalid {meta.title(key)} value: {value}")
        if value:
            changes[key] = value.strip("/")
    if changes.get("x-versions-location") and changes.get("x-history-location"):
        raise errors.BadRequest(
            "Only one of X-Versions-Location or X-History-Location may be specified"
        )
    if changes.get("x-versions-location"):
        changes["x-history-location"] = ""
    if changes.get("x-history-location"):
        changes["x-versions-location"] = ""
    policy = call.headers.get("x-storage-policy")
    if policy is not None and policy.lower() != POLICY.lower():
        raise errors.BadRequest(f"Invalid X-Storage-Policy {policy!r}")
    return changes


def _headers(call: Call, row: m.ObjectContainer) -> dict[str, str]:
    headers = {
        "X-Container-Object-Count": str(row.object_count),
        "X-Container-Bytes-Used": str(row.bytes_used),
        "X-Timestamp": row.timestamp,
        "X-Put-Timestamp": row.timestamp,
        "X-Storage-Policy": POLICY,
        "Accept-Ranges": "bytes",
        "Last-Modified": clock.http_date(row.timestamp),
    }
    shown = (
        row.meta if call.is_owner else {k: v for k, v in row.meta.items() if k not in _OWNER_ONLY}
    )
    headers.update(meta.render(shown))
    return headers


def _entry(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "hash": row.etag,
        "bytes": row.size,
        "content_type": row.content_type,
        "last_modified": clock.iso(row.timestamp),
    }


async def put(call: Call) -> Response:
    """Create (201) or update the metadata of (202) a container."""
    name = check_name(call)
    created = await containers.create_container(call.svc, call.account, name, _changes(call))
    return call.reply(201 if created else 202)


async def head(call: Call) -> Response:
    """Totals and metadata."""
    check_name(call)
    row = await access.container_for(call, write=False, listing=True)
    return call.reply(204, headers=_headers(call, row))


async def get(call: Call) -> Response:
    """Totals, metadata and the objects."""
    q = listings.query(call, call.svc.conf.container_listing_limit)
    fmt = listings.out_format(call)
    check_name(call)
    row = await access.container_for(call, write=False, listing=True)
    items = await containers.list_objects(call.svc, row.id, q)
    headers = _headers(call, row)
    if not items and fmt == "plain":
        return call.reply(204, headers=headers)
    body = listings.render(fmt, "container", row.name, "object", items, _entry)
    return call.reply(200, body, headers, listings.CONTENT_TYPES[fmt])


async def post(call: Call) -> Response:
    """Set or remove metadata, ACLs, versioning and quotas."""
    await containers.update_meta(call.svc, call.account, check_name(call), _changes(call))
    return call.reply(204)


async def delete(call: Call) -> Response:
    """Delete an empty container."""
    await containers.delete_container(call.svc, call.account, check_name(call))
    return call.reply(204)
