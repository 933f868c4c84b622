"""A server as the API shows it: the row plus its metadata, tags and latest fault."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import CompoundSelect, String, case, func, literal, null, select, union_all
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
    # Attached volumes: (volume id, delete_on_termination), for volumes_attached.
    volumes: list[tuple[str, bool]] = field(default_factory=list)


def _related(uuids: list[str]) -> CompoundSelect:
    """(instance, kind, a, b): metadata ("m", key, value), tags ("t", tag), groups ("g", uuid),
    volumes ("v", volume id, "1" when deleted with the server)."""
    none = null().cast(String)
    return union_all(
        select(
            m.InstanceMetadata.instance_uuid,
            literal("m", String).label("kind"),
            m.InstanceMetadata.key.label("first"),
            m.InstanceMetadata.value.label("second"),
        ).where(m.InstanceMetadata.instance_uuid.in_(uuids)),
        select(m.InstanceTag.instance_uuid, literal("t", String), m.InstanceTag.tag, none).where(
            m.InstanceTag.instance_uuid.in_(uuids)
        ),
        select(m.ServerGroupMember.instance_uuid, literal("g", String), m.ServerGroup.uuid, none)
        .join(m.ServerGroup, m.ServerGroup.id == m.ServerGroupMember.group_id)
        .where(m.ServerGroupMember.instance_uuid.in_(uuids)),
        select(
            m.BlockDeviceMapping.instance_uuid,
            literal("v", String),
            m.BlockDeviceMapping.volume_id,
            case((m.BlockDeviceMapping.delete_on_termination, "1"), else_="0"),
        ).where(
            m.BlockDeviceMapping.instance_uuid.in_(uuids),
            m.BlockDeviceMapping.volume_id.is_not(None),
        ),
    )


async def load_records(s: AsyncSession, instances: Sequence[m.Instance]) -> list[ServerRecord]:
    """Records for `instances`, in order: a fixed number of queries whatever their number."""
    records = {inst.uuid: ServerRecord(inst) for inst in instances}
    if not records:
        return []
    uuids = list(records)
    # SQLite caps bound parameters; large pages are read in slices.
    for start in range(0, len(uuids), 500):
        part = uuids[start : start + 500]
        # One statement for metadata, tags and groups: a show is dominated by the
        # per-statement cost, not by the rows.
        for instance_uuid, kind, first, second in await s.execute(_related(part)):
            record = records[instance_uuid]
            if kind == "m":
                record.metadata[first] = second
            elif kind == "t":
                record.tags.append(first)
            elif kind == "v":
                record.volumes.append((first, second == "1"))
            else:
                record.server_groups.append(first)
    for record in records.values():
        record.tags.sort()
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
