"""Account requests: HEAD and GET (totals, metadata, the container listing) and POST."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from stackling.common import errors
from stackling.object.service import accounts, clock
from stackling.object.service.accounts import Account
from stackling.object.swift import listings, meta
from stackling.object.swift.call import Call

POLICY = "Policy-0"
QUOTA = "x-account-meta-quota-bytes"
QUOTA_HEADERS = ("x-account-quota-bytes", "x-account-quota-count")


def _headers(acct: Account) -> dict[str, str]:
    stamp = acct.timestamp or clock.now()
    headers = {
        "X-Account-Container-Count": str(acct.container_count),
        "X-Account-Object-Count": str(acct.object_count),
        "X-Account-Bytes-Used": str(acct.bytes_used),
        "X-Timestamp": stamp,
        "X-Put-Timestamp": stamp,
        "Accept-Ranges": "bytes",
    }
    if acct.container_count:
        p = f"X-Account-Storage-Policy-{POLICY}"
        headers[f"{p}-Container-Count"] = str(acct.container_count)
        headers[f"{p}-Object-Count"] = str(acct.object_count)
        headers[f"{p}-Bytes-Used"] = str(acct.bytes_used)
    headers.update(meta.render(acct.meta))
    return headers


def _entry(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "count": row.object_count,
        "bytes": row.bytes_used,
        "last_modified": clock.iso(row.timestamp),
    }


async def head(call: Call) -> Response:
    """Totals and metadata."""
    acct = await accounts.get_account(call.svc, call.account)
    return call.reply(204, headers=_headers(acct))


async def get(call: Call) -> Response:
    """Totals, metadata and the containers."""
    q = listings.query(call, call.svc.conf.account_listing_limit)
    fmt = listings.out_format(call)
    acct = await accounts.get_account(call.svc, call.account)
    items = await accounts.list_containers(call.svc, call.account, q)
    headers = _headers(acct)
    if not items and fmt == "plain":
        return call.reply(204, headers=headers)
    body = listings.render(fmt, "account", f"AUTH_{call.account}", "container", items, _entry)
    return call.reply(200, body, headers, listings.CONTENT_TYPES[fmt])


async def post(call: Call) -> Response:
    """Set or remove metadata; quotas and temp URL keys are metadata too."""
    changes = meta.changes(call.headers, "account", call.svc.conf)
    # Swift 2.34's quota headers (not metadata), beside the older X-Account-Meta-Quota-Bytes.
    for key in QUOTA_HEADERS:
        if key in call.headers:
            changes[key] = call.headers[key].strip()
        elif f"x-remove-{key[2:]}" in call.headers:
            changes[key] = ""
    for key in (QUOTA, *QUOTA_HEADERS):
        if key not in changes:
            continue
        if not call.is_reseller:
            raise errors.Forbidden("Access was denied to this resource.")
        if changes[key] and not changes[key].isdigit():
            raise errors.BadRequest("Invalid quota value")
    await accounts.update_meta(call.svc, call.account, changes)
    return call.reply(204)
