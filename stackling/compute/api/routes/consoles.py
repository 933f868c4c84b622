"""Remote consoles: access URLs (remote-consoles, the legacy actions) and token lookup."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.microversion import Version
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Links, LinksDep, Microversion
from stackling.compute.api.reply import reply
from stackling.compute.service import consoles
from stackling.compute.service.core import ComputeService

router = APIRouter(tags=["compute-consoles"])


def _host_base(links: Links) -> str:
    """The scheme and authority the client used, where the console proxy also listens."""
    return links.root.rsplit("/compute", 1)[0]


@router.post(V21 + "/servers/{server_id}/remote-consoles")
async def create_remote_console(
    server_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """A console URL for the server (2.6+); this cloud serves serial consoles."""
    if not mv.at_least("2.6"):
        raise errors.NotFound("The resource could not be found.")
    body = await consoles.remote_console(svc, ctx, server_id, data, mv, _host_base(links))
    return reply(mv, body)


@router.get(V21 + "/os-console-auth-tokens/{token}")
async def show_console_token(
    token: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """Where a console token leads (admin)."""
    return reply(mv, await consoles.show_token(svc, ctx, token))


def legacy_action(protocol: str) -> Any:
    """The handler of one os-getSerialConsole, os-getVNCConsole... server actions (2.1 to 2.5)."""

    async def handler(
        svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
    ) -> Response:
        if mv.at_least("2.6"):
            raise errors.NotFound("The resource could not be found.")
        body = await consoles.legacy_console(svc, ctx, uuid, arg, protocol, _host_base(links))
        return reply(mv, body)

    return handler
