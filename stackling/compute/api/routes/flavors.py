"""/flavors: list, show, create, describe, delete; access lists and extra specs."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stackling.compute.api import views_flavors as views
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, LinksDep, Microversion
from stackling.compute.api.query_misc import Query, full_page, not_in_version
from stackling.compute.api.reply import reply
from stackling.compute.service import flavor_extras, flavors

router = APIRouter(tags=["compute-flavors"])

_LIST_PARAMS = ("sort_key", "sort_dir", "limit", "marker", "minDisk", "minRam", "is_public")


async def _list(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion, *, detailed: bool
) -> tuple[list[flavors.FlavorRecord], list[dict[str, str]]]:
    query = Query(request)
    query.only(mv, _LIST_PARAMS)
    limit = query.integer("limit")
    params = flavors.FlavorQuery(
        is_public=query.get("is_public"),
        min_ram=query.get("minRam"),
        min_disk=query.get("minDisk"),
        sort_key=query.get("sort_key"),
        sort_dir=query.get("sort_dir"),
        limit=limit,
        marker=query.get("marker"),
    )
    found = await flavors.list_flavors(svc, ctx, params)
    links: list[dict[str, str]] = []
    if full_page(len(found), limit, svc.conf.api_max_limit):
        path = "flavors/detail" if detailed else "flavors"
        links = query.next_links(path, found[-1].flavor.flavorid)
    return found, links


@router.get(V21 + "/flavors")
async def list_flavors(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Flavors the caller may use, briefly."""
    found, next_links = await _list(request, svc, ctx, mv, detailed=False)
    body: dict[str, object] = {"flavors": [views.summary(r, mv, links) for r in found]}
    if next_links:
        body["flavors_links"] = next_links
    return reply(mv, body)


@router.get(V21 + "/flavors/detail")
async def list_flavors_detail(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Flavors the caller may use, with every field."""
    found, next_links = await _list(request, svc, ctx, mv, detailed=True)
    body: dict[str, object] = {"flavors": [views.detail(r, mv, links) for r in found]}
    if next_links:
        body["flavors_links"] = next_links
    return reply(mv, body)


@router.post(V21 + "/flavors")
async def create_flavor(
    data: Body, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Create a flavor (admin)."""
    record = await flavors.create(svc, ctx, data, mv)
    return reply(mv, {"flavor": views.detail(record, mv, links)})


@router.get(V21 + "/flavors/{flavor_id}")
async def show_flavor(
    flavor_id: str, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """One flavor."""
    record = await flavors.show(svc, ctx, flavor_id)
    return reply(mv, {"flavor": views.detail(record, mv, links)})


@router.put(V21 + "/flavors/{flavor_id}")
async def update_flavor(
    flavor_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Change a flavor's description (2.55, admin)."""
    if not mv.at_least("2.55"):
        raise not_in_version()
    record = await flavors.update(svc, ctx, flavor_id, data)
    return reply(mv, {"flavor": views.detail(record, mv, links)})


@router.delete(V21 + "/flavors/{flavor_id}")
async def delete_flavor(
    flavor_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Delete a flavor (admin, 202)."""
    await flavors.delete_flavor(svc, ctx, flavor_id)
    return reply(mv, None, 202)


@router.get(V21 + "/flavors/{flavor_id}/os-flavor-access")
async def list_flavor_access(
    flavor_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """The projects a private flavor is shared with (admin)."""
    return reply(mv, {"flavor_access": await flavor_extras.list_access(svc, ctx, flavor_id)})


@router.post(V21 + "/flavors/{flavor_id}/action")
async def flavor_action(
    flavor_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """addTenantAccess / removeTenantAccess (admin)."""
    shared = await flavor_extras.flavor_action(svc, ctx, flavor_id, data)
    return reply(mv, {"flavor_access": shared})


@router.get(V21 + "/flavors/{flavor_id}/os-extra_specs")
async def list_extra_specs(
    flavor_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """A flavor's extra specs."""
    return reply(mv, {"extra_specs": await flavor_extras.list_specs(svc, ctx, flavor_id)})


@router.post(V21 + "/flavors/{flavor_id}/os-extra_specs")
async def create_extra_specs(
    flavor_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Add or replace extra specs (admin)."""
    specs = await flavor_extras.create_specs(svc, ctx, flavor_id, data)
    return reply(mv, {"extra_specs": specs})


@router.get(V21 + "/flavors/{flavor_id}/os-extra_specs/{key}")
async def show_extra_spec(
    flavor_id: str, key: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One extra spec: `{key: value}`."""
    return reply(mv, await flavor_extras.show_spec(svc, ctx, flavor_id, key))


@router.put(V21 + "/flavors/{flavor_id}/os-extra_specs/{key}")
async def update_extra_spec(
    flavor_id: str, key: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Set one extra spec (admin)."""
    return reply(mv, await flavor_extras.update_spec(svc, ctx, flavor_id, key, data))


@router.delete(V21 + "/flavors/{flavor_id}/os-extra_specs/{key}")
async def delete_extra_spec(
    flavor_id: str, key: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Remove one extra spec (admin)."""
    await flavor_extras.delete_spec(svc, ctx, flavor_id, key)
    return reply(mv, None, 200)
