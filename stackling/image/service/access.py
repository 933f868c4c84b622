"""Who may see and change an image: Glance's visibility rules and default policy in one place.

Every image query goes through `visible_to` (lists) or `load_visible` (one
image), so a project never sees another's private image, whichever route asks.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.image import models as m


def not_found(image_id: str) -> errors.NotFound:
    """Glance's 404 for an image the caller cannot see (or that does not exist)."""
    return errors.NotFound(f"No image found with ID {image_id}")


def owns(ctx: RequestContext, image: m.Image) -> bool:
    """The caller's project owns the image (admin counts as owner of everything)."""
    return ctx.is_admin or (ctx.project_id is not None and ctx.project_id == image.owner)


def visible_to(
    ctx: RequestContext, *, visibility: str | None = None, member_status: str = "accepted"
) -> ColumnElement[bool]:
    """SQL condition: the images a list shows the caller, as Glance's default listing.

    Admins see everything. Others see public images, their own, shared images
    they are a member of (with `member_status`, accepted by default), and
    community images only when they ask for visibility=community.
    """
    if ctx.is_admin:
        return true()
    project = ctx.project_id
    own = m.Image.owner == project if project else false()
    shared = false()
    if project:
        member = select(m.ImageMember.image_id).where(
            m.ImageMember.image_id == m.Image.id, m.ImageMember.member == project
        )
        if member_status != "all":
            member = member.where(m.ImageMember.status == member_status)
        shared = and_(m.Image.visibility == "shared", exists(member))
    conditions = [m.Image.visibility == "public", own, shared]
    if visibility in ("community", "all"):
        conditions.append(m.Image.visibility == "community")
    return or_(*conditions)


async def can_see(s: AsyncSession, ctx: RequestContext, image: m.Image) -> bool:
    """Whether the caller may see this image (any membership status counts)."""
    if owns(ctx, image) or image.visibility in ("public", "community"):
        return True
    if image.visibility != "shared" or ctx.project_id is None:
        return False
    member = await s.get(m.ImageMember, (image.id, ctx.project_id))
    return member is not None


def lock(for_update: bool) -> bool | None:
    """`with_for_update` for loading an image row a write transaction will decide on.

    On PostgreSQL (READ COMMITTED) two transactions can otherwise both read
    `queued` and both claim the image; locking the row makes the second wait
    and then see the first one's change. SQLite write transactions already
    exclude each other, and its dialect leaves the clause out.
    """
    return True if for_update else None


async def load_visible(
    s: AsyncSession, ctx: RequestContext, image_id: str, *, for_update: bool = False
) -> m.Image:
    """The image if the caller may see it, else Glance's 404 (locked with `for_update`)."""
    image = await s.get(m.Image, image_id, with_for_update=lock(for_update))
    if image is None or image.status == "deleted" or not await can_see(s, ctx, image):
        raise not_found(image_id)
    return image


def require_reader(ctx: RequestContext) -> None:
    """Any role in the scope: reading images needs at least reader."""
    if not ctx.is_reader:
        raise errors.Forbidden("You are not authorized to read images.")


def require_modify(ctx: RequestContext, image: m.Image, action: str = "modify") -> None:
    """Changing an image needs the member role in its owning project, or admin."""
    if ctx.is_admin:
        return
    if not owns(ctx, image) or not ctx.is_member:
        raise errors.Forbidden(f"You are not authorized to {action} this image.")
