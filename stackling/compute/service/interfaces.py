"""os-interface: the ports of a server, and NICs hot-plugged into it or out of it.

Listing and showing read the network service's ports whose device is the
server, as Nova asks Neutron. Attach and detach are checked here (state, lock,
the network or port asked for, with Nova's answers) and then done by the
server's host, which binds or frees the port and plugs or unplugs the NIC, and
answers only when both are done, as Nova's compute does for attach.
"""

from __future__ import annotations

import ipaddress
import uuid as uuidlib
from typing import Any

from stackling.bus.base import BusTimeout, NoConsumer
from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute.faults import InvalidState
from stackling.compute.service import access, actions, checks, history, networking
from stackling.compute.service.core import ComputeService, host_topic
from stackling.network.service import instance_ports
from stackling.network.service.instance_ports import BootNetworkError, Wanted

# A hot-plug waits for the guest (detach) and for libvirt: longer than a console read.
HOST_CALL_TIMEOUT_S = 120.0
_TAG_MAX = 60
_FAULTS: dict[int, type[errors.StacklingError]] = {
    400: errors.BadRequest,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
}


def _network(svc: ComputeService) -> Any:
    if not svc.has_peer("network"):
        raise errors.NotImplementedYet("Network driver does not support this function.")
    return svc.peer("network")


def view(port: dict[str, Any], tag: str | None, mv: Version) -> dict[str, Any]:
    """Nova's interfaceAttachment for a port."""
    body = {
        "net_id": port["network_id"],
        "port_id": port["id"],
        "mac_addr": port["mac_address"],
        "port_state": port["status"],
        "fixed_ips": port["fixed_ips"],
    }
    if mv.at_least("2.70"):
        body["tag"] = tag
    return body


def _tags(instance: m.Instance) -> dict[str, str | None]:
    return {str(v.get("port_id")): v.get("tag") for v in instance.network_info or []}


async def _instance(svc: ComputeService, ctx: RequestContext, uuid: str) -> m.Instance:
    async with svc.db.session() as s:
        return await access.load_instance(s, ctx, uuid)


async def list_interfaces(
    svc: ComputeService, ctx: RequestContext, uuid: str, mv: Version
) -> list[dict[str, Any]]:
    """The server's ports as interface attachments."""
    access.require_reader(ctx)
    instance = await _instance(svc, ctx, uuid)
    found = await instance_ports.server_ports(_network(svc), instance.uuid)
    tags = _tags(instance)
    return [view(p, tags.get(p["id"]), mv) for p in found]


async def show_interface(
    svc: ComputeService, ctx: RequestContext, uuid: str, port_id: str, mv: Version
) -> dict[str, Any]:
    """One port of the server; 404 when the port is not the server's."""
    access.require_reader(ctx)
    instance = await _instance(svc, ctx, uuid)
    found = await instance_ports.server_ports(_network(svc), instance.uuid, port_id)
    if not found:
        raise errors.NotFound(f"Instance {uuid} does not have a port with id {port_id}")
    return view(found[0], _tags(instance).get(port_id), mv)


