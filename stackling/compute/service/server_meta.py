"""A server's metadata and tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute import models as m
from stackling.compute import states
from stackling.compute.faults import InvalidState
from stackling.compute.service import access, quota
from stackling.compute.service.boot_request import check_metadata, check_tags
from stackling.compute.service.core import ComputeService

_MAX_TAGS = 50
# Nova refuses metadata and tag changes while these tasks run.
_BUSY_STATES = {states.BUILDING}


async def _metadata(s: AsyncSession, uuid: str) -> dict[str, str]:
    rows = await s.scalars(
        select(m.InstanceMetadata).where(m.InstanceMetadata.instance_uuid == uuid)
    )
    return {row.key: row.value for row in rows}


async def get_metadata(svc: ComputeService, ctx: RequestContext, uuid: str) -> dict[str, str]:
    """All of a server's metadata."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        await access.load_instance(s, ctx, uuid)
        return await _metadata(s, uuid)


async def get_item(svc: ComputeService, ctx: RequestContext, uuid: str, key: str) -> str:
    """One metadata value; 404 when absent."""
    found = await get_metadata(svc, ctx, uuid)
    if key not in found:
        raise errors.NotFound("Metadata item was not found")
    return found[key]


async def set_metadata(
    svc: ComputeService, ctx: RequestContext, uuid: str, items: Any, *, replace: bool
) -> dict[str, str]:
    """POST (merge) or PUT (replace) a server's metadata; the result."""
    access.require_member(ctx)
    items = check_metadata(items)

    async def _set(s: AsyncSession) -> dict[str, str]:
        instance = await access.load_instance(s, ctx, uuid, for_update=True)
        if instance.vm_state in _BUSY_STATES:
            raise InvalidState("update metadata", uuid, "vm_state", instance.vm_state)
        current = {} if replace else await _metadata(s, uuid)
        current.update(items)
        limits = await quota.limits_for(s, svc.conf, instance.project_id)
        quota.check(limits["metadata_items"], 0, len(current), "metadata_items")
        await s.execute(delete(m.InstanceMetadata).where(m.InstanceMetadata.instance_uuid == uuid))
        await s.flush()
        s.add_all(
            m.InstanceMetadata(instance_uuid=uuid, key=k, value=v) for k, v in current.items()
        )
        instance.updated_at = m.now()
        return current

    return await svc.tx(_set)


async def delete_item(svc: ComputeService, ctx: RequestContext, uuid: str, key: str) -> None:
    """Remove one metadata key; 404 when absent."""
    access.require_member(ctx)

    async def _delete(s: AsyncSession) -> None:
        instance = await access.load_instance(s, ctx, uuid, for_update=True)
        if instance.vm_state in _BUSY_STATES:
            raise InvalidState("delete metadata", uuid, "vm_state", instance.vm_state)
        result = await s.execute(
            delete(m.InstanceMetadata).where(
                m.InstanceMetadata.instance_uuid == uuid, m.InstanceMetadata.key == key
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise errors.NotFound("Metadata item was not found")
        instance.updated_at = m.now()

    await svc.tx(_delete)


async def _tags(s: AsyncSession, uuid: str) -> list[str]:
    rows = await s.scalars(
        select(m.InstanceTag.tag)
        .where(m.InstanceTag.instance_uuid == uuid)
        .order_by(m.InstanceTag.tag)
    )
    return list(rows)


async def get_tags(svc: ComputeService, ctx: RequestContext, uuid: str) -> list[str]:
    """A server's tags."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        await access.load_instance(s, ctx, uuid)
        return await _tags(s, uuid)


async def has_tag(svc: ComputeService, ctx: RequestContext, uuid: str, tag: str) -> None:
    """404 unless the server has `tag`."""
    if tag not in await get_tags(svc, ctx, uuid):
        raise errors.NotFound(f"Tag {tag} could not be found for instance {uuid}.")


async def set_tags(
    svc: ComputeService, ctx: RequestContext, uuid: str, tags: Any, *, add_one: bool = False
) -> list[str]:
    """Replace the tags (PUT /tags) or add one (PUT /tags/{tag}); the result."""
    access.require_member(ctx)
    tags = check_tags(tags)

    async def _set(s: AsyncSession) -> list[str]:
        instance = await access.load_instance(s, ctx, uuid, for_update=True)
        if instance.vm_state in _BUSY_STATES:
            raise InvalidState("update tags", uuid, "vm_state", instance.vm_state)
        current = await _tags(s, uuid) if add_one else []
        merged = list(dict.fromkeys([*current, *tags]))
        if len(merged) > _MAX_TAGS:
            raise errors.BadRequest(f"The number of tags exceeded the per-server limit {_MAX_TAGS}")
        await s.execute(delete(m.InstanceTag).where(m.InstanceTag.instance_uuid == uuid))
        await s.flush()
        s.add_all(m.InstanceTag(instance_uuid=uuid, tag=t) for t in merged)
        instance.updated_at = m.now()
        return sorted(merged)

    return await svc.tx(_set)


async def delete_tags(
    svc: ComputeService, ctx: RequestContext, uuid: str, tag: str | None = None
) -> None:
    """Remove one tag (404 when absent) or all of them."""
    access.require_member(ctx)

    async def _delete(s: AsyncSession) -> None:
        instance = await access.load_instance(s, ctx, uuid, for_update=True)
        if instance.vm_state in _BUSY_STATES:
            raise InvalidState("delete tags", uuid, "vm_state", instance.vm_state)
        query = delete(m.InstanceTag).where(m.InstanceTag.instance_uuid == uuid)
        if tag is not None:
            query = query.where(m.InstanceTag.tag == tag)
        result = await s.execute(query)
        if tag is not None and not result.rowcount:  # type: ignore[attr-defined]
            raise errors.NotFound(f"Tag {tag} could not be found for instance {uuid}.")
        instance.updated_at = m.now()

    await svc.tx(_delete)


async def instance_actions(
    svc: ComputeService, ctx: RequestContext, uuid: str
) -> list[m.InstanceAction]:
    """Actions on a server, newest first (also for a deleted server, as Nova allows)."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        instance = await s.scalar(select(m.Instance).where(m.Instance.uuid == uuid))
        if instance is None or (not ctx.is_admin and instance.project_id != ctx.project_id):
            raise access.not_found(uuid)
        rows = await s.scalars(
            select(m.InstanceAction)
            .where(m.InstanceAction.instance_uuid == uuid)
            .order_by(m.InstanceAction.id.desc())
        )
        return list(rows)


async def instance_action(
    svc: ComputeService, ctx: RequestContext, uuid: str, request_id: str
) -> tuple[m.InstanceAction, list[m.InstanceActionEvent]]:
    """One action by request id, with its events."""
    actions = await instance_actions(svc, ctx, uuid)
    action = next((a for a in actions if a.request_id == request_id), None)
    if action is None:
        raise errors.NotFound(f"Action {request_id} on instance {uuid} could not be found")
    async with svc.db.session() as s:
        events = await s.scalars(
            select(m.InstanceActionEvent)
            .where(m.InstanceActionEvent.action_id == action.id)
            .order_by(m.InstanceActionEvent.id)
        )
        return action, list(events)
