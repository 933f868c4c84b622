"""Host aggregates, and the availability zones their `availability_zone` metadata makes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.compute import models as m
from stackling.compute.service import access, checks
from stackling.compute.service.core import ComputeService

AZ_KEY = "availability_zone"
INTERNAL_ZONE = "internal"
COMPUTE = "nova-compute"
_POLICY = "os_compute_api:os-aggregates:{}"


@dataclass(slots=True)
class AggregateRecord:
    """An aggregate with its hosts and metadata."""

    aggregate: m.Aggregate
    hosts: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def zone(self) -> str | None:
        """The availability zone this aggregate makes, if any."""
        return self.metadata.get(AZ_KEY)


# -- zones (also used by the scheduler and server create) ---------------------


async def _zone_map(s: AsyncSession) -> dict[str, str]:
    """Host -> the availability zone an aggregate puts it in."""
    rows = await s.execute(
        select(m.AggregateHost.host, m.AggregateMetadata.value)
        .join(m.AggregateMetadata, m.AggregateMetadata.aggregate_id == m.AggregateHost.aggregate_id)
        .where(m.AggregateMetadata.key == AZ_KEY)
    )
    return {host: zone for host, zone in rows}


async def compute_hosts(s: AsyncSession) -> list[str]:
    """Hosts with a nova-compute service, by name."""
    rows = await s.scalars(
        select(m.ComputeService.host)
        .where(m.ComputeService.binary == COMPUTE)
        .order_by(m.ComputeService.host)
    )
    return list(rows.all())


async def host_zone(s: AsyncSession, svc: ComputeService, host: str) -> str:
    """The availability zone of a compute host (the default zone when no aggregate names one)."""
    zone = await s.scalar(
        select(m.AggregateMetadata.value)
        .join(m.AggregateHost, m.AggregateHost.aggregate_id == m.AggregateMetadata.aggregate_id)
        .where(m.AggregateHost.host == host, m.AggregateMetadata.key == AZ_KEY)
        .limit(1)
    )
    return zone or svc.conf.default_availability_zone


async def hosts_in_zone(s: AsyncSession, svc: ComputeService, zone: str) -> set[str]:
    """The compute hosts of an availability zone (empty when there is no such zone)."""
    zones = await _zone_map(s)
    default = svc.conf.default_availability_zone
    return {h for h in await compute_hosts(s) if zones.get(h, default) == zone}


async def zones_with_hosts(s: AsyncSession, svc: ComputeService) -> dict[str, list[str]]:
    """Zone -> its compute hosts; zones without a compute host are left out."""
    zones = await _zone_map(s)
    out: dict[str, list[str]] = {}
    for host in await compute_hosts(s):
        out.setdefault(zones.get(host, svc.conf.default_availability_zone), []).append(host)
    return out


# -- aggregates ---------------------------------------------------------------


def not_found(aggregate_id: int | str) -> errors.NotFound:
    """Nova's 404 for an aggregate."""
    return errors.NotFound(f"Aggregate {aggregate_id} could not be found.")


async def record_of(s: AsyncSession, aggregate: m.Aggregate) -> AggregateRecord:
    """An aggregate with its hosts and metadata."""
    hosts = await s.scalars(
        select(m.AggregateHost.host)
        .where(m.AggregateHost.aggregate_id == aggregate.id)
        .order_by(m.AggregateHost.host)
    )
    meta = await s.execute(
        select(m.AggregateMetadata.key, m.AggregateMetadata.value).where(
            m.AggregateMetadata.aggregate_id == aggregate.id
        )
    )
    return AggregateRecord(aggregate, list(hosts.all()), {k: v for k, v in meta})


async def load_aggregate(s: AsyncSession, raw_id: str) -> m.Aggregate:
    """The aggregate with this (integer) id; 400 for a non-integer, 404 when absent."""
    try:
        int(raw_id)
    except ValueError:
        raise errors.BadRequest(
            f"Invalid aggregate id {raw_id!r}: it must be an integer."
        ) from None
    number = checks.row_id(raw_id)
    aggregate = None if number is None else await s.get(m.Aggregate, number)
    if aggregate is None:
        raise not_found(raw_id)
    return aggregate


def zone_name(value: Any) -> str | None:
    """An availability zone name from a request (None stays None)."""
    if value is None:
        return None
    zone = checks.name(value, AZ_KEY)
    if ":" in zone:
        raise checks.invalid(AZ_KEY, value, "An availability zone name cannot contain ':'.")
    return zone


async def list_aggregates(svc: ComputeService, ctx: RequestContext) -> list[AggregateRecord]:
    """Every aggregate (admin)."""
    access.require_admin(ctx, _POLICY.format("index"))
    async with svc.db.session() as s:
        rows = (await s.scalars(select(m.Aggregate).order_by(m.Aggregate.id))).all()
        return [await record_of(s, a) for a in rows]


async def show(svc: ComputeService, ctx: RequestContext, aggregate_id: str) -> AggregateRecord:
    """One aggregate (admin)."""
    access.require_admin(ctx, _POLICY.format("show"))
    async with svc.db.session() as s:
        return await record_of(s, await load_aggregate(s, aggregate_id))


