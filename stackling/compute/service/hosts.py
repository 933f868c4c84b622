"""Compute services (os-services) and availability zones (os-availability-zone)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute.service import access, aggregates, checks
from stackling.compute.service.core import ComputeService
from stackling.compute.service.scheduler import service_up

LOG = logging.getLogger(__name__)
_POLICY = "os_compute_api:os-services:{}"
_LIVE_MIGRATIONS = ("pre-migrating", "migrating", "post-migrating", "finished", "confirming")


@dataclass(slots=True)
class ServiceRecord:
    """A service row with what its view needs: its zone and whether it is up."""

    service: m.ComputeService
    zone: str
    up: bool

    @property
    def updated_at(self) -> dt.datetime | None:
        """When the service last reported or changed (Nova's updated_at)."""
        times = [t for t in (self.service.last_seen_up, self.service.updated_at) if t is not None]
        return max(times) if times else None


async def _records(
    s: AsyncSession, svc: ComputeService, services: list[m.ComputeService]
) -> list[ServiceRecord]:
    now = m.now()
    out = []
    for service in services:
        if service.binary == aggregates.COMPUTE:
            zone = await aggregates.host_zone(s, svc, service.host)
        else:
            zone = aggregates.INTERNAL_ZONE
        out.append(ServiceRecord(service, zone, service_up(service, now)))
    return out


async def list_services(
    svc: ComputeService, ctx: RequestContext, *, host: str | None = None, binary: str | None = None
) -> list[ServiceRecord]:
    """GET /os-services (admin), optionally by host and binary."""
    access.require_admin(ctx, _POLICY.format("list"))
    query = select(m.ComputeService).order_by(m.ComputeService.id)
    if host is not None:
        query = query.where(m.ComputeService.host == host)
    if binary is not None:
        query = query.where(m.ComputeService.binary == binary)
    async with svc.db.session() as s:
        return await _records(s, svc, list((await s.scalars(query)).all()))


def _uuid(value: str) -> str:
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        raise errors.BadRequest(f"Invalid uuid {value}") from None


async def _by_id(s: AsyncSession, service_id: str, mv: Version) -> m.ComputeService:
    """A service by its uuid (2.53) or integer id (before)."""
    if mv.at_least("2.53"):
        query = select(m.ComputeService).where(m.ComputeService.uuid == _uuid(service_id))
    else:
        try:
            int(service_id)
        except ValueError:
            raise errors.BadRequest(f"Invalid ID {service_id}") from None
        number = checks.row_id(service_id)
        if number is None:
            raise errors.NotFound(f"Service {service_id} could not be found.")
        query = select(m.ComputeService).where(m.ComputeService.id == number)
    service = await s.scalar(query)
    if service is None:
        raise errors.NotFound(f"Service {service_id} could not be found.")
    return service


def _only_compute(service: m.ComputeService) -> None:
    if service.binary != aggregates.COMPUTE:
        raise errors.BadRequest(
            f"Updating a {service.binary} service is not supported. Only nova-compute "
            "services can be updated."
        )


def _apply(service: m.ComputeService, changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        setattr(service, key, value)
    service.updated_at = m.now()


async def update_service(
    svc: ComputeService, ctx: RequestContext, service_id: str, body: dict[str, Any], mv: Version
) -> ServiceRecord:
    """PUT /os-services/{uuid} (2.53, admin): status, disabled_reason, forced_down."""
    access.require_admin(ctx, _POLICY.format("update"))
    checks.only(body, ("status", "disabled_reason", "forced_down"), "body")
    changes: dict[str, Any] = {}
    status = body.get("status")
    if "status" in body and status not in ("enabled", "disabled"):
        raise checks.invalid("status", status, f"{status!r} is not one of ['enabled', 'disabled']")
    if "disabled_reason" in body:
        reason = checks.string(body["disabled_reason"], "disabled_reason", min_length=1)
        if status != "disabled":
            raise errors.BadRequest(
                "Specifying 'disabled_reason' with status 'enabled' is invalid."
            )
        changes["disabled_reason"] = reason
    if status is not None:
        changes["disabled"] = status == "disabled"
        if status == "enabled":
            changes["disabled_reason"] = None
    if "forced_down" in body:
        changes["forced_down"] = checks.boolean(body["forced_down"], "forced_down")
    if "status" not in body and "forced_down" not in body:
        raise errors.BadRequest(
            "At least one of 'status' or 'forced_down' must be specified in the request body."
        )

    async def _update(s: AsyncSession) -> ServiceRecord:
        service = await _by_id(s, service_id, mv)
        _only_compute(service)
        _apply(service, changes)
        await s.flush()
        return (await _records(s, svc, [service]))[0]

    return await svc.tx(_update)


async def legacy_update(
    svc: ComputeService, ctx: RequestContext, action: str, body: dict[str, Any], mv: Version
) -> dict[str, Any]:
    """PUT /os-services/{enable,disable,disable-log-reason,force-down} before 2.53."""
    access.require_admin(ctx, _POLICY.format("update"))
    actions = {"enable", "disable", "disable-log-reason"} | (
        {"force-down"} if mv.at_least("2.11") else set()
    )
    if action not in actions:
        raise errors.NotFound("Unknown action")
    allowed = ["host", "binary", "disabled_reason"] + (
        ["forced_down"] if mv.at_least("2.11") else []
    )
    checks.only(body, allowed, "body")
    checks.required(body, ("host", "binary"), "body")
    host = checks.string(body["host"], "host", min_length=1)
    binary = checks.string(body["binary"], "binary", min_length=1)
    reply: dict[str, Any] = {"host": host, "binary": binary}
    changes: dict[str, Any]
    if action == "enable":
        changes = {"disabled": False, "disabled_reason": None}
        reply["status"] = "enabled"
    elif action == "disable":
        changes = {"disabled": True}
        reply["status"] = "disabled"
    elif action == "disable-log-reason":
        if "disabled_reason" not in body:
            raise errors.BadRequest("Missing disabled reason field")
        reason = checks.string(body["disabled_reason"], "disabled_reason", min_length=1)
        changes = {"disabled": True, "disabled_reason": reason}
        reply.update(status="disabled", disabled_reason=reason)
    else:
        if "forced_down" not in body:
            raise errors.BadRequest("Missing forced_down field")
        forced = checks.boolean(body["forced_down"], "forced_down")
        changes = {"forced_down": forced}
        reply["forced_down"] = forced

    async def _update(s: AsyncSession) -> None:
        service = await s.scalar(
            select(m.ComputeService).where(
                m.ComputeService.host == host, m.ComputeService.binary == binary
            )
        )
        if service is None:
            raise errors.NotFound(f"Could not find binary {binary} on host {host}.")
        _only_compute(service)
        _apply(service, changes)

    await svc.tx(_update)
    return reply


async def delete_service(
    svc: ComputeService, ctx: RequestContext, service_id: str, mv: Version
) -> None:
    """DELETE /os-services/{id} (admin): a compute host goes with its node and aggregates."""
    access.require_admin(ctx, _POLICY.format("delete"))
    nodes: list[str] = []

    async def _delete(s: AsyncSession) -> None:
        service = await _by_id(s, service_id, mv)
        if service.binary == aggregates.COMPUTE:
            host = service.host
            if await aggregates.servers_on(s, [host]):
                raise errors.Conflict(
                    "Unable to delete compute service that is hosting instances. Migrate or "
                    "delete the instances first."
                )
            moving = await s.scalar(
                select(func.count(m.Migration.id)).where(
                    or_(m.Migration.source_compute == host, m.Migration.dest_compute == host),
                    m.Migration.status.in_(_LIVE_MIGRATIONS),
                )
            )
            if moving:
                raise errors.Conflict(
                    "Unable to delete compute service that has in-progress migrations. Complete "
                    "the migrations or delete the instances first."
                )
            node_rows = (
                await s.scalars(select(m.ComputeNode).where(m.ComputeNode.host == host))
            ).all()
            nodes.extend(node.uuid for node in node_rows)
            await s.execute(delete(m.ComputeNode).where(m.ComputeNode.host == host))
            await s.execute(delete(m.AggregateHost).where(m.AggregateHost.host == host))
        await s.delete(service)

    await svc.tx(_delete)
    if nodes and svc.has_peer("placement"):
        placement = svc.peer("placement")
        for node_uuid in nodes:
            try:
                await placement.delete_provider(node_uuid)
            except errors.StacklingError as exc:
                LOG.warning("resource provider %s of a deleted service stays: %s", node_uuid, exc)


# -- availability zones ------------------------------------------------------


@dataclass(slots=True)
class Zone:
    """An availability zone and, for the detailed view, its hosts' services."""

    name: str
    available: bool
    hosts: dict[str, list[ServiceRecord]]


async def list_zones(svc: ComputeService, ctx: RequestContext, *, detail: bool) -> list[Zone]:
    """Zones with at least one compute host; available when one of its services is enabled."""
    if detail:
        access.require_admin(ctx, "os_compute_api:os-availability-zone:detail")
    async with svc.db.session() as s:
        services = list(
            (await s.scalars(select(m.ComputeService).order_by(m.ComputeService.host))).all()
        )
        records = await _records(s, svc, services)
    zones: dict[str, Zone] = {}
    for record in records:
        if record.zone == aggregates.INTERNAL_ZONE and not detail:
            continue
        zone = zones.setdefault(record.zone, Zone(record.zone, False, {}))
        zone.available |= not record.service.disabled
        zone.hosts.setdefault(record.service.host, []).append(record)
    # Nova lists the internal zone first, then the others by name.
    return sorted(zones.values(), key=lambda z: (z.name != aggregates.INTERNAL_ZONE, z.name))
