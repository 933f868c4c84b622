"""Image records: create, show, list, JSON-patch, delete, deactivate and reactivate."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.image import models as m
from stackling.image import schemas
from stackling.image.service import access, attributes, listing, quota
from stackling.image.service.core import ImageService
from stackling.image.service.records import ImageRecord, load_record, load_records

_PATCH_OPS = ("add", "remove", "replace")


def _check_publicize(ctx: RequestContext, visibility: str | None) -> None:
    if visibility == "public" and not ctx.is_admin:
        raise errors.Forbidden("You are not authorized to make images public.")


async def create(svc: ImageService, ctx: RequestContext, body: Any) -> ImageRecord:
    """Record a new image in `queued`; data comes later (upload or stage + import)."""
    if not isinstance(body, dict):
        raise errors.BadRequest("The request body must be a JSON object of image attributes.")
    if not ctx.is_member:
        raise errors.Forbidden("You are not authorized to create images.")
    image_id = body.get("id")
    core: dict[str, Any] = {}
    props: dict[str, str] = {}
    tags: list[str] = []
    for name, value in body.items():
        if name == "id":
            attributes.check_uuid(name, value)
            continue
        attributes.refuse_protected_name(name)
        if name == "tags":
            tags = attributes.tag_list(value)
        elif name in schemas.WRITABLE:
            core[name] = attributes.core_value(name, value)
        else:
            props[name] = attributes.property_value(name, value)
    owner = core.pop("owner", None) or ctx.project_id
    if owner != ctx.project_id and not ctx.is_admin:
        raise errors.Forbidden(f"You are not permitted to create images owned by '{owner}'.")
    _check_publicize(ctx, core.get("visibility"))
    conf = svc.conf
    if conf.image_tag_quota >= 0 and len(tags) > conf.image_tag_quota:
        raise quota.OverQuota(
            f"Maximum number of tags exceeded: the quota is {conf.image_tag_quota}."
        )
    if conf.image_property_quota >= 0 and len(props) > conf.image_property_quota:
        raise quota.OverQuota(
            f"Maximum number of properties exceeded: the quota is {conf.image_property_quota}."
        )

    async def _create(s: AsyncSession) -> ImageRecord:
        new_id = (image_id or new_uuid()).lower()
        if await s.get(m.Image, new_id) is not None:
            raise errors.Conflict(f"An image with identifier {new_id} already exists")
        await quota.check_new_image(s, conf, owner)
        now = m.now()
        image = m.Image(
            id=new_id,
            owner=owner,
            status="queued",
            visibility=core.pop("visibility", "shared"),
            min_disk=core.pop("min_disk", 0),
            min_ram=core.pop("min_ram", 0),
            protected=core.pop("protected", False),
            os_hidden=core.pop("os_hidden", False),
            created_at=now,
            updated_at=now,
            **core,
        )
        s.add(image)
        await s.flush()
        s.add_all(m.ImageProperty(image_id=new_id, name=k, value=v) for k, v in props.items())
        s.add_all(m.ImageTag(image_id=new_id, value=t, created_at=now) for t in tags)
        await s.flush()
        return await load_record(s, image)

    try:
        return await svc.tx(_create)
    except IntegrityError:
        # A concurrent create with the same id won the insert (PostgreSQL).
        raise errors.Conflict(f"An image with identifier {image_id} already exists") from None


async def show(svc: ImageService, ctx: RequestContext, image_id: str) -> ImageRecord:
    """One image the caller may see."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        image = await access.load_visible(s, ctx, image_id)
        return await load_record(s, image)


async def list_images(
    svc: ImageService, ctx: RequestContext, pairs: list[tuple[str, str]]
) -> tuple[list[ImageRecord], listing.ListQuery]:
    """A page of the images the caller may see, filtered and sorted as asked."""
    access.require_reader(ctx)
    q = listing.parse(pairs, svc.conf)
    async with svc.db.session() as s:
        images = await listing.run(s, ctx, q)
        return await load_records(s, images), q


def _pointer(path: Any) -> str:
    """The attribute a JSON pointer names: one level, `~1` and `~0` unescaped."""
    if not isinstance(path, str) or not path.startswith("/") or len(path) < 2:
        raise errors.BadRequest(f"Invalid JSON pointer for this resource: '{path}'")
    name = path[1:]
    if "/" in name:
        if name.startswith("locations/"):
            raise errors.Forbidden("Changing image locations is not allowed on this cloud.")
        raise errors.BadRequest(f"Invalid JSON pointer for this resource: '{path}'")
    if "~" in name.replace("~0", "").replace("~1", ""):
        raise errors.BadRequest(f"Invalid JSON pointer for this resource: '{path}'")
    return name.replace("~1", "/").replace("~0", "~")


def parse_patch(body: Any) -> list[tuple[str, str, Any]]:
    """(op, attribute, value) from a v2.1 (`op`/`path`) or v2.0 (`replace: path`) patch."""
    if not isinstance(body, list):
        raise errors.BadRequest("A JSON-patch body is a list of operations.")
    out: list[tuple[str, str, Any]] = []
    for change in body:
        if not isinstance(change, dict):
            raise errors.BadRequest("Each JSON-patch operation must be an object.")
        if "op" in change:
            op, path = change.get("op"), change.get("path")
        else:
            ops = [k for k in _PATCH_OPS if k in change]
            if len(ops) != 1:
                raise errors.BadRequest("Each operation names exactly one of add, remove, replace.")
            op, path = ops[0], change[ops[0]]
        if op not in _PATCH_OPS:
            raise errors.BadRequest(f"Invalid operation: '{op}'; use add, remove or replace.")
        if op != "remove" and "value" not in change:
            raise errors.BadRequest(f"Operation '{op}' needs a 'value'.")
        out.append((op, _pointer(path), change.get("value")))
    return out


