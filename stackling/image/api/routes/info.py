"""Discovery and bookkeeping: /v2/info/*, /v2/schemas/*, tasks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stackling.common import errors
from stackling.image import schemas
from stackling.image.api import body, views
from stackling.image.api.deps import V2, Context, ImageDep
from stackling.image.service import access, quota, tasks
from stackling.image.service.data import IMPORT_METHODS

router = APIRouter(tags=["image-info"])


@router.get(f"{V2}/info/import")
async def info_import(ctx: Context) -> dict[str, Any]:
    """The import methods this cloud runs (no network fetches)."""
    return {
        "import-methods": {
            "description": "Import methods available.",
            "type": "array",
            "value": list(IMPORT_METHODS),
        }
    }


@router.get(f"{V2}/info/stores")
async def info_stores(ctx: Context, svc: ImageDep) -> dict[str, Any]:
    """The stores images can live in; the first is the default."""
    return {
        "stores": [
            {
                "id": store_id,
                "description": conf.description,
                **({"default": True} if store_id == svc.default_store else {}),
            }
            for store_id, conf in svc.conf.stores.items()
        ]
    }


@router.get(f"{V2}/info/stores/detail")
async def info_stores_detail(ctx: Context, svc: ImageDep) -> dict[str, Any]:
    """Stores with their driver, for administrators."""
    if not ctx.is_admin:
        raise errors.Forbidden("You are not authorized to see store details.")
    return {
        "stores": [
            {
                "id": store_id,
                "description": conf.description,
                "type": conf.driver,
                "properties": {},
                **({"default": True} if store_id == svc.default_store else {}),
            }
            for store_id, conf in svc.conf.stores.items()
        ]
    }


@router.get(f"{V2}/info/usage")
async def info_usage(ctx: Context, svc: ImageDep) -> dict[str, Any]:
    """The caller's project's image usage against its limits."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        used = await quota.usage(s, ctx.project_id)
    limits = quota.limits(svc.conf)
    return {
        "usage": {
            name: {"limit": limit, "usage": getattr(used, name)} for name, limit in limits.items()
        }
    }


@router.get(f"{V2}/schemas/{{name}}")
async def schema(name: str, ctx: Context) -> dict[str, Any]:
    """A JSON schema: image(s), member(s), task(s)."""
    build = schemas.SCHEMAS.get(name)
    if build is None:
        raise errors.NotFound(f"No schema named {name}.")
    return build()


@router.get(f"{V2}/tasks")
async def list_tasks(request: Request, ctx: Context, svc: ImageDep) -> dict[str, Any]:
    """Import tasks."""
    params = dict(request.query_params)
    rows = await tasks.list_tasks(svc, ctx, params)
    out: dict[str, Any] = {
        "tasks": [views.task(r, detail=False) for r in rows],
        "first": "/v2/tasks",
        "schema": "/v2/schemas/tasks",
    }
    return out


@router.post(f"{V2}/tasks", status_code=201)
async def create_task(request: Request, ctx: Context, svc: ImageDep) -> JSONResponse:
    """Legacy task-based import (refused: it needs outside network)."""
    task = await tasks.create_task(svc, ctx, await body.json_body(request))
    return JSONResponse(views.task(task), status_code=201)


@router.get(f"{V2}/tasks/{{task_id}}")
async def show_task(task_id: str, ctx: Context, svc: ImageDep) -> dict[str, Any]:
    """One task."""
    return views.task(await tasks.show_task(svc, ctx, task_id))


@router.get(f"{V2}/images/{{image_id}}/tasks")
async def image_tasks(image_id: str, ctx: Context, svc: ImageDep) -> dict[str, Any]:
    """The tasks of an image."""
    rows = await tasks.image_tasks(svc, ctx, image_id)
    return {"tasks": [views.task(r) for r in rows]}
