"""QoS specs (admin only): named limits associated with volume types, handed to consumers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.volume import faults
from stackling.volume import models as m
from stackling.volume.service import policy
from stackling.volume.service.core import VolumeService

CONSUMERS = ("front-end", "back-end", "both")
# Whose limits the hypervisor applies (and so go into an attachment's connection_info).
FRONT_END = ("front-end", "both")


@dataclass(slots=True)
class QosRecord:
    """A QoS specs entry with its keys."""

    qos: m.QosSpecs
    specs: dict[str, str]


def not_found(qos_id: str) -> errors.NotFound:
    """Cinder's QoSSpecsNotFound."""
    return errors.NotFound(f"No such QoS spec {qos_id}.")


def check_consumer(consumer: str) -> str:
    """The consumer if it is one Cinder knows; InvalidInput otherwise."""
    if consumer not in CONSUMERS:
        raise faults.InvalidInput(f"Valid consumer of QoS specs are: {list(CONSUMERS)}")
    return consumer


async def _values(s: AsyncSession, ids: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {i: {} for i in ids}
    if ids:
        for row in await s.scalars(select(m.QosSpecValue).where(m.QosSpecValue.qos_id.in_(ids))):
            found[row.qos_id][row.key] = row.value
    return found


async def _load(s: AsyncSession, qos_id: str) -> m.QosSpecs:
    row = await s.get(m.QosSpecs, qos_id)
    if row is None:
        raise not_found(qos_id)
    return row


async def qos_for_type(s: AsyncSession, type_id: str) -> dict[str, str]:
    """The front-end QoS keys of a volume type (empty when it has none), for connection_info."""
    row = await s.scalar(
        select(m.QosSpecs)
        .join(m.VolumeTypeQos, m.VolumeTypeQos.qos_id == m.QosSpecs.id)
        .where(m.VolumeTypeQos.type_id == type_id)
    )
    if row is None or row.consumer not in FRONT_END:
        return {}
    return (await _values(s, [row.id]))[row.id]


async def qos_ids_of_types(s: AsyncSession, type_ids: list[str]) -> dict[str, str]:
    """The QoS specs id of each of these types that has one."""
    if not type_ids:
        return {}
    rows = await s.execute(
        select(m.VolumeTypeQos.type_id, m.VolumeTypeQos.qos_id).where(
            m.VolumeTypeQos.type_id.in_(type_ids)
        )
    )
    return {tid: qid for tid, qid in rows.all()}


async def create(
    svc: VolumeService, ctx: RequestContext, name: str, consumer: str, specs: dict[str, str]
) -> QosRecord:
    """A new QoS specs entry; 409 when the name is taken."""
    policy.enforce(ctx, "volume_extension:qos_specs_manage:create")

    async def _do(s: AsyncSession) -> QosRecord:
        if await s.scalar(select(m.QosSpecs.id).where(m.QosSpecs.name == name)) is not None:
            raise errors.Conflict(f"QoS Specs {name} already exists.")
        row = m.QosSpecs(id=new_uuid(), name=name, consumer=check_consumer(consumer))
        s.add(row)
        await s.flush()
        for key, value in specs.items():
            s.add(m.QosSpecValue(qos_id=row.id, key=key, value=value))
        await s.flush()
        return QosRecord(row, dict(specs))

    return await svc.tx(_do)


async def list_qos(svc: VolumeService, ctx: RequestContext) -> list[QosRecord]:
    """Every QoS specs entry."""
    policy.enforce(ctx, "volume_extension:qos_specs_manage:get_all")
    async with svc.db.session() as s:
        rows = list(
            await s.scalars(select(m.QosSpecs).order_by(m.QosSpecs.created_at, m.QosSpecs.id))
        )
        values = await _values(s, [r.id for r in rows])
    return [QosRecord(r, values[r.id]) for r in rows]


async def show(svc: VolumeService, ctx: RequestContext, qos_id: str) -> QosRecord:
    """One QoS specs entry."""
    policy.enforce(ctx, "volume_extension:qos_specs_manage:get")
    async with svc.db.session() as s:
        row = await _load(s, qos_id)
        return QosRecord(row, (await _values(s, [row.id]))[row.id])


async def set_keys(
    svc: VolumeService, ctx: RequestContext, qos_id: str, specs: dict[str, str]
) -> dict[str, str]:
    """Add or replace keys (`consumer` changes the consumer); the others stay."""
    policy.enforce(ctx, "volume_extension:qos_specs_manage:update")

    async def _do(s: AsyncSession) -> None:
        row = await _load(s, qos_id)
        for key, value in specs.items():
            if key == "consumer":
                row.consumer = check_consumer(value)
                continue
            item = await s.get(m.QosSpecValue, (qos_id, key))
            if item is None:
                s.add(m.QosSpecValue(qos_id=qos_id, key=key, value=value))
            else:
                item.value = value

    await svc.tx(_do)
    return specs


async def delete_keys(
    svc: VolumeService, ctx: RequestContext, qos_id: str, keys: list[str]
) -> None:
    """Remove keys; 404 naming the first that is not there (nothing is removed then)."""
    policy.enforce(ctx, "volume_extension:qos_specs_manage:update")

    async def _do(s: AsyncSession) -> None:
        await _load(s, qos_id)
        for key in keys:
            item = await s.get(m.QosSpecValue, (qos_id, key))
            if item is None:
                raise errors.NotFound(f"QoS spec {qos_id} has no spec with key {key}.")
            await s.delete(item)

    await svc.tx(_do)


async def delete_qos(svc: VolumeService, ctx: RequestContext, qos_id: str, *, force: bool) -> None:
    """Delete an entry; one still associated with types needs force, which dissociates."""
    policy.enforce(ctx, "volume_extension:qos_specs_manage:delete")

    async def _do(s: AsyncSession) -> None:
        row = await _load(s, qos_id)
        used = await s.scalar(
            select(func.count())
            .select_from(m.VolumeTypeQos)
            .where(m.VolumeTypeQos.qos_id == qos_id)
        )
        if used and not force:
            raise errors.BadRequest("Qos specs still in use.")
        await s.execute(delete(m.VolumeTypeQos).where(m.VolumeTypeQos.qos_id == qos_id))
        await s.execute(delete(m.QosSpecValue).where(m.QosSpecValue.qos_id == qos_id))
        await s.delete(row)

    await svc.tx(_do)


async def associations(svc: VolumeService, ctx: RequestContext, qos_id: str) -> list[m.VolumeType]:
    """The volume types associated with an entry."""
    policy.enforce(ctx, "volume_extension:qos_specs_manage:get")
    async with svc.db.session() as s:
        await _load(s, qos_id)
        rows = await s.scalars(
            select(m.VolumeType)
            .join(m.VolumeTypeQos, m.VolumeTypeQos.type_id == m.VolumeType.id)
            .where(m.VolumeTypeQos.qos_id == qos_id)
            .order_by(m.VolumeType.name)
        )
        return list(rows)


async def associate(svc: VolumeService, ctx: RequestContext, qos_id: str, type_id: str) -> None:
    """Give a type these QoS specs; 400 when it already has others."""
    policy.enforce(ctx, "volume_extension:qos_specs_manage:update")

    async def _do(s: AsyncSession) -> None:
        await _load(s, qos_id)
        if await s.get(m.VolumeType, type_id) is None:
            raise faults.type_not_found(type_id)
        current = await s.get(m.VolumeTypeQos, type_id)
        if current is not None and current.qos_id != qos_id:
            raise errors.BadRequest(
                f"Type {type_id} is already associated with another qos specs: {current.qos_id}"
            )
        if current is None:
            s.add(m.VolumeTypeQos(type_id=type_id, qos_id=qos_id))

    await svc.tx(_do)


async def disassociate(
    svc: VolumeService, ctx: RequestContext, qos_id: str, type_id: str | None
) -> None:
    """Take these QoS specs from one type, or from every type when `type_id` is None."""
    policy.enforce(ctx, "volume_extension:qos_specs_manage:update")

    async def _do(s: AsyncSession) -> None:
        await _load(s, qos_id)
        query = delete(m.VolumeTypeQos).where(m.VolumeTypeQos.qos_id == qos_id)
        if type_id is not None:
            if await s.get(m.VolumeType, type_id) is None:
                raise faults.type_not_found(type_id)
            query = query.where(m.VolumeTypeQos.type_id == type_id)
        await s.execute(query)

    await svc.tx(_do)
