"""Images: /v2/images and /v2/images/{id}, with JSON-patch updates and (de)activation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stackling.common import errors
from stackling.image.api import body, views
from stackling.image.api.deps import V2, Context, ImageDep, QueryPairs
from stackling.image.service import images
from stackling.image.service.data import IMPORT_METHODS

router = APIRouter(tags=["images"])


@router.post(f"{V2}/images", status_code=201)
async def create_image(request: Request, ctx: Context, svc: ImageDep) -> JSONResponse:
    """Record an image; it stays queued until data arrives."""
    rec = await images.create(svc, ctx, await body.json_body(request))
    return JSONResponse(
        views.image(rec),
        status_code=201,
        headers={
            "Location": f"{str(request.base_url).rstrip('/')}/image/v2/images/{rec.image.id}",
            # Clients (openstacksdk's use_import) learn here whether they may import.
            "OpenStack-image-import-methods": ",".join(IMPORT_METHODS),
            "OpenStack-image-store-ids": ",".join(svc.stores),
        },
    )


@router.get(f"{V2}/images")
async def list_images(ctx: Context, svc: ImageDep, pairs: QueryPairs) -> dict[str, Any]:
    """Images the caller may see, filtered, sorted and paged as Glance does."""
    records, q = await images.list_images(svc, ctx, pairs)
    return views.images(records, pairs, q.limit)


@router.get(f"{V2}/images/{{image_id}}")
async def show_image(image_id: str, ctx: Context, svc: ImageDep) -> dict[str, Any]:
    """One image."""
    return views.image(await images.show(svc, ctx, image_id))


@router.patch(f"{V2}/images/{{image_id}}")
async def update_image(
    image_id: str, request: Request, ctx: Context, svc: ImageDep
) -> dict[str, Any]:
    """Apply a JSON patch (all of it or none)."""
    changes = images.parse_patch(await body.patch_body(request))
    return views.image(await images.update(svc, ctx, image_id, changes))


@router.delete(f"{V2}/images/{{image_id}}", status_code=204)
async def delete_image(image_id: str, ctx: Context, svc: ImageDep) -> Response:
    """Delete the image and its data."""
    await images.delete_image(svc, ctx, image_id)
    return Response(status_code=204)


@router.post(f"{V2}/images/{{image_id}}/actions/deactivate", status_code=204)
async def deactivate(image_id: str, ctx: Context, svc: ImageDep) -> Response:
    """Stop the image's data from being downloaded (admins still can)."""
    await images.set_active(svc, ctx, image_id, active=False)
    return Response(status_code=204)


@router.post(f"{V2}/images/{{image_id}}/actions/reactivate", status_code=204)
async def reactivate(image_id: str, ctx: Context, svc: ImageDep) -> Response:
    """Make a deactivated image usable again."""
    await images.set_active(svc, ctx, image_id, active=True)
    return Response(status_code=204)


@router.api_route(
    f"{V2}/images/", methods=["GET", "DELETE", "PATCH", "PUT"], include_in_schema=False
)
async def empty_image_id(ctx: Context) -> Response:
    """`/v2/images/` names an image with an empty id, which cannot exist (Glance: 404)."""
    raise errors.NotFound("No image found with an empty ID.")
