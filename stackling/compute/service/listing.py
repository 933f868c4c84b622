"""GET /servers and /servers/detail: Nova's filters, sorting and marker pagination."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import defer

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.microversion import Version
from stackling.common.timeutil import parse_iso
from stackling.compute import models as m
from stackling.compute import states
from stackling.compute.service import access
from stackling.compute.service.core import ComputeService
from stackling.compute.service.records import ServerRecord, load_records

# sort_key -> column; the ones Nova lets every user sort by.
SORT_KEYS: dict[str, Any] = {
    "created_at": m.Instance.created_at,
    "updated_at": m.Instance.updated_at,
    "display_name": m.Instance.display_name,
    "display_description": m.Instance.display_description,
    "uuid": m.Instance.uuid,
    "vm_state": m.Instance.vm_state,
    "task_state": m.Instance.task_state,
    "power_state": m.Instance.power_state,
    "launched_at": m.Instance.launched_at,
    "terminated_at": m.Instance.terminated_at,
    "availability_zone": m.Instance.availability_zone,
    "key_name": m.Instance.key_name,
    "image_ref": m.Instance.image_ref,
    "hostname": m.Instance.hostname,
    "launch_index": m.Instance.launch_index,
    "locked_by": m.Instance.locked_by,
    "progress": m.Instance.progress,
    "project_id": m.Instance.project_id,
    "user_id": m.Instance.user_id,
    "access_ip_v4": m.Instance.access_ip_v4,
    "access_ip_v6": m.Instance.access_ip_v6,
    "config_drive": m.Instance.config_drive,
    "root_device_name": m.Instance.root_device_name,
}
ADMIN_SORT_KEYS: dict[str, Any] = {"host": m.Instance.host, "node": m.Instance.node}
# Filters only admins may use (others' are ignored, as Nova ignores them).
ADMIN_FILTERS: dict[str, Any] = {
    "host": m.Instance.host,
    "node": m.Instance.node,
    "availability_zone": m.Instance.availability_zone,
    "user_id": m.Instance.user_id,
    "uuid": m.Instance.uuid,
    "vm_state": m.Instance.vm_state,
    "task_state": m.Instance.task_state,
    "key_name": m.Instance.key_name,
}


@dataclass(slots=True)
class Page:
    """One page of servers and whether a next page may exist."""

    records: list[ServerRecord]
    limit: int
    more: bool


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "t", "yes", "y", "on")


def _time(value: str, key: str) -> dt.datetime:
    try:
        # A '+' of an offset that was not percent-encoded arrives as a space.
        return parse_iso(value.replace(" ", "+"))
    except ValueError:
        raise errors.BadRequest(
            f"Invalid input for query parameters {key}. Value: {value}. "
            f"{value!r} is not a 'date-time'"
        ) from None


def _limit(svc: ComputeService, value: str | None) -> int:
    if value is None:
        return svc.conf.api_max_limit
    try:
        limit = int(value)
    except ValueError:
        raise errors.BadRequest(
            f"Invalid input for query parameters limit. Value: {value}."
        ) from None
    if limit < 0:
        raise errors.BadRequest(f"Invalid input for query parameters limit. Value: {value}.")
    return min(limit, svc.conf.api_max_limit)


def _sort(params: list[tuple[str, str]], ctx: RequestContext) -> list[tuple[Any, bool]]:
    keys = [v for k, v in params if k == "sort_key"]
    dirs = [v for k, v in params if k == "sort_dir"]
    order: list[tuple[Any, bool]] = []
    for index, key in enumerate(keys):
        column = SORT_KEYS.get(key)
        if column is None and key in ADMIN_SORT_KEYS:
            if not ctx.is_admin:
                raise errors.Forbidden(f"Only administrators can sort servers by {key}")
            column = ADMIN_SORT_KEYS[key]
        if column is None:
            raise errors.BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
        direction = dirs[index] if index < len(dirs) else "desc"
        if direction not in ("asc", "desc"):
            raise errors.BadRequest(
                f"Invalid input for query parameters sort_dir. Value: {direction}."
            )
        order.append((column, direction == "desc"))
    if not order:
        order = [(m.Instance.created_at, True)]
    # The integer id breaks ties, so the order (and the marker) is total.
    order.append((m.Instance.id, order[-1][1]))
    return order


def _equal(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def _step(column: Any, value: Any, desc: bool) -> Any:
    """Rows after `value` on one column, NULLs first ascending and last descending."""
    if value is None:
        return None if desc else column.is_not(None)
    return or_(column < value, column.is_(None)) if desc else column > value


def _after_marker(order: list[tuple[Any, bool]], marker: m.Instance) -> Any:
    """Rows strictly after `marker` in `order` (the lexicographic keyset condition)."""
    clauses = []
    for depth, (column, desc) in enumerate(order):
        step = _step(column, getattr(marker, column.key), desc)
        if step is None:
            continue
        prefix = [_equal(col, getattr(marker, col.key)) for col, _ in order[:depth]]
        clauses.append(and_(*prefix, step))
    return or_(*clauses) if clauses else False


def order_by(order: list[tuple[Any, bool]]) -> list[Any]:
    """ORDER BY terms matching _after_marker's NULL placement on every database."""
    return [col.desc().nulls_last() if desc else col.asc().nulls_first() for col, desc in order]


