"""Cinder's os-quota-sets and limits: limits and usage per project, changed by admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.volume import models as m
from stackling.volume.service import policy, quota
from stackling.volume.service.core import VolumeService

# Per-type resources Cinder shows for each type (volumes_<type>...); not enforced here.
PER_TYPE = ("volumes", "gigabytes", "snapshots")


async def _type_names(s: AsyncSession) -> list[str]:
    return list(await s.scalars(select(m.VolumeType.name).order_by(m.VolumeType.name)))


def _with_types(values: dict[str, Any], names: list[str], filler: Any) -> dict[str, Any]:
    out = dict(values)
    for name in names:
        for resource in PER_TYPE:
            out[f"{resource}_{name}"] = filler
    return out


async def show(
    svc: VolumeService, ctx: RequestContext, project_id: str, *, usage: bool
) -> dict[str, Any]:
    """A project's quota set, with {limit, in_use, reserved} per resource when `usage`."""
    policy.enforce(ctx, "volume_extension:quotas:show", {"project_id": project_id})
    async with svc.db.session() as s:
        found = await quota.limits(s, svc.conf, project_id)
        names = await _type_names(s)
        used = await quota.usage(s, project_id) if usage else {}
    if usage:
        detail: dict[str, Any] = {
            key: {"limit": limit, "in_use": used.get(key, 0), "reserved": 0}
            for key, limit in found.items()
        }
        filler: Any = {"limit": -1, "in_use": 0, "reserved": 0}
        return {"id": project_id, **_with_types(detail, names, filler)}
    return {"id": project_id, **_with_types(found, names, -1)}


async def defaults(svc: VolumeService, ctx: RequestContext, project_id: str) -> dict[str, Any]:
    """The default quota set, as any project starts with."""
    policy.enforce(ctx, "volume_extension:quotas:show", {"project_id": project_id})
    async with svc.db.session() as s:
        names = await _type_names(s)
    return {"id": project_id, **_with_types(quota.defaults(svc.conf), names, -1)}


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
        return _with_types(found, await _type_names(s), -1)

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