def _uuid(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise checks.invalid(field, value, f"{value!r} is not of type 'string'")
    try:
        uuidlib.UUID(value)
    except ValueError:
        raise checks.invalid(field, value, f"'{value}' is not a 'uuid'") from None
    return value


def _fixed_ip(value: Any) -> str | None:
    if not isinstance(value, list) or len(value) > 1:
        raise checks.invalid("fixed_ips", value, "It is a list of at most one address.")
    if not value:
        return None
    item = checks.obj(value[0], "fixed_ips")
    checks.only(item, ("ip_address",), "fixed_ips")
    checks.required(item, ("ip_address",), "fixed_ips")
    try:
        return str(ipaddress.ip_address(item["ip_address"]))
    except (TypeError, ValueError):
        raise checks.invalid("ip_address", item["ip_address"], "It is not an IP address.") from None


def parse_attach(body: Any, mv: Version) -> Wanted:
    """The interface asked for (Nova's schema and checks); nothing named picks a network."""
    if body is None:
        return Wanted()
    data = checks.obj(body, "body")
    checks.only(data, ("interfaceAttachment",), "body")
    if "interfaceAttachment" not in data:
        return Wanted()
    attachment = checks.obj(data["interfaceAttachment"], "interfaceAttachment")
    allowed = ["net_id", "port_id", "fixed_ips"] + (["tag"] if mv.at_least("2.49") else [])
    checks.only(attachment, allowed, "interfaceAttachment")
    net_id = _uuid(attachment["net_id"], "net_id") if "net_id" in attachment else None
    port_id = _uuid(attachment["port_id"], "port_id") if "port_id" in attachment else None
    fixed_ip = _fixed_ip(attachment["fixed_ips"]) if "fixed_ips" in attachment else None
    tag = None
    if "tag" in attachment:
        tag = checks.string(attachment["tag"], "tag", min_length=1, max_length=_TAG_MAX)
        if "/" in tag or "," in tag:
            raise checks.invalid("tag", tag, "A tag has no '/' or ','.")
    if net_id and port_id:
        raise errors.BadRequest("Must not input both network_id and port_id")
    if fixed_ip and not net_id:
        raise errors.BadRequest("Must input network_id when request IP address")
    return Wanted(network_id=net_id, port_id=port_id, fixed_ip=fixed_ip, tag=tag)


# os-interface answers as a boot does, but with these statuses for these refusals.
_ATTACH_STATUS: dict[str, type[errors.StacklingError]] = {
    "network_not_found": errors.NotFound,
    "port_not_found": errors.NotFound,
    "fixed_ip_in_use": errors.Conflict,
    "ambiguous": errors.BadRequest,
}


def _attach_refusal(exc: BootNetworkError) -> errors.StacklingError:
    """Nova's os-interface answer to what the network cannot give."""
    answer = networking.refusal(exc)
    status = _ATTACH_STATUS.get(exc.kind)
    return answer if status is None else status(answer.message)


async def _checked(svc: ComputeService, ctx: RequestContext, uuid: str, action: str) -> m.Instance:
    access.require_member(ctx)

    async def _check(s: Any) -> m.Instance:
        instance = await access.load_instance(s, ctx, uuid)
        actions.check_lock(ctx, instance)
        actions.check_state(instance, action)
        if instance.host is None:
            raise InvalidState(action, uuid, "vm_state", instance.vm_state)
        history.start_action(s, ctx, instance, action)
        return instance

    return await svc.tx(_check)


async def _ask_host(svc: ComputeService, instance: m.Instance, message: dict[str, Any]) -> Any:
    """A call to the server's host; its fault (status and message) raised here."""
    host = instance.host or ""
    try:
        answer = await svc.bus.call(
            host_topic(host), {"instance": instance.uuid, **message}, HOST_CALL_TIMEOUT_S
        )
    except (BusTimeout, NoConsumer):
        raise errors.Conflict(
            f"The compute host {host} of instance {instance.uuid} is not answering."
        ) from None
    if not isinstance(answer, dict):
        raise errors.StacklingError(f"The compute host {host} gave no answer.")
    if "fault" in answer:
        fault = answer["fault"]
        raise _FAULTS.get(int(fault.get("status", 500)), errors.StacklingError)(
            str(fault.get("message") or "")
        )
    return answer


async def attach(
    svc: ComputeService, ctx: RequestContext, uuid: str, body: Any, mv: Version
) -> dict[str, Any]:
    """Attach a port (given, or made on a network) to a server; the new interfaceAttachment."""
    want = parse_attach(body, mv)
    network = _network(svc)
    instance = await _checked(svc, ctx, uuid, "attach_interface")
    requested = None if not (want.network_id or want.port_id) else [want.as_dict()]
    try:
        checked = await instance_ports.check_boot(network, ctx, requested, [])
    except BootNetworkError as exc:
        raise _attach_refusal(exc) from None
    if not checked:
        raise errors.BadRequest(
            "No specific network was requested and none are available for project "
            f"'{instance.project_id}'."
        )
    chosen = Wanted(
        network_id=checked[0].network_id,
        port_id=checked[0].port_id,
        fixed_ip=want.fixed_ip,
        tag=want.tag,
    )
    answer = await _ask_host(svc, instance, {"call": "attach_interface", "want": chosen.as_dict()})
    port_id = str(answer["port_id"])
    found = await instance_ports.server_ports(network, uuid, port_id)
    if not found:
        raise errors.Conflict(f"Port {port_id} was detached from instance {uuid} meanwhile.")
    return view(found[0], chosen.tag, mv)


async def detach(svc: ComputeService, ctx: RequestContext, uuid: str, port_id: str) -> None:
    """Detach one of the server's ports: unplugged, then deleted or released."""
    network = _network(svc)
    instance = await _checked(svc, ctx, uuid, "detach_interface")
    if not await instance_ports.server_ports(network, uuid, port_id):
        raise errors.NotFound(f"Port {port_id} is not attached")
    await _ask_host(svc, instance, {"call": "detach_interface", "port_id": port_id})
