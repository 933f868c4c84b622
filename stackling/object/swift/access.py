"""Who may do what: the account's operators everything, others what container ACLs grant.

Anonymous callers who are refused get 401 (they may authenticate and try
again); authenticated ones get 403. A missing container is reported as such
only to the account's operators: others learn nothing about the account.
"""

from __future__ import annotations

from stackling.common import errors
from stackling.object import models as m
from stackling.object.service import containers
from stackling.object.swift import acl
from stackling.object.swift.call import Call


def deny(call: Call) -> errors.StacklingError:
    """401 for anonymous callers, 403 for authenticated ones."""
    if call.ctx is None and not call.temp_url:
        return errors.Unauthorized("Unauthorized")
    return errors.Forbidden("Forbidden")


def require_owner(call: Call) -> None:
    """Account-level and container-changing requests are for the account's operators."""
    if not call.is_owner:
        raise deny(call)


async def container_for(call: Call, *, write: bool, listing: bool = False) -> m.ObjectContainer:
    """The path's container, once the caller may read (or write, or list) in it."""
    row = await containers.lookup(call.svc, call.account, call.container or "")
    return check(call, row, write=write, listing=listing)


def check(
    call: Call, row: m.ObjectContainer | None, *, write: bool, listing: bool = False
) -> m.ObjectContainer:
    """The container (already read) once the caller may read, write or list in it."""
    if call.is_owner:
        if row is None:
            raise errors.NotFound("The resource could not be found.")
        return row
    if row is None:
        raise deny(call)
    if write:
        if acl.user_allows(acl.parse(row.meta.get("x-container-write")), call.ctx):
            return row
        raise deny(call)
    rules = acl.parse(row.meta.get("x-container-read"))
    if acl.user_allows(rules, call.ctx):
        return row
    if acl.referrer_allows(rules, call.headers.get("referer")) and (
        not listing or acl.listings_allowed(rules)
    ):
        return row
    raise deny(call)
