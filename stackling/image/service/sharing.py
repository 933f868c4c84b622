"""Sharing and labelling: image members (share with a project, accept/reject) and tags."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.image import models as m
from stackling.image import schemas
from stackling.image.service import access, attributes, quota
from stackling.image.service.core import ImageService


def _only_shared(image: m.Image) -> None:
    if image.visibility != "shared":
        raise errors.Forbidden(
            f"Only shared images have members; image {image.id} is {image.visibility}."
        )


def _member_missing(image_id: str, member: str) -> errors.NotFound:
    return errors.NotFound(f"Member {member} not found for image {image_id}.")


async def add_member(
    svc: ImageService, ctx: RequestContext, image_id: str, member: object
) -> m.ImageMember:
    """Share an image with a project (pending until that project accepts)."""
    if not isinstance(member, str) or not member or len(member) > 255:
        raise errors.BadRequest("'member' is the id of the project to share the image with.")
    attributes.refuse_nul("member", member)

    async def _add(s: AsyncSession) -> m.ImageMember:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        access.require_modify(ctx, image, "share")
        _only_shared(image)
        if await s.get(m.ImageMember, (image_id, member)) is not None:
            raise errors.Conflict(f"Member {member} already has membership of image {image_id}.")
        limit = svc.conf.image_member_quota
        if limit >= 0:
            count = await s.scalar(select(func.count()).where(m.ImageMember.image_id == image_id))
            if (count or 0) >= limit:
                raise quota.OverQuota(f"Maximum number of image members exceeded: {limit}.")
        now = m.now()
        row = m.ImageMember(
            image_id=image_id, member=member, status="pending", created_at=now, updated_at=now
        )
        s.add(row)
        return row

    return await svc.tx(_add)


async def list_members(
    svc: ImageService, ctx: RequestContext, image_id: str
) -> list[m.ImageMember]:
    """The owner sees every member; a member sees only itself."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        image = await access.load_visible(s, ctx, image_id)
        _only_shared(image)
        stmt = select(m.ImageMember).where(m.ImageMember.image_id == image_id)
        if not access.owns(ctx, image):
            stmt = stmt.where(m.ImageMember.member == ctx.project_id)
        return list((await s.scalars(stmt.order_by(m.ImageMember.created_at))).all())


async def show_member(
    svc: ImageService, ctx: RequestContext, image_id: str, member: str
) -> m.ImageMember:
    """One membership, to the owner or to that member."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        image = await access.load_visible(s, ctx, image_id)
        _only_shared(image)
        row = await s.get(m.ImageMember, (image_id, member))
        if row is None or not (access.owns(ctx, image) or ctx.project_id == member):
            raise _member_missing(image_id, member)
        return row


async def set_member_status(
    svc: ImageService, ctx: RequestContext, image_id: str, member: str, status: object
) -> m.ImageMember:
    """The member project accepts, rejects or un-decides; the owner may not do it for them."""
    if status not in schemas.MEMBER_STATUSES:
        raise errors.BadRequest(
            f"Invalid status {status!r}; use one of {', '.join(schemas.MEMBER_STATUSES)}."
        )

    async def _set(s: AsyncSession) -> m.ImageMember:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        _only_shared(image)
        row = await s.get(m.ImageMember, (image_id, member))
        if row is None or not (access.owns(ctx, image) or ctx.project_id == member):
            raise _member_missing(image_id, member)
        if ctx.project_id != member:
            raise errors.Forbidden("Only the member project can accept or reject a shared image.")
        if not ctx.is_member:
            raise errors.Forbidden("You are not authorized to change this membership.")
        row.status = str(status)
        row.updated_at = m.now()
        return row

    return await svc.tx(_set)


async def remove_member(svc: ImageService, ctx: RequestContext, image_id: str, member: str) -> None:
    """Stop sharing with a project (the owner's decision)."""

    async def _remove(s: AsyncSession) -> None:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        _only_shared(image)
        row = await s.get(m.ImageMember, (image_id, member))
        if row is None or not (access.owns(ctx, image) or ctx.project_id == member):
            raise _member_missing(image_id, member)
        access.require_modify(ctx, image, "remove members of")
        await s.delete(row)

    await svc.tx(_remove)


async def add_tag(svc: ImageService, ctx: RequestContext, image_id: str, tag: str) -> None:
    """Tag an image (idempotent)."""
    attributes.check_tag(tag)

    async def _add(s: AsyncSession) -> None:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        access.require_modify(ctx, image, "tag")
        if await s.get(m.ImageTag, (image_id, tag)) is not None:
            return
        limit = svc.conf.image_tag_quota
        if limit >= 0:
            count = await s.scalar(select(func.count()).where(m.ImageTag.image_id == image_id))
            if (count or 0) >= limit:
                raise quota.OverQuota(f"Maximum number of tags exceeded: the quota is {limit}.")
        now = m.now()
        s.add(m.ImageTag(image_id=image_id, value=tag, created_at=now))
        image.updated_at = now

    await svc.tx(_add)


async def remove_tag(svc: ImageService, ctx: RequestContext, image_id: str, tag: str) -> None:
    """Untag an image; 404 when it does not carry the tag."""

    async def _remove(s: AsyncSession) -> None:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        access.require_modify(ctx, image, "untag")
        row = await s.get(m.ImageTag, (image_id, tag))
        if row is None:
            raise errors.NotFound(f"Tag {tag} not found on image {image_id}.")
        await s.delete(row)
        image.updated_at = m.now()

    await svc.tx(_remove)
