"""Glance's metadata definitions catalog at /image/v2/metadefs, and its JSON schemas."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from stackling.common import errors
from stackling.common.http import base_url, require_json
from stackling.db.engine import Database
from stackling.image.api.deps import V2, Context, QueryPairs
from stackling.image.metadefs import content, schemas, service, validation, views

router = APIRouter(tags=["image-metadefs"], dependencies=[Depends(require_json)])

NAMESPACES = f"{V2}/metadefs/namespaces"
ONE = NAMESPACES + "/{namespace}"

# Glance's page size when none is asked for, and the most it gives at once.
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
_TRUE = {"1", "t", "true", "on", "y", "yes"}


async def metadefs_db(request: Request) -> Database:
    """The database of this process."""
    return request.app.state.runtime.db


async def json_body(request: Request) -> Any:
    """The request's JSON body; 400 when it is missing or malformed."""
    raw = await request.body()
    if not raw.strip():
        raise errors.BadRequest("Body expected in request.")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.BadRequest("Malformed JSON in request body.") from exc


Db = Annotated[Database, Depends(metadefs_db)]
Body = Annotated[Any, Depends(json_body)]


def _no_content() -> Response:
    return Response(status_code=204)


# -- namespaces -----------------------------------------------------------------------------


@router.get(NAMESPACES)
async def list_namespaces(request: Request, db: Db, ctx: Context, query: QueryPairs) -> dict:
    """Namespaces the caller may see, a page at a time."""
    params = request.query_params
    types = params.get("resource_types")
    page = await service.list_namespaces(
        db,
        ctx,
        limit=validation.limit_param(params.get("limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT),
        marker=params.get("marker"),
        sort_key=params.get("sort_key", "created_at"),
        sort_dir=validation.sort_dir_param(params.get("sort_dir")),
        visibility=validation.visibility_param(params.get("visibility")),
        resource_types=types.split(",") if types is not None else None,
    )
    return views.namespace_page(page, query)


@router.post(NAMESPACES, status_code=201)
async def create_namespace(
    request: Request, response: Response, body: Body, db: Db, ctx: Context
) -> dict:
    """Create a namespace, with any resource types, objects, properties and tags it embeds."""
    given = validation.namespace_body(body)
    detail = await service.create_namespace(db, ctx, given)
    response.headers["Location"] = base_url(request, "/image") + views.namespace_href(
        detail.ns.namespace
    )
    return views.namespace_detail(detail)


@router.get(ONE)
async def get_namespace(namespace: str, request: Request, db: Db, ctx: Context) -> dict:
    """A namespace and what it holds; `resource_type` shows names with that type's prefix."""
    detail = await service.get_namespace(db, ctx, namespace)
    return views.namespace_detail(detail, request.query_params.get("resource_type"))


@router.put(ONE)
async def update_namespace(namespace: str, body: Body, db: Db, ctx: Context) -> dict:
    """Replace a namespace's attributes."""
    given = validation.namespace_body(body)
    return views.namespace(await service.update_namespace(db, ctx, namespace, given))


@router.delete(ONE, status_code=204)
async def delete_namespace(namespace: str, db: Db, ctx: Context) -> Response:
    """Delete an unprotected namespace and its content."""
    await service.delete_namespace(db, ctx, namespace)
    return _no_content()


# -- objects --------------------------------------------------------------------------------


@router.get(ONE + "/objects")
async def list_objects(namespace: str, request: Request, db: Db, ctx: Context) -> dict:
    """A namespace's objects."""
    params = request.query_params
    # Checked as Glance checks them, though it (and so this) lists every object.
    validation.sort_dir_param(params.get("sort_dir"))
    if validation.limit_param(params.get("limit"), default=None, maximum=None) == 0:
        raise errors.BadRequest("limit param must be positive")
    return views.objects(namespace, await content.list_objects(db, ctx, namespace))


@router.post(ONE + "/objects", status_code=201)
async def create_object(namespace: str, body: Body, db: Db, ctx: Context) -> dict:
    """Add an object to a namespace."""
    given = validation.object_body(body)
    row = await content.create_object(db, ctx, namespace, given)
    return views.metadef_object(namespace, row)


@router.delete(ONE + "/objects", status_code=204)
async def delete_objects(namespace: str, db: Db, ctx: Context) -> Response:
    """Remove every object of a namespace."""
    await content.delete_all(db, ctx, namespace, "objects")
    return _no_content()


@router.get(ONE + "/objects/{name}")
async def get_object(namespace: str, name: str, db: Db, ctx: Context) -> dict:
    """One object."""
    return views.metadef_object(namespace, await content.get_object(db, ctx, namespace, name))


@router.put(ONE + "/objects/{name}")
async def update_object(namespace: str, name: str, body: Body, db: Db, ctx: Context) -> dict:
    """Replace an object."""
    given = validation.object_body(body)
    row = await content.update_object(db, ctx, namespace, name, given)
    return views.metadef_object(namespace, row)


@router.delete(ONE + "/objects/{name}", status_code=204)
async def delete_object(namespace: str, name: str, db: Db, ctx: Context) -> Response:
    """Remove an object."""
    await content.delete_object(db, ctx, namespace, name)
    return _no_content()


# -- properties -----------------------------------------------------------------------------


@router.get(ONE + "/properties")
async def list_properties(namespace: str, db: Db, ctx: Context) -> dict:
    """A namespace's property definitions, by name."""
    rows = await content.list_properties(db, ctx, namespace)
    return {"properties": views.property_map(rows)}


@router.post(ONE + "/properties", status_code=201)
async def create_property(namespace: str, body: Body, db: Db, ctx: Context) -> dict:
    """Add a property definition to a namespace."""
    name, definition = validation.property_body(body)
    row = await content.create_property(db, ctx, namespace, name, definition)
    return views.metadef_property(row)


@router.delete(ONE + "/properties", status_code=204)
async def delete_properties(namespace: str, db: Db, ctx: Context) -> Response:
    """Remove every property definition of a namespace."""
    await content.delete_all(db, ctx, namespace, "properties")
    return _no_content()


@router.get(ONE + "/properties/{name}")
async def get_property(namespace: str, name: str, request: Request, db: Db, ctx: Context) -> dict:
    """One property definition; with `resource_type`, `name` is given with its prefix."""
    resource_type = request.query_params.get("resource_type")
    row = await content.get_property(db, ctx, namespace, name, resource_type)
    return views.metadef_property(row)


@router.put(ONE + "/properties/{name}")
async def update_property(namespace: str, name: str, body: Body, db: Db, ctx: Context) -> dict:
    """Replace a property definition."""
    new_name, definition = validation.property_body(body)
    row = await content.update_property(db, ctx, namespace, name, new_name, definition)
    return views.metadef_property(row)


@router.delete(ONE + "/properties/{name}", status_code=204)
async def delete_property(namespace: str, name: str, db: Db, ctx: Context) -> Response:
    """Remove a property definition."""
    await content.delete_property(db, ctx, namespace, name)
    return _no_content()


# -- tags -----------------------------------------------------------------------------------


@router.get(ONE + "/tags")
async def list_tags(namespace: str, request: Request, db: Db, ctx: Context) -> dict:
    """A namespace's tags, a page at a time when asked."""
    params = request.query_params
    rows = await content.list_tags(
        db,
        ctx,
        namespace,
        limit=validation.limit_param(params.get("limit") or None, default=None, maximum=None),
        marker=params.get("marker") or None,
        sort_key=params.get("sort_key", "created_at"),
        sort_dir=validation.sort_dir_param(params.get("sort_dir")),
    )
    return views.tag_names(row.name for row in rows)


@router.post(ONE + "/tags", status_code=201)
async def create_tags(namespace: str, request: Request, body: Body, db: Db, ctx: Context) -> dict:
    """Replace a namespace's tags, or add to them with `X-Openstack-Append: true`."""
    names = validation.tags_body(body)
    append = request.headers.get("x-openstack-append", "").strip().lower() in _TRUE
    created = await content.create_tags(db, ctx, namespace, names, append=append)
    return views.tag_names(created)


@router.delete(ONE + "/tags", status_code=204)
async def delete_tags(namespace: str, db: Db, ctx: Context) -> Response:
    """Remove every tag of a namespace."""
    await content.delete_all(db, ctx, namespace, "tags")
    return _no_content()


@router.post(ONE + "/tags/{name}", status_code=201)
async def create_tag(namespace: str, name: str, db: Db, ctx: Context) -> dict:
    """Add one tag, named by the path."""
    row = await content.create_tag(db, ctx, namespace, validation.tag_name(name))
    return views.tag(row)


@router.get(ONE + "/tags/{name}")
async def get_tag(namespace: str, name: str, db: Db, ctx: Context) -> dict:
    """One tag."""
    return views.tag(await content.get_tag(db, ctx, namespace, name))


@router.put(ONE + "/tags/{name}")
async def update_tag(namespace: str, name: str, body: Body, db: Db, ctx: Context) -> dict:
    """Rename a tag."""
    new_name = validation.tag_body(body)
    return views.tag(await content.update_tag(db, ctx, namespace, name, new_name))


@router.delete(ONE + "/tags/{name}", status_code=204)
async def delete_tag(namespace: str, name: str, db: Db, ctx: Context) -> Response:
    """Remove a tag."""
    await content.delete_tag(db, ctx, namespace, name)
    return _no_content()


# -- resource types -------------------------------------------------------------------------


@router.get(f"{V2}/metadefs/resource_types")
async def list_resource_types(db: Db, ctx: Context) -> dict:
    """Every resource type namespaces may apply to."""
    rows = await service.list_resource_types(db, ctx)
    return {"resource_types": [views.resource_type(r) for r in rows]}


@router.get(ONE + "/resource_types")
async def list_associations(namespace: str, db: Db, ctx: Context) -> dict:
    """The resource types a namespace applies to."""
    assocs = await service.list_associations(db, ctx, namespace)
    return {"resource_type_associations": [views.association(a) for a in assocs]}


@router.post(ONE + "/resource_types", status_code=201)
async def create_association(namespace: str, body: Body, db: Db, ctx: Context) -> dict:
    """Apply a namespace to a resource type."""
    given = validation.association_body(body)
    return views.association(await service.create_association(db, ctx, namespace, given))


@router.delete(ONE + "/resource_types/{resource_type}", status_code=204)
async def delete_association(namespace: str, resource_type: str, db: Db, ctx: Context) -> Response:
    """Stop applying a namespace to a resource type."""
    await service.delete_association(db, ctx, namespace, resource_type)
    return _no_content()


# -- schemas --------------------------------------------------------------------------------


@router.get(f"{V2}/schemas/metadefs/{{kind}}")
async def get_schema(kind: str, ctx: Context) -> JSONResponse:
    """The JSON schema of a metadefs resource or collection."""
    doc = schemas.document(kind)
    if doc is None:
        raise errors.NotFound(f"No schema named metadefs/{kind}.")
    return JSONResponse(doc)
