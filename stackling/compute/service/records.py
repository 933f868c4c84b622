"""A server as the API shows it: the row plus its metadata, tags and latest fault."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.compute import models as m


@dataclass(slots=True)
class ServerRecord:
    """One server with what its body needs besides the row."""

    instance: m.Instance
    metadata: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    fault: m.InstanceFault | None = None
    server_groups: list[str] = field(default_factory=list)
    admin_password: str | None = None


async def load_records(s: AsyncSession, instances: Sequence[m.Instance]) -> list[ServerRecord]:
    """Records for `instances`, in order: a fixed number of queries whatever their number."""
    records = {inst.uuid: ServerRecord(inst) for inst in instances}
    if not records:
        return []
    uuids = list(records)
    # SQLite caps bound parameters; large pages are read in slices.
    for start in range(0, len(uuids), 500):
        part = uuids[start : start + 500]
        meta = await s.scalars(
            select(m.InstanceMetadata).where(m.InstanceMetadata.instance_uuid.in_(part))
        )
        for row in meta:
            records[row.instance_uuid].metadata[row.key] = row.value
        tags = await s.scalars(
            select(m.InstanceTag)
            .where(m.InstanceTag.instance_uuid.in_(part))
            .order_by(m.InstanceTag.tag)
        )
        for tag in tags:
            records[tag.instance_uuid].tags.append(tag.tag)
        groups = await s.execute(
            select(m.ServerGroupMember.instance_uuid, m.ServerGroup.uuid)
            .join(m.ServerGroup, m.ServerGroup.id == m.ServerGroupMember.group_id)
            .where(m.ServerGroupMember.instance_uuid.in_(part))
        )
        for instance_uuid, group_uuid in groups:
            records[instance_uuid].server_groups.append(group_uuid)
    failed = [
        inst.uuid for inst in instances if inst.vm_state in ("error", "deleted") or inst.deleted
    ]
    if failed:
        newest = (
            select(func.max(m.InstanceFault.id))
            .where(m.InstanceFault.instance_uuid.in_(failed))
            .group_by(m.InstanceFault.instance_uuid)
        )
        for fault in await s.scalars(select(m.InstanceFault).where(m.InstanceFault.id.in_(newest))):
            records[fault.instance_uuid].fault = fault
    return [records[inst.uuid] for inst in instances]


async def load_record(s: AsyncSession, instance: m.Instance) -> ServerRecord:
    """The record of one server."""
    return (await load_records(s, [instance]))[0]
