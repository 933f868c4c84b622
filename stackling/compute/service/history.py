"""Instance actions and their events (os-instance-actions), and faults, as rows."""

from __future__ import annotations

import traceback as tb

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.compute import models as m

# Nova's fault messages are at most 255 characters (the column size).
_MESSAGE_MAX = 255


def start_action(
    s: AsyncSession, ctx: RequestContext, instance: m.Instance, action: str
) -> m.InstanceAction:
    """Record that the caller started `action` on `instance` (in the caller's transaction)."""
    row = m.InstanceAction(
        instance_uuid=instance.uuid,
        action=action,
        request_id=ctx.request_id,
        project_id=ctx.project_id or instance.project_id,
        user_id=ctx.user_id or instance.user_id,
    )
    s.add(row)
    return row


async def latest_action(s: AsyncSession, uuid: str) -> m.InstanceAction | None:
    """The newest action on a server."""
    return await s.scalar(
        select(m.InstanceAction)
        .where(m.InstanceAction.instance_uuid == uuid)
        .order_by(m.InstanceAction.id.desc())
        .limit(1)
    )


async def record_event(
    s: AsyncSession,
    uuid: str,
    event: str,
    host: str,
    *,
    error: BaseException | None = None,
) -> None:
    """Add a finished event to the server's newest action, finishing the action too."""
    action = await latest_action(s, uuid)
    if action is None:
        return
    now = m.now()
    s.add(
        m.InstanceActionEvent(
            action_id=action.id,
            event=event,
            host=host,
            result="Error" if error else "Success",
            traceback="".join(tb.format_exception(error)) if error else None,
            details=str(error)[:_MESSAGE_MAX] if error else None,
            start_time=action.start_time,
            finish_time=now,
        )
    )
    await s.execute(
        update(m.InstanceAction)
        .where(m.InstanceAction.id == action.id)
        .values(finish_time=now, updated_at=now, message="Error" if error else action.message)
    )


def add_fault(
    s: AsyncSession,
    uuid: str,
    message: str,
    *,
    code: int = 500,
    details: str | None = None,
    host: str | None = None,
) -> None:
    """Record why an operation on a server failed (shown as the server's `fault`)."""
    s.add(
        m.InstanceFault(
            instance_uuid=uuid,
            code=code,
            message=message[:_MESSAGE_MAX],
            details=details,
            host=host,
        )
    )
