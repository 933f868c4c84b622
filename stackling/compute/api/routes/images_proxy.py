"""/images and /images/{id}/metadata: Nova's image proxy (gone from 2.36 and 2.39)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from stackling.common import errors
from stackling.common.http import base_url
from stackling.compute.api import views_images as views
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, LinksDep, Microversion
from stackling.compute.api.microversion import Version
from stackling.compute.api.query_misc import Query, not_in_version
from stackling.compute.api.reply import reply
from stackling.compute.service import images_proxy

router = APIRouter(tags=["compute-images"])

IMAGES = V21 + "/images"


def _images_api(mv: Version) -> None:
    if mv.at_least("2.36"):
        raise not_in_version()


def _metadata_api(mv: Version) -> None:
    if mv.at_least("2.39"):
        raise not_in_version()


def _glance(request: Request) -> str:
    """Where the image service answers, for the `alternate` link."""
    return base_url(request, "/image")


async def _list(
    request: Request, svc: ComputeDep, ctx: Context, mv: Version, links: LinksDep, *, detail: bool
) -> Response:
    _images_api(mv)
    query = Query(request)
    q = images_proxy.ImageQuery(
        filters=list(query.items), limit=query.integer("limit"), marker=query.get("marker")
    )
    found = await images_proxy.list_images(svc, ctx, q)
    glance = _glance(request)
    view = views.image_detail if detail else views.image_summary
    body: dict[str, Any] = {"images": [view(r, links, glance) for r in found]}
    # As Nova: a next link only when the client asked for a limit and got a full page.
    if q.limit and found and len(found) == q.limit:
        path = "images/detail" if detail else "images"
        body["images_links"] = query.next_links(path, found[-1].image.id)
    return reply(mv, body)


@router.get(IMAGES)
@router.get(IMAGES + "/", include_in_schema=False)
async def list_images(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Images the caller may see: id, name and links."""
    return await _list(request, svc, ctx, mv, links, detail=False)


@router.get(IMAGES + "/detail")
async def list_images_detail(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Images the caller may see, in full."""
    return await _list(request, svc, ctx, mv, links, detail=True)


@router.delete(IMAGES + "/")
async def delete_unnamed_image(ctx: Context, mv: Microversion) -> Response:
    """DELETE /images/ names no image: Nova's 404, where a redirect would reach the list."""
    _images_api(mv)
    raise images_proxy.image_not_found()


@router.get(IMAGES + "/{image_id}")
async def show_image(
    image_id: str,
    request: Request,
    svc: ComputeDep,
    ctx: Context,
    mv: Microversion,
    links: LinksDep,
) -> Response:
    """One image."""
    _images_api(mv)
    record = await images_proxy.show_image(svc, ctx, image_id)
    return reply(mv, {"image": views.image_detail(record, links, _glance(request))})


@router.delete(IMAGES + "/{image_id}")
async def delete_image(image_id: str, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """Delete an image (204)."""
    _images_api(mv)
    await images_proxy.delete_image(svc, ctx, image_id)
    return reply(mv, None, 204)


# -- metadata ---------------------------------------------------------------------


def _metadata_body(data: dict[str, Any]) -> Any:
    if "metadata" not in data:
        raise errors.BadRequest(
            "Invalid input for field/attribute metadata. 'metadata' is a required property"
        )
    return data["metadata"]


@router.get(IMAGES + "/{image_id}/metadata")
async def list_metadata(image_id: str, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """All metadata (custom properties) of an image."""
    _metadata_api(mv)
    return reply(mv, {"metadata": await images_proxy.get_metadata(svc, ctx, image_id)})


@router.post(IMAGES + "/{image_id}/metadata")
async def merge_metadata(
    image_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Add or change metadata keys; all metadata afterwards."""
    _metadata_api(mv)
    items = _metadata_body(data)
    merged = await images_proxy.set_metadata(svc, ctx, image_id, items, replace=False)
    return reply(mv, {"metadata": merged})


@router.put(IMAGES + "/{image_id}/metadata")
async def replace_metadata(
    image_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Replace all metadata."""
    _metadata_api(mv)
    items = _metadata_body(data)
    result = await images_proxy.set_metadata(svc, ctx, image_id, items, replace=True)
    return reply(mv, {"metadata": result})


@router.get(IMAGES + "/{image_id}/metadata/{key}")
async def show_metadata_item(
    image_id: str, key: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One metadata item."""
    _metadata_api(mv)
    value = await images_proxy.get_item(svc, ctx, image_id, key)
    return reply(mv, {"meta": {key: value}})


@router.put(IMAGES + "/{image_id}/metadata/{key}")
async def set_metadata_item(
    image_id: str, key: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Set one metadata item: the body names exactly the key of the URL."""
    _metadata_api(mv)
    meta = data.get("meta")
    if not isinstance(meta, dict) or not meta:
        raise errors.BadRequest(f"Invalid input for field/attribute meta. Value: {meta}.")
    if len(meta) > 1:
        raise errors.BadRequest("Request body contains too many items")
    if key not in meta:
        raise errors.BadRequest("Request body and URI mismatch")
    await images_proxy.set_metadata(svc, ctx, image_id, meta, replace=False)
    return reply(mv, {"meta": meta})


@router.delete(IMAGES + "/{image_id}/metadata/{key}")
async def delete_metadata_item(
    image_id: str, key: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Remove one metadata item (204)."""
    _metadata_api(mv)
    await images_proxy.delete_item(svc, ctx, image_id, key)
    return reply(mv, None, 204)
