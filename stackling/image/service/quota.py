"""Per-project image quotas: count, stored bytes, staged bytes, uploads in flight.

Checked inside the write transaction that claims the resource (serialised on
SQLite, under a per-project advisory lock on PostgreSQL), so concurrent
requests cannot together pass a limit that each alone respects.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.image import models as m
from stackling.settings import ImageSettings

_UPLOADING = ("saving", "uploading", "importing")
# The first key of this module's advisory locks ("img"), apart from other users' keys.
_LOCK_NS = 0x696D67


@dataclass(frozen=True, slots=True)
class Usage:
    """What a project holds now."""

    image_count_total: int
    image_size_total: int
    image_stage_total: int
    image_count_uploading: int


class OverQuota(errors.PayloadTooLarge):
    """Glance answers quota overruns with 413."""


async def usage(s: AsyncSession, project: str | None) -> Usage:
    """The project's current usage (one aggregate query)."""
    row = (
        await s.execute(
            select(
                func.count(m.Image.id),
                func.coalesce(func.sum(m.Image.size), 0),
                func.coalesce(func.sum(m.Image.staged_size), 0),
                func.coalesce(func.sum(case((m.Image.status.in_(_UPLOADING), 1), else_=0)), 0),
            ).where(m.Image.owner == project, m.Image.status != "deleted")
        )
    ).one()
    return Usage(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def limits(conf: ImageSettings) -> dict[str, int]:
    """Limits by Glance's names; -1 is unlimited."""
    return {
        "image_count_total": conf.image_count_total,
        "image_size_total": conf.image_size_total_bytes,
        "image_stage_total": conf.image_stage_total_bytes,
        "image_count_uploading": conf.image_count_uploading,
    }


def _over(limit: int, used: int, adding: int = 1) -> bool:
    return limit >= 0 and used + adding > limit


async def lock_project(s: AsyncSession, project: str | None) -> None:
    """Serialise the quota decisions of one project until this write transaction ends.

    SQLite write transactions already run one at a time. On PostgreSQL (READ
    COMMITTED) two transactions would each count without the other's new row;
    a transaction-scoped advisory lock per project makes the second wait for
    the first to commit, and its count then includes it.
    """
    if s.bind is None or s.bind.dialect.name != "postgresql":
        return
    key = zlib.crc32(f"image-quota:{project}".encode()) & 0x7FFFFFFF
    await s.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": _LOCK_NS, "key": key})


async def check_new_image(s: AsyncSession, conf: ImageSettings, project: str | None) -> None:
    """413 when the project already holds its image count."""
    await lock_project(s, project)
    used = await usage(s, project)
    if _over(conf.image_count_total, used.image_count_total):
        raise OverQuota(
            f"Maximum number of images exceeded: the quota is {conf.image_count_total}."
        )


async def room_for_data(
    s: AsyncSession, conf: ImageSettings, project: str | None, *, staging: bool
) -> int:
    """Bytes the project may still store (or stage); 413 when none, or too many uploads."""
    await lock_project(s, project)
    used = await usage(s, project)
    if _over(conf.image_count_uploading, used.image_count_uploading):
        raise OverQuota(
            "Maximum number of images being uploaded exceeded: "
            f"the quota is {conf.image_count_uploading}."
        )
    limit, held = (
        (conf.image_stage_total_bytes, used.image_stage_total)
        if staging
        else (conf.image_size_total_bytes, used.image_size_total)
    )
    room = conf.image_size_cap if limit < 0 else min(conf.image_size_cap, limit - held)
    if room <= 0:
        raise OverQuota("Image storage quota exceeded: no room left for more image data.")
    return room
