"""/servers: create, list, show, update, delete."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from stackling.compute.api import views
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Links, LinksDep, Microversion
from stackling.compute.api.reply import reply
from stackling.compute.service import listing, servers

router = APIRouter(tags=["compute-servers"])


@router.post(V21 + "/servers")
async def create_server(
    data: Body, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Boot one or more servers (202)."""
    created = await servers.create(svc, ctx, data, mv)
    if created.return_reservation_id:
        return reply(mv, {"reservation_id": created.reservation_id}, 202)
    first = created.records[0]
    uuid = first.instance.uuid
    body = {
        "id": uuid,
        "links": links.pair("servers", uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": n} for n in first.instance.security_groups],
        "adminPass": first.admin_password,
    }
    return reply(mv, {"server": body}, 202, {"Location": links.pair("servers", uuid)[0]["href"]})


def _page_links(request: Request, page: listing.Page, path: str) -> list[dict[str, str]]:
    if not page.more or not page.records:
        return []
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    params.append(("marker", page.records[-1].instance.uuid))
    query = urlencode(params)
    return [{"rel": "next", "href": f"{Links(request).v21}/{path}?{query}"}]


@router.get(V21 + "/servers")
async def list_servers(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Servers, briefly."""
    params = list(request.query_params.multi_items())
    page = await listing.list_servers(svc, ctx, params, mv)
    body: dict[str, object] = {"servers": [views.summary(r, links) for r in page.records]}
    next_links = _page_links(request, page, "servers")
    if next_links:
        body["servers_links"] = next_links
    return reply(mv, body)


@router.get(V21 + "/servers/detail")
async def list_servers_detail(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Servers with every field."""
    params = list(request.query_params.multi_items())
    page = await listing.list_servers(svc, ctx, params, mv)
    body: dict[str, object] = {"servers": [views.detail(r, mv, ctx, links) for r in page.records]}
    next_links = _page_links(request, page, "servers/detail")
    if next_links:
        body["servers_links"] = next_links
    return reply(mv, body)


@router.get(V21 + "/servers/{server_id}")
async def show_server(
    server_id: str, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """One server."""
    record = await servers.show(svc, ctx, server_id)
    return reply(mv, {"server": views.shown(record, mv, ctx, links)})


@router.put(V21 + "/servers/{server_id}")
async def update_server(
    server_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Rename or describe a server."""
    record = await servers.update(svc, ctx, server_id, data, mv)
    return reply(mv, {"server": views.updated(record, mv, ctx, links)})


@router.delete(V21 + "/servers/{server_id}")
async def delete_server(
    server_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Delete a server (204; it goes away in the background)."""
    await servers.delete(svc, ctx, server_id)
    return reply(mv, None, 204)
