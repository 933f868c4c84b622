"""os-server-external-events: what other services tell Nova about its servers.

The events are checked and answered per server exactly as Nova answers them.
Nothing in this cloud waits on one yet: no network service plugs VIFs, no
volume service extends or re-images disks, and power-update only concerns
Ironic's driver; so an accepted event needs no further work.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute.service import checks
from stackling.compute.service.core import ComputeService

_BASE = ("network-changed", "network-vif-plugged", "network-vif-unplugged", "network-vif-deleted")
# Event names and the microversion that added each.
_LATER = {
    "volume-extended": "2.51",
    "power-update": "2.76",
    "accelerator-request-bound": "2.82",
    "volume-reimaged": "2.93",
}
# Events that say which volume (or power state) they are about in their tag.
_TAG_REQUIRED = ("volume-extended", "volume-reimaged")
_STATUSES = ("failed", "completed", "in-progress")
_KEYS = ("server_uuid", "name", "status", "tag")


@dataclass(slots=True)
class Outcome:
    """The events as answered, and the status of the whole request."""

    events: list[dict[str, Any]]
    status: int


def event_names(mv: Version) -> list[str]:
    """The event names a microversion accepts."""
    return [*_BASE, *(name for name, since in _LATER.items() if mv.at_least(since))]


def _check_event(event: Any, names: list[str]) -> dict[str, Any]:
    """One event as Nova's schema allows it; 400 otherwise."""
    field = "events"
    event = checks.obj(event, field)
    checks.only(event, _KEYS, field)
    checks.required(event, ("server_uuid", "name"), field)
    server = event["server_uuid"]
    if not isinstance(server, str):
        raise checks.invalid("server_uuid", server, f"{server!r} is not of type 'string'")
    try:
        uuidlib.UUID(server)
    except ValueError:
        raise checks.invalid("server_uuid", server, f"{server!r} is not a 'uuid'") from None
    name = event["name"]
    if name not in names:
        raise checks.invalid("name", name, f"{name!r} is not one of {names}")
    status = event.get("status", "completed")
    if status not in _STATUSES:
        raise checks.invalid("status", status, f"{status!r} is not one of {list(_STATUSES)}")
    if "tag" in event:
        checks.string(event["tag"], "tag", max_length=255)
    return dict(event)


def parse(body: dict[str, Any], mv: Version) -> list[dict[str, Any]]:
    """The events of a request body; 400 for anything Nova's schema refuses."""
    checks.only(body, ("events",), "body")
    checks.required(body, ("events",), "body")
    events = body["events"]
    if not isinstance(events, list) or not events:
        raise checks.invalid("events", events, "It must be a non-empty list of events.")
    names = event_names(mv)
    return [_check_event(event, names) for event in events]


async def create(
    svc: ComputeService, ctx: RequestContext, body: dict[str, Any], mv: Version
) -> Outcome:
    """POST /os-server-external-events (admin or service): per event 200, 400, 404 or 422.

    The request answers 200 when every event was accepted, 207 when some were
    not, and 404 when none was.
    """
    if not (ctx.is_admin or "service" in ctx.roles):
        raise errors.Forbidden(
            "Policy doesn't allow os_compute_api:os-server-external-events:create to be performed."
        )
    events = parse(body, mv)
    uuids = {str(uuidlib.UUID(e["server_uuid"])) for e in events}
    async with svc.db.session() as s:
        rows = await s.execute(
            select(m.Instance.uuid, m.Instance.host).where(
                m.Instance.uuid.in_(list(uuids)), m.Instance.deleted.is_(False)
            )
        )
        hosts = {uuid: host for uuid, host in rows}
    accepted = 0
    for event in events:
        event.setdefault("status", "completed")
        uuid = str(uuidlib.UUID(event["server_uuid"]))
        if uuid not in hosts:
            event.update(status="failed", code=404)
        elif event["name"] in _TAG_REQUIRED and "tag" not in event:
            event.update(status="failed", code=400)
        elif hosts[uuid] is None:
            # Never scheduled: there is no host to hand the event to.
            event.update(status="failed", code=422)
        else:
            event.update(status="completed", code=200)
            accepted += 1
    if not accepted:
        raise errors.NotFound("No instances found for any event")
    return Outcome(events, 200 if accepted == len(events) else 207)
