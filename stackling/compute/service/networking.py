"""A server's networks, as Nova asks Neutron for them: checked at the API, bound on the host.

The API resolves what a boot asks for (a network list, `auto`, `none`, or
nothing before 2.37) into concrete networks and ports, refusing with Nova's
messages what cannot be had; the host binds the ports when it builds the
server and keeps their description in `network_info` (Nova's info cache),
which the network service asks to refresh when an address or floating IP
changes. Without a network service in the process none of this runs and
servers have no NICs.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute import models as m
from stackling.compute.drivers.base import NicSpec
from stackling.compute.service.core import ComputeService
from stackling.network.service import instance_ports
from stackling.network.service.core import COMPUTE_EVENTS_TOPIC
from stackling.network.service.instance_ports import BootNetworkError, Wanted

LOG = logging.getLogger(__name__)

# The bus topic the network service tells compute of changes on (Nova's external events).
EVENTS_TOPIC = COMPUTE_EVENTS_TOPIC


def refusal(exc: BootNetworkError) -> errors.StacklingError:
    """Nova's answer to a network request Neutron cannot satisfy."""
    kind, ident = exc.kind, exc.ident
    if kind == "network_not_found":
        return errors.BadRequest(f"Network {ident} could not be found.")
    if kind == "port_not_found":
        return errors.BadRequest(f"Port {ident} could not be found.")
    if kind == "port_in_use":
        return errors.Conflict(f"Port {ident} is still in use.")
    if kind == "ambiguous":
        return errors.Conflict(
            "Multiple possible networks found, use a Network ID to be more specific."
        )
    if kind == "network_requires_subnet":
        return errors.BadRequest(
            f"Network {ident} requires a subnet in order to boot instances on."
        )
    if kind == "fixed_ip_invalid":
        return errors.BadRequest(
            f"Fixed IP {ident} is not a valid ip address for network {exc.detail}."
        )
    if kind == "fixed_ip_in_use":
        return errors.BadRequest(f"Fixed IP address {ident} is already in use on instance.")
    if kind == "security_group_not_found":
        return errors.BadRequest(f"Security group {ident} not found for project {exc.detail}.")
    if kind == "auto_allocate_failed":
        return errors.BadRequest(f"Unable to automatically allocate a network for project {ident}")
    if kind == "security_group_ambiguous":
        return errors.Conflict(
            f"Multiple security groups found matching '{ident}'. Use an ID to be more specific."
        )
    return errors.BadRequest(str(exc))


async def check_boot(
    svc: ComputeService, ctx: RequestContext, requested: Any, security_groups: list[str]
) -> Any:
    """The server's `requested_networks`: concrete NICs, or as asked when nothing networks."""
    if not svc.has_peer("network"):
        if isinstance(requested, list) and requested:
            first = requested[0]
            if first.get("port"):
                raise errors.BadRequest(f"Port {first['port']} could not be found.")
            raise errors.BadRequest(f"Network {first.get('uuid')} could not be found.")
        return requested
    try:
        wanted = await instance_ports.check_boot(
            svc.peer("network"), ctx, requested, security_groups or ["default"]
        )
    except BootNetworkError as exc:
        raise refusal(exc) from None
    return [w.as_dict() for w in wanted]


def _wanted(instance: m.Instance) -> list[Wanted]:
    requested = instance.requested_networks
    if not isinstance(requested, list):
        return []
    return [Wanted.from_dict(r) for r in requested if isinstance(r, dict)]


def _preserved(instance: m.Instance) -> set[str]:
    """Ports the server was given (kept on delete), from the request and the info cache."""
    given = {w.port_id for w in _wanted(instance) if w.port_id}
    given |= {
        str(v["port_id"])
        for v in instance.network_info or []
        if v.get("preserve_on_delete") and v.get("port_id")
    }
    return given


