"""Which backups a caller may see: its project's (all, for an admin); others' are 404."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.volume import faults
from stackling.volume import models as m


def visible_backups(ctx: RequestContext, *, all_projects: bool = True) -> ColumnElement[bool]:
    """SQL condition: backups the caller may see (for an admin, all or its project's)."""
    if ctx.is_admin and all_projects:
        return true()
    if ctx.project_id is None:
        return false()
    return m.Backup.project_id == ctx.project_id


def select_backups(ctx: RequestContext, *, all_projects: bool) -> Select[tuple[m.Backup]]:
    """SELECT of the backups a list shows the caller."""
    return select(m.Backup).where(visible_backups(ctx, all_projects=all_projects))


async def load_backup(
    s: AsyncSession, ctx: RequestContext, backup_id: str, *, for_update: bool = False
) -> m.Backup:
    """The backup if the caller may see it; Cinder's BackupNotFound otherwise."""
    query = select(m.Backup).where(visible_backups(ctx), m.Backup.id == backup_id)
    if for_update:
        query = query.with_for_update()
    row = await s.scalar(query.execution_options(populate_existing=True))
    if row is None:
        raise faults.backup_not_found(backup_id)
    return row
