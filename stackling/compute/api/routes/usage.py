"""/os-simple-tenant-usage: usage reports per project."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stackling.compute.api import views_quotas as views
from stackling.compute.api.deps import V21, ComputeDep, Context, Microversion
from stackling.compute.api.microversion import Version
from stackling.compute.api.query_misc import Query, full_page, not_in_version
from stackling.compute.api.reply import reply
from stackling.compute.service import usage

router = APIRouter(tags=["compute-usage"])


def _period(query: Query, mv: Version) -> usage.Period:
    allowed = ["start", "end", "detailed"] + (["limit", "marker"] if mv.at_least("2.40") else [])
    query.only(mv, allowed)
    p = usage.period(query.get("start"), query.get("end"))
    if mv.at_least("2.40"):
        p.limit = query.integer("limit")
        p.marker = query.get("marker")
    return p


def _links(
    query: Query, mv: Version, p: usage.Period, count: int, found: list[usage.TenantUsage],
    path: str, max_limit: int,
) -> list[dict[str, str]]:  # fmt: skip
    if not mv.at_least("2.40") or not found or not full_page(count, p.limit, max_limit):
        return []
    return query.next_links(path, found[-1].servers[-1].instance.uuid)


@router.get(V21 + "/os-simple-tenant-usage")
async def list_usage(request: Request, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """Every project's usage over a period (admin); servers with detailed=1."""
    query = Query(request)
    p = _period(query, mv)
    found, count = await usage.list_usage(svc, ctx, p)
    detailed = query.get("detailed") == "1"
    body: dict[str, object] = {
        "tenant_usages": [views.tenant_usage(u, detailed=detailed) for u in found]
    }
    links = _links(query, mv, p, count, found, "os-simple-tenant-usage", svc.conf.api_max_limit)
    if links:
        body["tenant_usages_links"] = links
    return reply(mv, body)


@router.get(V21 + "/os-simple-tenant-usage/", include_in_schema=False)
async def show_unnamed_usage(ctx: Context, mv: Microversion) -> Response:
    """A trailing slash names no project: Nova's 404, where a redirect would reach the list."""
    raise not_in_version()


@router.get(V21 + "/os-simple-tenant-usage/{project_id}")
async def show_usage(
    project_id: str, request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One project's usage with its servers ({} when it had none)."""
    query = Query(request)
    p = _period(query, mv)
    found, count = await usage.show_usage(svc, ctx, project_id, p)
    body: dict[str, object] = {
        "tenant_usage": views.tenant_usage(found, detailed=True) if found else {}
    }
    path = f"os-simple-tenant-usage/{project_id}"
    links = _links(query, mv, p, count, [found] if found else [], path, svc.conf.api_max_limit)
    if links:
        body["tenant_usage_links"] = links
    return reply(mv, body)
