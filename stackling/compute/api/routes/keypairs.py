"""/os-keypairs: a user's key pairs."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stackling.compute.api import views_misc as views
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Microversion
from stackling.compute.api.microversion import Version
from stackling.compute.api.query_misc import Query, full_page
from stackling.compute.api.reply import reply
from stackling.compute.service import keypairs

router = APIRouter(tags=["compute-keypairs"])


def _user_id(request: Request, mv: Version, allowed: tuple[str, ...]) -> str | None:
    """The `user_id` an admin may name from 2.10 (ignored before, as Nova does)."""
    query = Query(request)
    query.only(mv, allowed)
    return query.get("user_id") if mv.at_least("2.10") else None


@router.get(V21 + "/os-keypairs")
async def list_keypairs(
    request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """The caller's key pairs (an admin may name another user from 2.10; pages from 2.35)."""
    query = Query(request)
    query.only(mv, ("user_id", "limit", "marker"))
    user_id = query.get("user_id") if mv.at_least("2.10") else None
    limit = query.integer("limit") if mv.at_least("2.35") else None
    marker = query.get("marker") if mv.at_least("2.35") else None
    found = await keypairs.list_keypairs(svc, ctx, user_id=user_id, limit=limit, marker=marker)
    body: dict[str, object] = {"keypairs": [views.keypair_item(kp, mv) for kp in found]}
    if mv.at_least("2.35") and full_page(len(found), limit, svc.conf.api_max_limit):
        body["keypairs_links"] = query.next_links("os-keypairs", found[-1].name)
    return reply(mv, body)


@router.post(V21 + "/os-keypairs")
async def create_keypair(data: Body, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """Import a public key, or generate a key pair before 2.92 (201 from 2.2)."""
    created = await keypairs.create(svc, ctx, data, mv)
    status = 201 if mv.at_least("2.2") else 200
    return reply(mv, {"keypair": views.keypair_created(created, mv)}, status)


@router.get(V21 + "/os-keypairs/{name}")
async def show_keypair(
    name: str, request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One key pair."""
    user_id = _user_id(request, mv, ("user_id",))
    keypair = await keypairs.show(svc, ctx, name, user_id)
    return reply(mv, {"keypair": views.keypair_detail(keypair, mv)})


@router.delete(V21 + "/os-keypairs/{name}")
async def delete_keypair(
    name: str, request: Request, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Delete a key pair (202; 204 from 2.2)."""
    user_id = _user_id(request, mv, ("user_id",))
    await keypairs.delete(svc, ctx, name, user_id)
    return reply(mv, None, 204 if mv.at_least("2.2") else 202)