async def update(
    svc: ImageService, ctx: RequestContext, image_id: str, changes: list[tuple[str, str, Any]]
) -> ImageRecord:
    """Apply a JSON patch atomically: every change or none."""
    conf = svc.conf

    async def _apply(s: AsyncSession) -> ImageRecord:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        access.require_modify(ctx, image)
        props = {
            p.name: p
            for p in await s.scalars(
                select(m.ImageProperty).where(m.ImageProperty.image_id == image.id)
            )
        }
        for op, name, value in changes:
            attributes.refuse_protected_name(name)
            if name == "tags":
                if op == "remove":
                    raise errors.Forbidden(
                        "Attribute 'tags' cannot be removed; replace it with []."
                    )
                await _replace_tags(s, conf, image.id, attributes.tag_list(value))
            elif name in schemas.WRITABLE:
                if op == "remove":
                    raise errors.Forbidden(
                        f"Attribute '{name}' is a base attribute and cannot be removed."
                    )
                await _set_core(s, ctx, image, name, attributes.core_value(name, value))
            elif op == "remove":
                if name not in props:
                    raise errors.Conflict(f"Property {name} does not exist.")
                await s.delete(props.pop(name))
            else:
                text = attributes.property_value(name, value)
                if op == "replace" and name not in props:
                    raise errors.Conflict(f"Property {name} does not exist.")
                if name in props:
                    props[name].value = text
                else:
                    props[name] = m.ImageProperty(image_id=image.id, name=name, value=text)
                    s.add(props[name])
        if conf.image_property_quota >= 0 and len(props) > conf.image_property_quota:
            raise quota.OverQuota(
                f"Maximum number of properties exceeded: the quota is {conf.image_property_quota}."
            )
        image.updated_at = m.now()
        await s.flush()
        return await load_record(s, image)

    return await svc.tx(_apply)


async def _set_core(
    s: AsyncSession, ctx: RequestContext, image: m.Image, name: str, value: Any
) -> None:
    if name == "visibility":
        _check_publicize(ctx, value)
    elif name == "owner":
        if not ctx.is_admin and value != image.owner:
            raise errors.Forbidden("Only an administrator may change the owner of an image.")
    elif (
        name in ("disk_format", "container_format")
        and image.status != "queued"
        and getattr(image, name) != value
    ):
        raise errors.Forbidden(f"Attribute '{name}' can be only replaced for a queued image.")
    setattr(image, name, value)


async def _replace_tags(s: AsyncSession, conf: Any, image_id: str, tags: list[str]) -> None:
    if conf.image_tag_quota >= 0 and len(tags) > conf.image_tag_quota:
        raise quota.OverQuota(
            f"Maximum number of tags exceeded: the quota is {conf.image_tag_quota}."
        )
    await s.execute(delete(m.ImageTag).where(m.ImageTag.image_id == image_id))
    now = m.now()
    s.add_all(m.ImageTag(image_id=image_id, value=t, created_at=now) for t in tags)


async def forget(s: AsyncSession, image: m.Image) -> None:
    """Delete an image; its stored data is recorded for deletion in the same step.

    The row stays behind as a `deleted` tombstone, as Glance keeps deleted rows,
    so an image id is never handed out twice: a new image created with a deleted
    one's id could pass for it wherever that id is still referenced (OSSN-0075).
    """
    locations = (
        await s.scalars(select(m.ImageLocation).where(m.ImageLocation.image_id == image.id))
    ).all()
    for loc in locations:
        s.add(m.OrphanData(store=loc.store, url=loc.url))
    await s.execute(delete(m.ImageProperty).where(m.ImageProperty.image_id == image.id))
    await s.execute(delete(m.ImageTag).where(m.ImageTag.image_id == image.id))
    await s.execute(delete(m.ImageMember).where(m.ImageMember.image_id == image.id))
    await s.execute(delete(m.ImageLocation).where(m.ImageLocation.image_id == image.id))
    image.status = "deleted"
    image.busy_host = None
    image.staged_size = None
    image.updated_at = m.now()


async def delete_image(svc: ImageService, ctx: RequestContext, image_id: str) -> None:
    """Delete an image and its data (403 while protected)."""

    async def _delete(s: AsyncSession) -> None:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        access.require_modify(ctx, image, "delete")
        if image.protected:
            raise errors.Forbidden(f"Image {image_id} is protected and cannot be deleted.")
        if image.staged_size is not None or image.status in ("uploading", "importing"):
            s.add(m.OrphanData(store="os_glance_staging_store", url=svc.staging_url(image.id)))
        await forget(s, image)

    await svc.tx(_delete)
    await svc.purge_orphans()


async def set_active(
    svc: ImageService, ctx: RequestContext, image_id: str, *, active: bool
) -> None:
    """Deactivate (active → deactivated) or reactivate (deactivated → active)."""
    source, target, verb = (
        ("deactivated", "active", "reactivate")
        if active
        else ("active", "deactivated", "deactivate")
    )

    async def _flip(s: AsyncSession) -> None:
        image = await access.load_visible(s, ctx, image_id, for_update=True)
        access.require_modify(ctx, image, verb)
        if image.status == target:
            return
        if image.status != source:
            raise errors.Forbidden(f"Not allowed to {verb} image in status '{image.status}'.")
        image.status = target
        image.updated_at = m.now()

    await svc.tx(_flip)
