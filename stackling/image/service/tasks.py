"""Tasks: the record of each import, as /v2/tasks and /v2/images/{id}/tasks show them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.timeutil import utcnow
from stackling.image import models as m
from stackling.image.service import access
from stackling.image.service.core import ImageService

_STATUSES = ("pending", "processing", "success", "failure")


def _require_admin(ctx: RequestContext) -> None:
    # Glance's tasks API is for administrators by default.
    if not ctx.is_admin:
        raise errors.Forbidden("You are not authorized to use the tasks API.")


async def list_tasks(
    svc: ImageService, ctx: RequestContext, params: dict[str, str]
) -> list[m.Task]:
    """Tasks, newest first, filtered by type/status, paged by marker and limit."""
    _require_admin(ctx)
    stmt = select(m.Task).where((m.Task.expires_at.is_(None)) | (m.Task.expires_at > utcnow()))
    if "status" in params:
        if params["status"] not in _STATUSES:
            raise errors.BadRequest(f"Invalid status value: {params['status']}")
        stmt = stmt.where(m.Task.status == params["status"])
    if "type" in params:
        stmt = stmt.where(m.Task.type == params["type"])
    sort_dir = params.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise errors.BadRequest(f"Invalid sort direction: {sort_dir}")
    try:
        limit = min(int(params.get("limit", svc.conf.limit_param_default)), svc.conf.api_limit_max)
    except ValueError:
        raise errors.BadRequest("limit must be an integer.") from None
    if limit < 0:
        raise errors.BadRequest("limit must be a positive integer.")
    order = (
        (m.Task.created_at.asc(), m.Task.id.asc())
        if sort_dir == "asc"
        else (
            m.Task.created_at.desc(),
            m.Task.id.desc(),
        )
    )
    async with svc.db.session() as s:
        if "marker" in params:
            marker = await s.get(m.Task, params["marker"])
            if marker is None:
                raise errors.BadRequest(
                    f"Invalid marker. Task {params['marker']} could not be found."
                )
            if sort_dir == "asc":
                stmt = stmt.where(
                    (m.Task.created_at > marker.created_at)
                    | ((m.Task.created_at == marker.created_at) & (m.Task.id > marker.id))
                )
            else:
                stmt = stmt.where(
                    (m.Task.created_at < marker.created_at)
                    | ((m.Task.created_at == marker.created_at) & (m.Task.id < marker.id))
                )
        return list((await s.scalars(stmt.order_by(*order).limit(limit))).all())


async def show_task(svc: ImageService, ctx: RequestContext, task_id: str) -> m.Task:
    """One task."""
    _require_admin(ctx)
    async with svc.db.session() as s:
        task = await s.get(m.Task, task_id)
    if task is None:
        raise errors.NotFound(f"Task with the identifier {task_id} could not be found.")
    return task


async def create_task(svc: ImageService, ctx: RequestContext, body: Any) -> m.Task:
    """The legacy task-based import fetches from a URL: not offered on this cloud."""
    _require_admin(ctx)
    if not isinstance(body, dict) or body.get("type") != "import":
        raise errors.BadRequest("Task type must be 'import'.")
    raise errors.BadRequest(
        "Task-based import fetches images from a URL, and this cloud does not reach "
        "outside networks. Upload image data, or stage it and use the glance-direct import."
    )


async def image_tasks(svc: ImageService, ctx: RequestContext, image_id: str) -> list[m.Task]:
    """The tasks of one image (v2.12), to whoever may see the image."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        await access.load_visible(s, ctx, image_id)
        rows = await s.scalars(
            select(m.Task).where(m.Task.image_id == image_id).order_by(m.Task.created_at)
        )
        return list(rows.all())
