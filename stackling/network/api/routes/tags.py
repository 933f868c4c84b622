"""/v2.0/{resources}/{id}/tags: the tags of any taggable resource (standard-attr-tag)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from stackling.common import errors
from stackling.network.api import attributes as a
from stackling.network.api.deps import V20, Body, Context, NetworkDep
from stackling.network.service import tags

router = APIRouter(tags=["network-tags"])

_TAGS = V20 + "/{collection}/{ident}/tags"
_TAG = _TAGS + "/{tag}"
_check_tag = a.string(255)


def _collection(path: str) -> str:
    """The collection a URL segment names ("security-groups" -> "security_groups")."""
    collection = path.replace("-", "_")
    if "_" in path or not tags.taggable(collection):
        raise errors.NotFound("The resource could not be found.")
    return collection


def _tag(tag: Any) -> str:
    reason = _check_tag(tag) if tag != "" else "tag must not be empty"
    if reason:
        raise errors.BadRequest(f"Invalid input for tags. Reason: {reason}.")
    return tag


def _tag_list(data: Any) -> list[str]:
    if not isinstance(data, dict) or not isinstance(data.get("tags"), list):
        raise errors.BadRequest("Invalid input for tags. Reason: a list of tags was expected.")
    return [_tag(tag) for tag in data["tags"]]


@router.get(_TAGS)
async def list_tags(collection: str, ident: str, svc: NetworkDep, ctx: Context) -> JSONResponse:
    """The resource's tags."""
    found = await tags.list_tags(svc, ctx, _collection(collection), ident)
    return JSONResponse({"tags": found})


@router.put(_TAGS)
async def replace_tags(
    collection: str, ident: str, data: Body, svc: NetworkDep, ctx: Context
) -> JSONResponse:
    """Replace every tag of the resource."""
    found = await tags.replace_tags(svc, ctx, _collection(collection), ident, _tag_list(data))
    return JSONResponse({"tags": found})


@router.delete(_TAGS)
async def remove_tags(collection: str, ident: str, svc: NetworkDep, ctx: Context) -> Response:
    """Remove every tag of the resource."""
    await tags.remove_tag(svc, ctx, _collection(collection), ident, None)
    return Response(status_code=204)


@router.get(_TAG)
async def check_tag(
    collection: str, ident: str, tag: str, svc: NetworkDep, ctx: Context
) -> Response:
    """204 when the resource carries the tag, 404 otherwise."""
    await tags.has_tag(svc, ctx, _collection(collection), ident, tag)
    return Response(status_code=204)


@router.put(_TAG)
async def add_tag(collection: str, ident: str, tag: str, svc: NetworkDep, ctx: Context) -> Response:
    """Add one tag."""
    await tags.add_tag(svc, ctx, _collection(collection), ident, _tag(tag))
    return Response(status_code=201)


@router.delete(_TAG)
async def remove_tag(
    collection: str, ident: str, tag: str, svc: NetworkDep, ctx: Context
) -> Response:
    """Remove one tag."""
    await tags.remove_tag(svc, ctx, _collection(collection), ident, tag)
    return Response(status_code=204)
