"""The five routes every Neutron resource has, built from one declaration per resource.

GET and POST on the collection, GET, PUT and DELETE on a member: each parses
the request against the resource's `Spec`, calls one service function and
renders the result with the resource's view. A POST may carry a list of
resources (bulk create); they are created one by one and, should one fail,
those already created are deleted again before the error is returned.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.network.api import attributes, query
from stackling.network.api.deps import V20, Body, Context, NetworkDep, Revision
from stackling.network.service.core import NetworkService
from stackling.network.service.listing import ListQuery
from stackling.settings import NetworkSettings

LOG = logging.getLogger(__name__)

View = Callable[[Any, RequestContext, NetworkSettings], dict[str, Any]]


@dataclass(frozen=True)
class Resource:
    """A Neutron resource: its attributes, its view and its service functions."""

    spec: attributes.Spec
    view: View
    list: Callable[[NetworkService, RequestContext, ListQuery], Awaitable[list[Any]]]
    show: Callable[[NetworkService, RequestContext, str], Awaitable[Any]]
    create: Callable[[NetworkService, RequestContext, dict[str, Any]], Awaitable[Any]]
    delete: Callable[[NetworkService, RequestContext, str, int | None], Awaitable[None]]
    update: (
        Callable[[NetworkService, RequestContext, str, dict[str, Any], int | None], Awaitable[Any]]
        | None
    ) = None
    bulk: bool = True


def _bulk_items(spec: attributes.Spec, data: Any) -> list[Any] | None:
    """The items of a bulk body (`{"networks": [...]}`), or None for a single resource."""
    if not isinstance(data, dict) or spec.collection not in data:
        return None
    items = data[spec.collection]
    if not isinstance(items, list) or not items:
        raise errors.BadRequest("Resources required")
    return [item if isinstance(item, dict) and spec.member in item else {spec.member: item}
            for item in items]  # fmt: skip


def build(res: Resource) -> APIRouter:
    """The routes of one resource."""
    spec = res.spec
    router = APIRouter(tags=[f"network-{spec.collection}"])
    collection = f"{V20}/{spec.path}"
    member = collection + "/{ident}"

    async def list_items(request: Request, svc: NetworkDep, ctx: Context) -> JSONResponse:
        asked = query.parse(request, spec, svc.conf.pagination_max_limit)
        rows = await res.list(svc, ctx, asked.query)
        full = [res.view(row, ctx, svc.conf) for row in rows]
        body: dict[str, Any] = {spec.collection: [asked.select(item) for item in full]}
        if asked.query.limit:
            body[f"{spec.collection}_links"] = asked.links([item["id"] for item in full])
        return JSONResponse(body)

    async def show_item(
        ident: str, request: Request, svc: NetworkDep, ctx: Context
    ) -> JSONResponse:
        fields = [v for k, v in request.query_params.multi_items() if k == "fields" and v]
        item = res.view(await res.show(svc, ctx, ident), ctx, svc.conf)
        if fields:
            item = {key: value for key, value in item.items() if key in fields}
        return JSONResponse({spec.member: item})

    async def create_item(data: Body, svc: NetworkDep, ctx: Context) -> JSONResponse:
        items = _bulk_items(spec, data) if res.bulk else None
        if items is None:
            item = attributes.prepare(spec, ctx, data, create=True, action=f"create_{spec.member}")
            created = await res.create(svc, ctx, item)
            return JSONResponse({spec.member: res.view(created, ctx, svc.conf)}, status_code=201)
        prepared = [
            attributes.prepare(spec, ctx, one, create=True, action=f"create_{spec.member}")
            for one in items
        ]
        done: list[Any] = []
        try:
            for item in prepared:
                done.append(await res.create(svc, ctx, item))
        except Exception:
            for row in reversed(done):
                try:
                    await res.delete(svc, ctx, row.id, None)
                except Exception:
                    LOG.exception("undoing bulk create: deleting %s %s failed", spec.member, row.id)
            raise
        views = [res.view(row, ctx, svc.conf) for row in done]
        return JSONResponse({spec.collection: views}, status_code=201)

    async def update_item(
        ident: str, data: Body, svc: NetworkDep, ctx: Context, revision: Revision
    ) -> JSONResponse:
        assert res.update is not None
        item = attributes.prepare(spec, ctx, data, create=False, action=f"update_{spec.member}")
        updated = await res.update(svc, ctx, ident, item, revision)
        return JSONResponse({spec.member: res.view(updated, ctx, svc.conf)})

    async def delete_item(
        ident: str, svc: NetworkDep, ctx: Context, revision: Revision
    ) -> Response:
        await res.delete(svc, ctx, ident, revision)
        return Response(status_code=204)

    name = spec.member
    router.add_api_route(collection, list_items, methods=["GET"], name=f"list_{name}s")
    router.add_api_route(collection, create_item, methods=["POST"], name=f"create_{name}")
    router.add_api_route(member, show_item, methods=["GET"], name=f"show_{name}")
    if res.update is not None:
        router.add_api_route(member, update_item, methods=["PUT"], name=f"update_{name}")
    router.add_api_route(member, delete_item, methods=["DELETE"], name=f"delete_{name}")
    return router
