"""Questions only a server's host can answer: console output, diagnostics."""

from __future__ import annotations

from typing import Any

from stackling.bus.base import BusTimeout, NoConsumer
from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute import states
from stackling.compute.faults import InvalidState
from stackling.compute.service import access, checks
from stackling.compute.service.core import ComputeService, host_topic


async def _ask(svc: ComputeService, host: str, call: str, uuid: str, **args: Any) -> Any:
    try:
        return await svc.bus.call(host_topic(host), {"call": call, "instance": uuid, **args}, 30.0)
    except (BusTimeout, NoConsumer):
        raise errors.Conflict(
            f"The compute host {host} of instance {uuid} is not answering."
        ) from None


async def console_output(svc: ComputeService, ctx: RequestContext, uuid: str, length: Any) -> str:
    """os-getConsoleOutput: the serial console log, its last `length` lines when given."""
    access.require_member(ctx)
    if length is not None:
        length = checks.from_digits(length)
        if not isinstance(length, int) or isinstance(length, bool) or length < -1:
            raise errors.BadRequest(f"Invalid input for field/attribute length. Value: {length}.")
    async with svc.db.session() as s:
        instance = await access.load_instance(s, ctx, uuid)
    if instance.host is None or (
        instance.vm_state == states.BUILDING and instance.task_state == states.SCHEDULING
    ):
        raise InvalidState("get_console_output", uuid, "vm_state", instance.vm_state)
    text: str = await _ask(svc, instance.host, "console_output", uuid)
    if length is not None and length >= 0:
        # Nova's tail: the last `length` pieces of the log split on newlines.
        text = "\n".join(text.split("\n")[-length:]) if length else ""
    return text


async def diagnostics(svc: ComputeService, ctx: RequestContext, uuid: str) -> dict[str, Any]:
    """Server diagnostics (admin)."""
    access.require_admin(ctx, "os_compute_api:os-server-diagnostics")
    async with svc.db.session() as s:
        instance = await access.load_instance(s, ctx, uuid)
    if instance.host is None:
        raise InvalidState("get_diagnostics", uuid, "vm_state", instance.vm_state)
    result: dict[str, Any] = await _ask(svc, instance.host, "diagnostics", uuid)
    return result