async def _store(
    svc: ComputeService,
    uuid: str,
    vifs: list[dict[str, Any]],
    tags: dict[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """Write network_info; what only compute knows (tags, kept ports) survives from the row.

    Refreshes after network events race with attaches: reading the row in the
    writing transaction keeps one writer's flags from being lost to the other's.
    """

    async def _set(s: Any) -> list[dict[str, Any]]:
        current = await s.scalar(
            select(m.Instance.network_info).where(
                m.Instance.uuid == uuid, m.Instance.deleted.is_(False)
            )
        )
        merged = _merged(vifs, current, tags)
        await s.execute(
            update(m.Instance)
            .where(m.Instance.uuid == uuid, m.Instance.deleted.is_(False))
            .values(network_info=merged)
        )
        return merged

    result: list[dict[str, Any]] = await svc.tx(_set)
    return result


def _merged(
    vifs: list[dict[str, Any]],
    before: list[dict[str, Any]] | None,
    tags: dict[str, str | None] | None,
) -> list[dict[str, Any]]:
    known = {str(v.get("port_id")): v for v in before or [] if isinstance(v, dict)}
    merged = []
    for vif in vifs:
        vif = dict(vif)
        old = known.get(vif["port_id"], {})
        vif["preserve_on_delete"] = bool(
            vif.get("preserve_on_delete") or old.get("preserve_on_delete")
        )
        tag = (tags or {}).get(vif["port_id"]) or old.get("tag")
        if tag is not None:
            vif["tag"] = tag
        merged.append(vif)
    return merged


async def allocate(svc: ComputeService, instance: m.Instance, host: str) -> list[dict[str, Any]]:
    """Bind the server's ports on `host` (made if they are not yet); its network_info."""
    wanted = _wanted(instance)
    if not svc.has_peer("network") or not wanted:
        return list(instance.network_info or [])
    try:
        vifs = await instance_ports.bind_for_server(
            svc.peer("network"),
            server_id=instance.uuid,
            project_id=instance.project_id,
            host=host,
            zone=instance.availability_zone or "nova",
            wanted=wanted,
            security_groups=list(instance.security_groups or []),
        )
    except BootNetworkError as exc:
        raise refusal(exc) from None
    info = [v.as_dict() for v in vifs]
    # VIFs come in the order asked for (one missing would only shift tags, never ports).
    tags = {v.port_id: w.tag for w, v in zip(wanted, vifs, strict=False)}
    info = await _store(svc, instance.uuid, info, tags)
    instance.network_info = info
    return info


async def attach(
    svc: ComputeService, instance: m.Instance, host: str, want: Wanted
) -> dict[str, Any]:
    """One more port for the server, bound on `host`; its new VIF (network_info updated)."""
    network = svc.peer("network")
    port_id = await instance_ports.attach_for_server(
        network,
        server_id=instance.uuid,
        project_id=instance.project_id,
        host=host,
        zone=instance.availability_zone or "nova",
        want=want,
    )
    preserved = _preserved(instance) | ({port_id} if want.port_id else set())
    vifs = await instance_ports.server_vifs(network, instance.uuid, preserved)
    info = [v.as_dict() for v in vifs]
    info = await _store(svc, instance.uuid, info, {port_id: want.tag})
    instance.network_info = info
    return next(v for v in info if v["port_id"] == port_id)


async def detach(svc: ComputeService, instance: m.Instance, port_id: str) -> None:
    """The port leaves the server: deleted if it was made for it, else kept; network_info too."""
    await instance_ports.detach_for_server(
        svc.peer("network"),
        server_id=instance.uuid,
        project_id=instance.project_id,
        port_id=port_id,
        preserve=port_id in _preserved(instance),
    )
    await refresh(svc, instance.uuid)


async def plugged(svc: ComputeService, instance: m.Instance) -> None:
    """The guest's taps exist now: the network agents look at its ports at once."""
    if not svc.has_peer("network"):
        return
    network = svc.peer("network")
    for vif in instance.network_info or []:
        await network.notify_data_plane("port", vif["port_id"], "plugged")


async def unbind(svc: ComputeService, instance: m.Instance) -> None:
    """The server leaves its host (shelve offload): its ports stay but are bound nowhere."""
    if not svc.has_peer("network") or not instance.network_info:
        return
    ports = [str(v["port_id"]) for v in instance.network_info]
    await instance_ports.rebind(svc.peer("network"), ports, instance.project_id, "")


async def release(svc: ComputeService, instance: m.Instance) -> None:
    """Delete the ports made for a server going away; release those it was given."""
    if not svc.has_peer("network"):
        return
    await instance_ports.release_for_server(
        svc.peer("network"),
        server_id=instance.uuid,
        project_id=instance.project_id,
        preserved=_preserved(instance),
    )


async def refresh(svc: ComputeService, uuid: str) -> None:
    """Read the server's ports again into network_info (after a network-changed event)."""
    if not svc.has_peer("network"):
        return
    async with svc.db.session() as s:
        instance = await s.scalar(
            select(m.Instance).where(m.Instance.uuid == uuid, m.Instance.deleted.is_(False))
        )
    if instance is None:
        return
    vifs = await instance_ports.server_vifs(svc.peer("network"), uuid, _preserved(instance))
    await _store(svc, uuid, [v.as_dict() for v in vifs])


async def on_event(svc: ComputeService, message: dict[str, Any]) -> None:
    """A network event from the bus: refresh the server it names."""
    server = message.get("server")
    if isinstance(server, str) and server:
        await refresh(svc, server)


def nics(network_info: list[dict[str, Any]] | None) -> tuple[NicSpec, ...]:
    """The driver's NICs from the info cache."""
    return tuple(
        NicSpec(
            port_id=str(v["port_id"]),
            mac=str(v["mac"]),
            bridge=str(v["bridge"]),
            tap=str(v["devname"]),
            mtu=int(v.get("mtu") or 1500),
        )
        for v in network_info or []
        if v.get("bridge") and v.get("devname") and v.get("mac")
    )
