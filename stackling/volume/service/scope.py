"""The one place that decides which volumes a caller may see: other projects' are 404.

Every lookup and list of a volume starts from here. Admins may reach any volume
by id; lists show the caller's own project unless an admin asks for all
projects (Cinder's `all_tenants`).
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ColumnElement, Select, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.volume import faults
from stackling.volume import models as m

M = TypeVar("M")


def visible(ctx: RequestContext, *, all_projects: bool = True) -> ColumnElement[bool]:
    """SQL condition: volumes the caller may see (for an admin, all or its project's)."""
    if ctx.is_admin and all_projects:
        return true()
    if ctx.project_id is None:
        return false()
    return m.Volume.project_id == ctx.project_id


def select_volumes(ctx: RequestContext, *, all_projects: bool) -> Select[tuple[m.Volume]]:
    """SELECT of the volumes a list shows the caller."""
    return select(m.Volume).where(visible(ctx, all_projects=all_projects))


async def load_volume(
    s: AsyncSession, ctx: RequestContext, volume_id: str, *, for_update: bool = False
) -> m.Volume:
    """The volume if the caller may see it; Cinder's VolumeNotFound otherwise."""
    query = select(m.Volume).where(visible(ctx), m.Volume.id == volume_id)
    if for_update:
        query = query.with_for_update()
    row = await s.scalar(query.execution_options(populate_existing=True))
    if row is None:
        raise faults.volume_not_found(volume_id)
    return row


def visible_types(ctx: RequestContext) -> ColumnElement[bool]:
    """SQL condition: volume types the caller may see (private ones are the admin's)."""
    if ctx.is_admin:
        return true()
    return m.VolumeType.is_public.is_(True)


def visible_snapshots(ctx: RequestContext, *, all_projects: bool = True) -> ColumnElement[bool]:
    """SQL condition: snapshots the caller may see (for an admin, all or its project's)."""
    if ctx.is_admin and all_projects:
        return true()
    if ctx.project_id is None:
        return false()
    return m.Snapshot.project_id == ctx.project_id


def select_snapshots(ctx: RequestContext, *, all_projects: bool) -> Select[tuple[m.Snapshot]]:
    """SELECT of the snapshots a list shows the caller."""
    return select(m.Snapshot).where(visible_snapshots(ctx, all_projects=all_projects))


async def load_snapshot(
    s: AsyncSession, ctx: RequestContext, snapshot_id: str, *, for_update: bool = False
) -> m.Snapshot:
    """The snapshot if the caller may see it; Cinder's SnapshotNotFound otherwise."""
    query = select(m.Snapshot).where(visible_snapshots(ctx), m.Snapshot.id == snapshot_id)
    if for_update:
        query = query.with_for_update()
    row = await s.scalar(query.execution_options(populate_existing=True))
    if row is None:
        raise faults.snapshot_not_found(snapshot_id)
    return row