async def create(svc: ComputeService, ctx: RequestContext, body: dict[str, Any]) -> AggregateRecord:
    """POST /os-aggregates (admin): 409 when the name is taken."""
    access.require_admin(ctx, _POLICY.format("create"))
    checks.only(body, ("aggregate",), "body")
    data = checks.obj(body.get("aggregate"), "aggregate")
    checks.only(data, ("name", AZ_KEY), "aggregate")
    checks.required(data, ("name",), "aggregate")
    name = checks.name(data["name"])
    zone = zone_name(data.get(AZ_KEY))
    if zone == INTERNAL_ZONE:
        raise errors.BadRequest(
            f"Cannot create aggregate {name}. Reason: the availability zone {zone} "
            "is reserved for internal services."
        )

    async def _create(s: AsyncSession) -> AggregateRecord:
        if await s.scalar(select(m.Aggregate.id).where(m.Aggregate.name == name)) is not None:
            raise errors.Conflict(f"Aggregate {name} already exists.")
        aggregate = m.Aggregate(uuid=new_uuid(), name=name, created_at=m.now())
        s.add(aggregate)
        await s.flush()
        if zone:
            s.add(m.AggregateMetadata(aggregate_id=aggregate.id, key=AZ_KEY, value=zone))
            await s.flush()
        return await record_of(s, aggregate)

    try:
        return await svc.tx(_create)
    except IntegrityError:
        raise errors.Conflict(f"Aggregate {name} already exists.") from None


async def check_zone_change(
    s: AsyncSession, record: AggregateRecord, zone: str | None, action: str
) -> None:
    """Nova's rules for changing an aggregate's zone: no host in two zones, no servers moved."""
    agg = record.aggregate
    if zone is None:
        # Nova never lets an aggregate's zone be set to nothing; only delete and re-create.
        raise errors.BadRequest(
            f"Cannot {action} aggregate {agg.id}. Reason: Aggregate {agg.name} does not "
            "support empty named availability zone."
        )
    rows = await s.execute(
        select(m.AggregateMetadata.value)
        .join(m.AggregateHost, m.AggregateHost.aggregate_id == m.AggregateMetadata.aggregate_id)
        .where(
            m.AggregateHost.host.in_(record.hosts),
            m.AggregateMetadata.key == AZ_KEY,
            m.AggregateMetadata.aggregate_id != agg.id,
            m.AggregateMetadata.value != zone,
        )
    )
    conflicting = sorted({row[0] for row in rows})
    if conflicting:
        raise errors.BadRequest(
            f"Cannot {action} aggregate {agg.id}. Reason: One or more hosts already in "
            f"availability zone(s) {conflicting}."
        )
    if zone != record.zone and record.hosts and await servers_on(s, record.hosts):
        raise errors.BadRequest(
            f"Cannot {action} aggregate {agg.id}. Reason: One or more hosts contain "
            "instances in this zone."
        )


async def servers_on(s: AsyncSession, hosts: list[str]) -> int:
    """How many live servers the hosts run."""
    return int(
        await s.scalar(
            select(func.count(m.Instance.id)).where(
                m.Instance.host.in_(hosts), m.Instance.deleted.is_(False)
            )
        )
        or 0
    )


async def update(
    svc: ComputeService, ctx: RequestContext, aggregate_id: str, body: dict[str, Any]
) -> AggregateRecord:
    """PUT /os-aggregates/{id} (admin): rename and/or change the zone."""
    access.require_admin(ctx, _POLICY.format("update"))
    checks.only(body, ("aggregate",), "body")
    data = checks.obj(body.get("aggregate"), "aggregate")
    checks.only(data, ("name", AZ_KEY), "aggregate")
    if not data:
        raise checks.invalid("aggregate", data, "'name' or 'availability_zone' is required.")
    name = checks.string(data["name"], "name", min_length=1) if "name" in data else None
    zone_given = AZ_KEY in data
    zone = zone_name(data.get(AZ_KEY))

    async def _update(s: AsyncSession) -> AggregateRecord:
        record = await record_of(s, await load_aggregate(s, aggregate_id))
        agg = record.aggregate
        if name is not None and name != agg.name:
            taken = await s.scalar(select(m.Aggregate.id).where(m.Aggregate.name == name))
            if taken is not None:
                raise errors.Conflict(f"Aggregate {name} already exists.")
            agg.name = name
        if zone_given:
            await check_zone_change(s, record, zone, "update")
            await write_metadata(s, agg, {AZ_KEY: zone})
        agg.updated_at = m.now()
        await s.flush()
        return await record_of(s, agg)

    try:
        return await svc.tx(_update)
    except IntegrityError:
        raise errors.Conflict(f"Aggregate {name} already exists.") from None


async def delete_aggregate(svc: ComputeService, ctx: RequestContext, aggregate_id: str) -> None:
    """DELETE /os-aggregates/{id} (admin): only an aggregate without hosts."""
    access.require_admin(ctx, _POLICY.format("delete"))

    async def _delete(s: AsyncSession) -> None:
        record = await record_of(s, await load_aggregate(s, aggregate_id))
        if record.hosts:
            raise errors.BadRequest(
                f"Cannot remove host from aggregate {aggregate_id}. "
                "Reason: Host aggregate is not empty."
            )
        agg_id = record.aggregate.id
        await s.execute(
            delete(m.AggregateMetadata).where(m.AggregateMetadata.aggregate_id == agg_id)
        )
        await s.delete(record.aggregate)

    await svc.tx(_delete)


async def write_metadata(s: AsyncSession, agg: m.Aggregate, changes: dict[str, str | None]) -> None:
    """Set metadata keys; None removes one."""
    for key, value in changes.items():
        row = await s.get(m.AggregateMetadata, (agg.id, key))
        if value is None:
            if row is not None:
                await s.delete(row)
        elif row is None:
            s.add(m.AggregateMetadata(aggregate_id=agg.id, key=key, value=value))
        else:
            row.value = value
    await s.flush()
