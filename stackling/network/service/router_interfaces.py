"""Router interfaces: add_router_interface and remove_router_interface, by subnet or by port."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.common.context import RequestContext
from stackling.network import faults, policy
from stackling.network import models as m
from stackling.network.service import addressing, ipam, l3_ports, revisions, scope, tags
from stackling.network.service.core import NetworkService
from stackling.network.service.routers import check_no_overlap

_PORT_OPTIONS = (selectinload(m.Port.fixed_ips),)


def _interface_info(body: Any, *, removal: bool) -> tuple[str | None, str | None]:
    """(subnet_id, port_id) of an interface request body, checked as Neutron does."""
    if not isinstance(body, dict) or not ("subnet_id" in body or "port_id" in body):
        raise faults.BadRequest("router", "Either subnet_id or port_id must be specified")
    for key in ("port_id", "subnet_id"):
        if key in body and not _is_uuid(body[key]):
            raise faults.BadRequest("router", f"'{body[key]}' is not a valid UUID")
    if not removal and "subnet_id" in body and "port_id" in body:
        raise faults.BadRequest("router", "Cannot specify both subnet-id and port-id")
    return body.get("subnet_id"), body.get("port_id")


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _answer(
    router: m.Router, port: m.Port, subnet_ids: list[str], subnet_id: str
) -> dict[str, Any]:
    """The body Neutron answers an interface change with (the port's owner as tenant)."""
    return {
        "id": router.id,
        "tenant_id": port.project_id,
        "project_id": port.project_id,
        "port_id": port.id,
        "subnet_id": subnet_id,
        "subnet_ids": subnet_ids,
        "network_id": port.network_id,
    }


async def _load_router(
    s: AsyncSession, ctx: RequestContext, router_id: str, action: str
) -> m.Router:
    router = await scope.load(s, ctx, m.Router, router_id, faults.RouterNotFound, for_update=True)
    policy.enforce(ctx, action, {"project_id": router.project_id})
    return router


async def _by_subnet(
    s: AsyncSession, svc: NetworkService, ctx: RequestContext, router: m.Router, subnet_id: str
) -> tuple[m.Port, list[str]]:
    subnet = await scope.load(s, ctx, m.Subnet, subnet_id, faults.SubnetNotFound)
    if not subnet.gateway_ip:
        raise faults.BadRequest("router", "Subnet for router interface must have a gateway IP")
    # Another project's subnet, even on a shared network, is not a member's to route.
    if not ctx.is_admin and subnet.project_id != ctx.project_id:
        raise faults.BadRequest(
            "router",
            f"Cannot add interface to router because subnet {subnet.id} is not owned by "
            "project making the request",
        )
    await check_no_overlap(s, router, [subnet])
    # A share lock, as for any port: the network may not go while the port is made.
    net = await s.get_one(m.Network, subnet.network_id, with_for_update={"read": True})
    port = await l3_ports.create(
        s, svc, net, project_id=router.project_id, owner=l3_ports.ROUTER_INTERFACE,
        device_id=router.id, subnets=await ipam.subnets_of(s, net.id),
        asked=[ipam.Want(subnet.id, subnet.gateway_ip)],
    )  # fmt: skip
    return port, [subnet.id]


async def _by_port(
    s: AsyncSession, ctx: RequestContext, router: m.Router, port_id: str
) -> tuple[m.Port, list[str]]:
    port = await scope.load(
        s, ctx, m.Port, port_id, faults.PortNotFound, options=_PORT_OPTIONS, for_update=True
    )
    if port.device_id:
        raise faults.PortInUse(port.network_id, port.id, port.device_id)
    if not port.fixed_ips:
        raise faults.BadRequest("router", "Router port must have at least one fixed IP")
    subnets = list(
        await s.scalars(
            select(m.Subnet).where(m.Subnet.id.in_({f.subnet_id for f in port.fixed_ips}))
        )
    )
    if sum(1 for sub in subnets if sub.ip_version == 4) > 1:
        raise faults.BadRequest("router", "Cannot have multiple IPv4 subnets on router port")
    await check_no_overlap(s, router, subnets)
    port.device_id = router.id
    port.device_owner = l3_ports.ROUTER_INTERFACE
    revisions.bump(port)
    await s.flush()
    return port, [f.subnet_id for f in port.fixed_ips]


async def add_interface(
    svc: NetworkService, ctx: RequestContext, router_id: str, body: Any
) -> dict[str, Any]:
    """Attach the router to a subnet (a new port on its gateway address) or to a free port."""
    subnet_id, port_id = _interface_info(body, removal=False)

    async def _add(s: AsyncSession) -> dict[str, Any]:
        router = await _load_router(s, ctx, router_id, "add_router_interface")
        if port_id:
            port, subnet_ids = await _by_port(s, ctx, router, port_id)
        else:
            assert subnet_id is not None
            port, subnet_ids = await _by_subnet(s, svc, ctx, router, subnet_id)
        link = m.RouterPort(
            router_id=router.id, port_id=port.id, port_type=l3_ports.ROUTER_INTERFACE
        )
        s.add(link)
        revisions.bump(router)
        await s.flush()
        return _answer(router, port, subnet_ids, subnet_ids[-1])

    answer = await svc.tx(_add)
    await svc.notify_data_plane("port", answer["port_id"], "created" if subnet_id else "updated")
    await svc.notify_data_plane("router", router_id, "updated")
    return answer


async def _interfaces(s: AsyncSession, router_id: str) -> list[m.Port]:
    rows = await s.scalars(
        select(m.Port)
        .join(m.RouterPort, m.RouterPort.port_id == m.Port.id)
        .where(
            m.RouterPort.router_id == router_id,
            m.RouterPort.port_type == l3_ports.ROUTER_INTERFACE,
        )
        .options(*_PORT_OPTIONS)
    )
    return list(rows)


async def _check_not_in_use(s: AsyncSession, router: m.Router, subnet_ids: list[str]) -> None:
    """409 when extra routes or floating IPs still go through the interface's subnets."""
    hops = await s.scalars(
        select(m.RouterRoute.nexthop).where(m.RouterRoute.router_id == router.id)
    )
    routes = list(hops)
    mapped = await s.scalars(
        select(m.FloatingIP.fixed_ip_address).where(m.FloatingIP.router_id == router.id)
    )
    fixed = list(mapped)
    for subnet in await s.scalars(select(m.Subnet).where(m.Subnet.id.in_(subnet_ids))):
        cidr = addressing.network(subnet.cidr)
        if any(addressing.address(hop) in cidr for hop in routes):
            raise faults.RouterInterfaceInUseByRoute(router.id, subnet.id)
        if any(ip is not None and addressing.address(ip) in cidr for ip in fixed):
            raise faults.RouterInterfaceInUseByFloatingIP(router.id, subnet.id)


async def remove_interface(
    svc: NetworkService, ctx: RequestContext, router_id: str, body: Any
) -> dict[str, Any]:
    """Detach the router from a subnet or port; the interface's port is deleted."""
    subnet_id, port_id = _interface_info(body, removal=True)

    async def _remove(s: AsyncSession) -> dict[str, Any]:
        router = await _load_router(s, ctx, router_id, "remove_router_interface")
        ports = await _interfaces(s, router.id)
        if port_id:
            port = next((p for p in ports if p.id == port_id), None)
            if port is None:
                raise faults.RouterInterfaceNotFound(router.id, port_id)
            subnet_ids = [f.subnet_id for f in port.fixed_ips]
            if subnet_id and subnet_id not in subnet_ids:
                raise faults.BadRequest(
                    "router",
                    f"Subnet on port {port_id} does not match the requested subnet {subnet_id}",
                )
        else:
            assert subnet_id is not None
            await scope.load(s, ctx, m.Subnet, subnet_id, faults.SubnetNotFound)
            port = next(
                (p for p in ports if any(f.subnet_id == subnet_id for f in p.fixed_ips)), None
            )
            if port is None:
                raise faults.RouterInterfaceNotFoundForSubnet(router.id, subnet_id)
            subnet_ids = [f.subnet_id for f in port.fixed_ips]
        await _check_not_in_use(s, router, subnet_ids)
        answer = _answer(router, port, subnet_ids, subnet_ids[0])
        await tags.forget(s, "ports", [port.id])
        await s.execute(delete(m.Port).where(m.Port.id == port.id))
        revisions.bump(router)
        await s.flush()
        return answer

    answer = await svc.tx(_remove)
    await svc.notify_data_plane("port", answer["port_id"], "deleted")
    await svc.notify_data_plane("router", router_id, "updated")
    return answer
