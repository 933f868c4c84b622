"""Nova's image proxy (/images, deprecated at 2.36): Glance images seen through Nova.

Every call goes to the image service's own service layer with the caller's
context, so Glance's visibility and ownership rules decide exactly as they
would for a request made to Glance itself; only names, filters and errors are
translated to Nova's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute.service import quota
from stackling.compute.service.boot_request import check_metadata
from stackling.compute.service.core import ComputeService
from stackling.image.service import images as image_api
from stackling.image.service.records import ImageRecord

# Nova's list filters and the Glance v2 filter each one becomes.
_FILTERS = {
    "name": "name",
    "status": "status",
    "server": "instance_uuid",
    "type": "image_type",
    "minRam": "min_ram",
    "minDisk": "min_disk",
}
# Glance's own paging parameters: never taken from a client's property-* filter.
_PAGING = ("limit", "marker", "sort", "sort_key", "sort_dir")


@dataclass(slots=True)
class ImageQuery:
    """A Nova image list request: filters (Nova's names), page size and marker."""

    filters: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None


def image_not_found() -> errors.NotFound:
    """Nova's 404 for an image it cannot get from the image service."""
    return errors.NotFound("Image not found.")


def _glance(svc: ComputeService) -> Any:
    if not svc.has_peer("image"):
        raise errors.ServiceUnavailable("This cloud runs no image service.")
    return svc.peer("image")


@contextlib.contextmanager
def _as_nova() -> Iterator[None]:
    """Glance's 404 wording becomes Nova's; other errors keep their status and message."""
    try:
        yield
    except errors.NotFound:
        raise image_not_found() from None


def glance_filters(query: ImageQuery) -> list[tuple[str, str]]:
    """The Glance v2 list parameters a Nova filter set means (unknown names are ignored)."""
    out: list[tuple[str, str]] = []
    for name, value in query.filters:
        if name == "changes-since":
            out.append(("updated_at", f"gte:{value}"))
        elif name.startswith("property-"):
            prop = name[len("property-") :]
            if prop and prop not in _PAGING:
                out.append((prop, value))
        elif name == "status":
            # Glance's statuses are lower case; Nova passes the value through lowered.
            out.append(("status", value.lower()))
        elif name == "server":
            # A server may be named by id or by any of its links.
            out.append(("instance_uuid", value.rstrip("/").rsplit("/", 1)[-1]))
        elif name in _FILTERS:
            out.append((_FILTERS[name], value))
    return out


async def list_images(
    svc: ComputeService, ctx: RequestContext, query: ImageQuery
) -> list[ImageRecord]:
    """GET /images[/detail]: the caller's visible images, newest first, up to the asked limit.

    Nova reads Glance page after page until it has what was asked for; the
    answer is capped at the compute API's max_limit, as other Nova lists are.
    """
    glance = _glance(svc)
    cap = svc.conf.api_max_limit
    wanted = min(query.limit, cap) if query.limit else cap
    base = glance_filters(query)
    marker = query.marker
    found: list[ImageRecord] = []
    while len(found) < wanted:
        pairs = [*base, ("limit", str(wanted - len(found)))]
        if marker is not None:
            pairs.append(("marker", marker))
        page, parsed = await image_api.list_images(glance, ctx, pairs)
        found.extend(page)
        if not page or len(page) < parsed.limit:
            break
        marker = page[-1].image.id
    return found[:wanted]


async def show_image(svc: ComputeService, ctx: RequestContext, image_id: str) -> ImageRecord:
    """GET /images/{id}."""
    with _as_nova():
        record: ImageRecord = await image_api.show(_glance(svc), ctx, image_id)
    return record


async def delete_image(svc: ComputeService, ctx: RequestContext, image_id: str) -> None:
    """DELETE /images/{id}: Glance's rules apply (403 for someone else's or a protected image)."""
    with _as_nova():
        await image_api.delete_image(_glance(svc), ctx, image_id)


# -- metadata (image properties) --------------------------------------------------


def metadata_key_not_found() -> errors.NotFound:
    """Nova's 404 for a metadata key the image does not have."""
    return errors.NotFound("Invalid metadata key")


async def get_metadata(svc: ComputeService, ctx: RequestContext, image_id: str) -> dict[str, str]:
    """GET /images/{id}/metadata: the image's custom properties."""
    return dict((await show_image(svc, ctx, image_id)).properties)


async def get_item(svc: ComputeService, ctx: RequestContext, image_id: str, key: str) -> str:
    """GET /images/{id}/metadata/{key}."""
    properties = await get_metadata(svc, ctx, image_id)
    if key not in properties:
        raise metadata_key_not_found()
    return properties[key]


async def _check_quota(svc: ComputeService, ctx: RequestContext, count: int) -> None:
    """Nova counts image properties against the project's metadata_items limit."""
    async with svc.db.session() as s:
        limits = await quota.limits_for(s, svc.conf, ctx.project_id or "")
    limit = limits["metadata_items"]
    if 0 <= limit < count:
        raise errors.Forbidden("Image metadata limit exceeded")


async def set_metadata(
    svc: ComputeService,
    ctx: RequestContext,
    image_id: str,
    items: Any,
    *,
    replace: bool,
) -> dict[str, str]:
    """POST (merge) or PUT (replace) /images/{id}/metadata; the properties afterwards."""
    items = check_metadata(items)
    current = await get_metadata(svc, ctx, image_id)
    wanted = dict(items) if replace else {**current, **items}
    await _check_quota(svc, ctx, len(wanted))
    changes: list[tuple[str, str, Any]] = [
        ("remove", key, None) for key in current if key not in wanted
    ]
    changes += [("add", key, value) for key, value in items.items() if current.get(key) != value]
    if not changes:
        return wanted
    with _as_nova():
        record = await image_api.update(_glance(svc), ctx, image_id, changes)
    return dict(record.properties)


async def delete_item(svc: ComputeService, ctx: RequestContext, image_id: str, key: str) -> None:
    """DELETE /images/{id}/metadata/{key}; 404 when the image has no such key."""
    if key not in await get_metadata(svc, ctx, image_id):
        raise metadata_key_not_found()
    try:
        with _as_nova():
            await image_api.update(_glance(svc), ctx, image_id, [("remove", key, None)])
    except errors.Conflict:
        # Someone else removed it between our read and our write.
        raise metadata_key_not_found() from None
