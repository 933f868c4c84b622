"""Image data: upload, download (with Range), stage, import, and per-store delete."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from stackling.common.http import request_id
from stackling.image.api import body
from stackling.image.api.deps import V2, Context, ImageDep
from stackling.image.service import data

router = APIRouter(tags=["image-data"])


@router.put(f"{V2}/images/{{image_id}}/file", status_code=204)
async def upload(image_id: str, request: Request, ctx: Context, svc: ImageDep) -> Response:
    """Stream the body into the store; the image is active when this returns."""
    length = body.data_length(request)
    await data.upload(svc, ctx, image_id, body.data_stream(request), length)
    return Response(status_code=204)


@router.get(f"{V2}/images/{{image_id}}/file", response_model=None)
async def download(
    image_id: str, request: Request, ctx: Context, svc: ImageDep
) -> Response | StreamingResponse:
    """The image data; 204 when it has none, 206 for a Range."""
    got = await data.download(svc, ctx, image_id, request.headers.get("range"))
    if got.chunks is None:
        return Response(status_code=204)
    headers = {"Content-Length": str(got.length)}
    if got.image.checksum:
        headers["Content-MD5"] = got.image.checksum
    status = 200
    if got.partial:
        status = 206
        end = got.offset + got.length - 1
        headers["Content-Range"] = f"bytes {got.offset}-{end}/{got.image.size}"
    return StreamingResponse(
        got.chunks, status_code=status, headers=headers, media_type="application/octet-stream"
    )


@router.put(f"{V2}/images/{{image_id}}/stage", status_code=204)
async def stage(image_id: str, request: Request, ctx: Context, svc: ImageDep) -> Response:
    """Keep data in the staging area for a later glance-direct import."""
    length = body.data_length(request)
    await data.stage(svc, ctx, image_id, body.data_stream(request), length)
    return Response(status_code=204)


@router.post(f"{V2}/images/{{image_id}}/import", status_code=202)
async def import_image(image_id: str, request: Request, ctx: Context, svc: ImageDep) -> Response:
    """Start an import (glance-direct or copy-image); it runs as a task."""
    payload = await body.json_body(request)
    await data.start_import(svc, ctx, image_id, payload, request_id(request))
    return Response(status_code=202)


@router.delete(f"{V2}/stores/{{store_id}}/{{image_id}}", status_code=204)
async def delete_from_store(store_id: str, image_id: str, ctx: Context, svc: ImageDep) -> Response:
    """Remove one store's copy of an image's data."""
    await data.delete_from_store(svc, ctx, store_id, image_id)
    return Response(status_code=204)
