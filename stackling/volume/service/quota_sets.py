"""Cinder's os-quota-sets and limits: limits and usage per project, changed by admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.volume.service import policy, quota
from stackling.volume.service.core import VolumeService


async def show(
    svc: VolumeService, ctx: RequestContext, project_id: str, *, usage: bool
) -> dict[str, Any]:
    """A project's quota set, with {limit, in_use, reserved} per resource when `usage`."""
    policy.enforce(ctx, "volume_extension:quotas:show", {"project_id": project_id})
    async with svc.db.session() as s:
        found = await quota.limits(s, svc.conf, project_id)
        per_type = await quota.class_type_limits(s)
        used = await quota.usage(s, project_id) if usage else {}
    if usage:
        detail: dict[str, Any] = {
            key: {"limit": limit, "in_use": used.get(key, 0), "reserved": 0}
            for key, limit in found.items()
        }
        for key, limit in per_type.items():
            detail[key] = {"limit": limit, "in_use": 0, "reserved": 0}
        return {"id": project_id, **detail}
    return {"id": project_id, **found, **per_type}


async def defaults(svc: VolumeService, ctx: RequestContext, project_id: str) -> dict[str, Any]:
    """The default quota set, as any project starts with."""
    policy.enforce(ctx, "volume_extension:quotas:show", {"project_id": project_id})
    async with svc.db.session() as s:
        found = await quota.class_defaults(s, svc.conf)
        per_type = await quota.class_type_limits(s)
    return {"id": project_id, **found, **per_type}


async def update(
    svc: VolumeService, ctx: RequestContext, project_id: str, new: dict[str, int]
) -> dict[str, Any]:
    """Set a project's own limits (admin); none may go below what the project uses."""
    policy.enforce(ctx, "volume_extension:quotas:update")

    async def _do(s: AsyncSession) -> dict[str, Any]:
        await quota.lock_project(s, project_id)
        used = await quota.usage(s, project_id)
        for key, limit in new.items():
            if limit != quota.UNLIMITED and key != "per_volume_gigabytes" and limit < used[key]:
                raise errors.BadRequest(
                    f"Invalid input received: Quota limit must be greater than or equal to "
                    f"{used[key]} for {key}, which is already used."
                )
        await quota.set_limits(s, project_id, new)
        await s.flush()
        found = await quota.limits(s, svc.conf, project_id)
        return {**found, **await quota.class_type_limits(s)}

    return await svc.tx(_do)


async def reset(svc: VolumeService, ctx: RequestContext, project_id: str) -> None:
    """Forget a project's own limits (admin)."""
    policy.enforce(ctx, "volume_extension:quotas:delete")
    await svc.tx(lambda s: quota.reset(s, project_id))


async def absolute_limits(svc: VolumeService, ctx: RequestContext) -> dict[str, int]:
    """GET /limits' absolute section for the caller's project."""
    project_id = str(ctx.project_id)
    async with svc.db.session() as s:
        found = await quota.limits(s, svc.conf, project_id)
        used = await quota.usage(s, project_id)
    return {
        "maxTotalVolumes": found["volumes"],
        "maxTotalSnapshots": found["snapshots"],
        "maxTotalVolumeGigabytes": found["gigabytes"],
        "maxTotalBackups": found["backups"],
        "maxTotalBackupGigabytes": found["backup_gigabytes"],
        "totalVolumesUsed": used["volumes"],
        "totalSnapshotsUsed": used["snapshots"],
        "totalGigabytesUsed": used["gigabytes"],
        "totalBackupsUsed": used["backups"],
        "totalBackupGigabytesUsed": used["backup_gigabytes"],
    }
