"""POST /servers/{id}/action: one action per body, named by its only key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.microversion import Version
from stackling.compute.api import views
from stackling.compute.api.deps import V21, Body, ComputeDep, Context, Links, LinksDep, Microversion
from stackling.compute.api.reply import reply
from stackling.compute.api.routes import consoles
from stackling.compute.service import actions, host_calls, servers
from stackling.compute.service.core import ComputeService

router = APIRouter(tags=["compute-server-actions"])

Handler = Callable[[ComputeService, RequestContext, str, Any, Version, Links], Awaitable[Response]]


def _image_made(image_id: str, mv: Version, links: Links) -> Response:
    """202 naming the new image: in the body from 2.45, in a Location header before."""
    if mv.at_least("2.45"):
        return reply(mv, {"image_id": image_id}, 202)
    location = links.root.rsplit("/compute", 1)[0] + f"/image/v2/images/{image_id}"
    return reply(mv, None, 202, {"Location": location})


async def _reboot(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    if not isinstance(arg, dict):
        raise errors.BadRequest("Invalid input for field/attribute reboot.")
    await actions.reboot(svc, ctx, uuid, arg.get("type"))
    return reply(mv, None, 202)


def _simple(action: str) -> Handler:
    async def handler(
        svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
    ) -> Response:
        await actions.begin(svc, ctx, uuid, action)
        return reply(mv, None, 202)

    return handler


async def _lock(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    reason = None
    if isinstance(arg, dict) and "locked_reason" in arg:
        if not mv.at_least("2.73"):
            raise errors.BadRequest("Invalid input for field/attribute lock.")
        reason = arg["locked_reason"]
        if not isinstance(reason, str) or len(reason) > 255:
            raise errors.BadRequest("Invalid input for field/attribute locked_reason.")
    await actions.set_lock(svc, ctx, uuid, True, reason)
    return reply(mv, None, 202)


async def _unlock(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    await actions.set_lock(svc, ctx, uuid, False)
    return reply(mv, None, 202)


async def _resize(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    if not isinstance(arg, dict) or "flavorRef" not in arg:
        raise errors.BadRequest("Invalid input for field/attribute resize. 'flavorRef' is required")
    await actions.resize(svc, ctx, uuid, arg["flavorRef"])
    return reply(mv, None, 202)


async def _confirm(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    await actions.begin(svc, ctx, uuid, "confirm_resize")
    return reply(mv, None, 204)


async def _create_image(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    return _image_made(await actions.create_image(svc, ctx, uuid, arg, mv), mv, links)


async def _rebuild(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    await actions.rebuild(svc, ctx, uuid, arg, mv)
    record = await servers.show(svc, ctx, uuid)
    server = views.updated(record, mv, ctx, links, rebuild=True)
    # Nova answers with the new admin password, generated when none was given.
    given = arg.get("adminPass") if isinstance(arg, dict) else None
    server["adminPass"] = given if isinstance(given, str) else servers.new_password()
    return reply(mv, {"server": server}, 202)


async def _rescue(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    password = arg.get("adminPass") if isinstance(arg, dict) else None
    password = password if isinstance(password, str) else servers.new_password()
    await actions.begin(svc, ctx, uuid, "rescue")
    return reply(mv, {"adminPass": password})


async def _console(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    length = arg.get("length") if isinstance(arg, dict) else None
    output = await host_calls.console_output(svc, ctx, uuid, length)
    return reply(mv, {"output": output})


async def _force_delete(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    await servers.delete(svc, ctx, uuid, force=True)
    return reply(mv, None, 202)


async def _reset_state(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    state = arg.get("state") if isinstance(arg, dict) else None
    await actions.reset_state(svc, ctx, uuid, state)
    return reply(mv, None, 202)


async def _change_password(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    raise errors.NotImplementedYet(
        "Unable to set the admin password: the guest has no agent that could apply it."
    )


async def _create_backup(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    return _image_made(await actions.create_backup(svc, ctx, uuid, arg), mv, links)


async def _migrate(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    await actions.refuse_move(svc, ctx, uuid, live=False)
    return reply(mv, None, 202)


async def _live_migrate(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    await actions.refuse_move(svc, ctx, uuid, live=True)
    return reply(mv, None, 202)


async def _restore(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    await actions.restore(svc, ctx, uuid)
    return reply(mv, None, 202)


async def _shelve(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    await actions.shelve(svc, ctx, uuid)
    return reply(mv, None, 202)


async def _shelve_offload(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    await actions.begin(svc, ctx, uuid, "shelve_offload")
    return reply(mv, None, 202)


async def _unshelve(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, mv: Version, links: Links
) -> Response:
    await actions.unshelve(svc, ctx, uuid, arg)
    return reply(mv, None, 202)


HANDLERS: dict[str, Handler] = {
    "reboot": _reboot,
    "os-stop": _simple("stop"),
    "os-start": _simple("start"),
    "pause": _simple("pause"),
    "unpause": _simple("unpause"),
    "suspend": _simple("suspend"),
    "resume": _simple("resume"),
    "unrescue": _simple("unrescue"),
    "revertResize": _simple("revert_resize"),
    "confirmResize": _confirm,
    "lock": _lock,
    "unlock": _unlock,
    "resize": _resize,
    "createImage": _create_image,
    "rebuild": _rebuild,
    "rescue": _rescue,
    "os-getConsoleOutput": _console,
    "os-getSerialConsole": consoles.legacy_action("serial"),
    "os-getVNCConsole": consoles.legacy_action("vnc"),
    "os-getSPICEConsole": consoles.legacy_action("spice"),
    "os-getRDPConsole": consoles.legacy_action("rdp"),
    "forceDelete": _force_delete,
    "os-resetState": _reset_state,
    "changePassword": _change_password,
    "createBackup": _create_backup,
    "migrate": _migrate,
    "os-migrateLive": _live_migrate,
    "restore": _restore,
    "shelve": _shelve,
    "shelveOffload": _shelve_offload,
    "unshelve": _unshelve,
}


@router.post(V21 + "/servers/{server_id}/action")
async def server_action(
    server_id: str, data: Body, svc: ComputeDep, ctx: Context, mv: Microversion, links: LinksDep
) -> Response:
    """Dispatch a server action by the name of its body's key."""
    if len(data) != 1:
        raise errors.BadRequest("There is either no action or more than one action in the body.")
    name, arg = next(iter(data.items()))
    handler = HANDLERS.get(name)
    if handler is None:
        raise errors.BadRequest(f"There is no such action: {name}")
    return await handler(svc, ctx, server_id, arg, mv, links)
