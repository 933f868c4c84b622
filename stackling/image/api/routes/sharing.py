"""Image members (/v2/images/{id}/members) and tags (/v2/images/{id}/tags/{tag})."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from stackling.common import errors
from stackling.image.api import body, views
from stackling.image.api.deps import V2, Context, ImageDep
from stackling.image.service import sharing

router = APIRouter(tags=["image-sharing"])


def _field(payload: Any, name: str) -> Any:
    if not isinstance(payload, dict) or name not in payload:
        raise errors.BadRequest(f"The request body must be an object with '{name}'.")
    return payload[name]


@router.post(f"{V2}/images/{{image_id}}/members")
async def add_member(
    image_id: str, request: Request, ctx: Context, svc: ImageDep
) -> dict[str, Any]:
    """Share the image with a project."""
    member = _field(await body.json_body(request), "member")
    return views.member(await sharing.add_member(svc, ctx, image_id, member))


@router.get(f"{V2}/images/{{image_id}}/members")
async def list_members(image_id: str, ctx: Context, svc: ImageDep) -> dict[str, Any]:
    """Projects the image is shared with."""
    rows = await sharing.list_members(svc, ctx, image_id)
    return {"members": [views.member(r) for r in rows], "schema": "/v2/schemas/members"}


@router.get(f"{V2}/images/{{image_id}}/members/{{member_id}}")
async def show_member(image_id: str, member_id: str, ctx: Context, svc: ImageDep) -> dict[str, Any]:
    """One membership."""
    return views.member(await sharing.show_member(svc, ctx, image_id, member_id))


@router.put(f"{V2}/images/{{image_id}}/members/{{member_id}}")
async def update_member(
    image_id: str, member_id: str, request: Request, ctx: Context, svc: ImageDep
) -> dict[str, Any]:
    """Accept or reject a shared image (as the member)."""
    status = _field(await body.json_body(request), "status")
    return views.member(await sharing.set_member_status(svc, ctx, image_id, member_id, status))


@router.delete(f"{V2}/images/{{image_id}}/members/{{member_id}}", status_code=204)
async def remove_member(image_id: str, member_id: str, ctx: Context, svc: ImageDep) -> Response:
    """Stop sharing the image with a project."""
    await sharing.remove_member(svc, ctx, image_id, member_id)
    return Response(status_code=204)


@router.put(f"{V2}/images/{{image_id}}/tags/{{tag}}", status_code=204)
async def add_tag(image_id: str, tag: str, ctx: Context, svc: ImageDep) -> Response:
    """Tag the image."""
    await sharing.add_tag(svc, ctx, image_id, tag)
    return Response(status_code=204)


@router.delete(f"{V2}/images/{{image_id}}/tags/{{tag}}", status_code=204)
async def remove_tag(image_id: str, tag: str, ctx: Context, svc: ImageDep) -> Response:
    """Remove a tag."""
    await sharing.remove_tag(svc, ctx, image_id, tag)
    return Response(status_code=204)