def _tag_filters(query: Any, params: dict[str, str]) -> Any:
    def tag_exists(tag: str) -> Any:
        return exists().where(
            m.InstanceTag.instance_uuid == m.Instance.uuid, m.InstanceTag.tag == tag
        )

    if "tags" in params:
        for tag in params["tags"].split(","):
            query = query.where(tag_exists(tag))
    if "tags-any" in params:
        query = query.where(or_(*(tag_exists(t) for t in params["tags-any"].split(","))))
    if "not-tags" in params:
        query = query.where(~and_(*(tag_exists(t) for t in params["not-tags"].split(","))))
    if "not-tags-any" in params:
        query = query.where(~or_(*(tag_exists(t) for t in params["not-tags-any"].split(","))))
    return query


async def list_servers(
    svc: ComputeService, ctx: RequestContext, params: list[tuple[str, str]], mv: Version
) -> Page:
    """Servers matching Nova's query parameters, one page of them."""
    access.require_reader(ctx)
    single = dict(params)
    all_tenants = "all_tenants" in single and (
        single["all_tenants"] == "" or _flag(single["all_tenants"])
    )
    if all_tenants and not ctx.is_admin:
        raise errors.Forbidden(
            "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed."
        )
    limit = _limit(svc, single.get("limit"))
    order = _sort(params, ctx)
    changes_since = (
        _time(single["changes-since"], "changes-since") if "changes-since" in single else None
    )
    deleted_filter = ctx.is_admin and _flag(single.get("deleted"))
    # Columns no listing shows stay unloaded: decoding their JSON was a third of a page's cost.
    query = select(m.Instance).options(
        defer(m.Instance.image_meta),
        defer(m.Instance.task_args),
        defer(m.Instance.requested_networks),
        defer(m.Instance.retry_hosts),
        defer(m.Instance.old_flavor),
        defer(m.Instance.new_flavor),
        defer(m.Instance.key_data),
        defer(m.Instance.admin_password),
        defer(m.Instance.guest_password),
    )
    if not (changes_since or deleted_filter):
        query = query.where(m.Instance.deleted.is_(False))
    elif deleted_filter:
        query = query.where(m.Instance.deleted.is_(True))
    project = single.get("project_id") or single.get("tenant_id")
    if not (all_tenants and ctx.is_admin):
        query = query.where(m.Instance.project_id == ctx.project_id)
    elif project:
        query = query.where(m.Instance.project_id == project)
    if changes_since:
        query = query.where(m.Instance.updated_at >= changes_since)
    if "changes-before" in single and mv.at_least("2.66"):
        query = query.where(
            m.Instance.updated_at <= _time(single["changes-before"], "changes-before")
        )
    if "status" in single:
        vm_states = set()
        for status in (v for k, v in params if k == "status"):
            vm_states |= states.STATUS_TO_VM_STATES.get(status.upper(), set())
        query = query.where(m.Instance.vm_state.in_(vm_states or {"__none__"}))
    if "image" in single:
        query = query.where(m.Instance.image_ref == single["image"].rstrip("/").rsplit("/", 1)[-1])
    if "flavor" in single:
        flavor = single["flavor"].rstrip("/").rsplit("/", 1)[-1]
        query = query.where(m.Instance.flavor["id"].as_string() == flavor)
    if "reservation_id" in single:
        query = query.where(m.Instance.reservation_id == single["reservation_id"])
    if "locked" in single and mv.at_least("2.73"):
        query = query.where(m.Instance.locked.is_(_flag(single["locked"])))
    if ctx.is_admin:
        for key, column in ADMIN_FILTERS.items():
            if key in single:
                query = query.where(column == single[key])
    query = _tag_filters(query, single)
    marker_id = single.get("marker")
    async with svc.db.session() as s:
        if marker_id is not None:
            marker = await s.scalar(select(m.Instance).where(m.Instance.uuid == marker_id))
            if marker is None or (not ctx.is_admin and marker.project_id != ctx.project_id):
                raise errors.BadRequest(f"marker [{marker_id}] not found")
            query = query.where(_after_marker(order, marker))
        query = query.order_by(*order_by(order))
        post = _post_filters(single)
        if post is None:
            instances = list((await s.scalars(query.limit(limit))).all())
        else:
            instances = [i for i in (await s.scalars(query)).all() if post(i)][:limit]
        records = await load_records(s, instances)
    return Page(records, limit, more=len(records) == limit and limit > 0)


def _post_filters(single: dict[str, str]) -> Any:
    """Filters SQL cannot express portably (regular expressions); None when there are none."""
    checks = []
    for key, attr in (("name", "display_name"), ("description", "display_description"),
                      ("ip", "_ipv4"), ("ip6", "_ipv6")):  # fmt: skip
        if key not in single:
            continue
        try:
            pattern = re.compile(single[key])
        except (re.error, OverflowError, RecursionError):
            # What re.compile raises for a bad pattern, a huge repeat and deep nesting.
            raise errors.BadRequest(
                f"Invalid input for query parameters {key}. Value: {single[key]}. "
                "It is not a regular expression this cloud can match."
            ) from None
        checks.append((attr, pattern))
    if not checks:
        return None

    def match(instance: m.Instance) -> bool:
        for attr, pattern in checks:
            if attr in ("_ipv4", "_ipv6"):
                version = 4 if attr == "_ipv4" else 6
                ips = [
                    a["addr"]
                    for vif in instance.network_info or []
                    for a in vif.get("ips", [])
                    if a.get("version") == version
                ]
                if not any(pattern.search(ip) for ip in ips):
                    return False
            elif not pattern.search(getattr(instance, attr) or ""):
                return False
        return True

    return match
