"""Ports: a MAC and addresses on a network, groups, address pairs, DHCP options, binding."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.network import faults, policy
from stackling.network import models as m
from stackling.network.service import (
    floating_ips,
    ipam,
    l3_ports,
    listing,
    macs,
    port_extras,
    quota,
    revisions,
    scope,
    security_groups,
    tags,
)
from stackling.network.service.core import COMPUTE_OWNER_PREFIX, NetworkService
from stackling.network.service.subnets import check_network_open_to, network_target

OPTIONS = (
    selectinload(m.Port.fixed_ips),
    selectinload(m.Port.security_group_bindings),
    selectinload(m.Port.allowed_address_pairs),
    selectinload(m.Port.extra_dhcp_opts),
    selectinload(m.Port.tags),
)
_MAC_ATTEMPTS = 16

_UPDATABLE = {
    "name": "name",
    "description": "description",
    "admin_state_up": "admin_state_up",
    "device_id": "device_id",
    "device_owner": "device_owner",
    "port_security_enabled": "port_security_enabled",
    "binding:host_id": "binding_host_id",
    "binding:vnic_type": "binding_vnic_type",
    "binding:profile": "binding_profile",
}


def _fixed_ips_clause(wanted: list[Any]) -> ColumnElement[bool]:
    """Ports holding an address matching every key given (ip_address, subnet_id)."""
    by_key: dict[str, list[str]] = {}
    for key, value in wanted:
        by_key.setdefault(key, []).append(value)
    conditions = [m.IPAllocation.port_id == m.Port.id]
    if "ip_address" in by_key:
        conditions.append(m.IPAllocation.ip_address.in_(by_key["ip_address"]))
    if "subnet_id" in by_key:
        conditions.append(m.IPAllocation.subnet_id.in_(by_key["subnet_id"]))
    return exists().where(and_(*conditions))


LISTING = listing.Listing(
    model=m.Port,
    columns={
        "id": m.Port.id,
        "name": m.Port.name,
        "network_id": m.Port.network_id,
        **listing.owned_columns(m.Port),
        "mac_address": m.Port.mac_address,
        "admin_state_up": m.Port.admin_state_up,
        "status": m.Port.status,
        "device_id": m.Port.device_id,
        "device_owner": m.Port.device_owner,
        "port_security_enabled": m.Port.port_security_enabled,
        "binding:host_id": m.Port.binding_host_id,
        "binding:vnic_type": m.Port.binding_vnic_type,
    },
    clauses={"fixed_ips": _fixed_ips_clause},
    options=OPTIONS,
    not_found=faults.PortNotFound,
)


async def _reload(s: AsyncSession, port_id: str) -> m.Port:
    query = select(m.Port).where(m.Port.id == port_id).options(*OPTIONS)
    return (await s.execute(query.execution_options(populate_existing=True))).scalar_one()


async def list_ports(
    svc: NetworkService, ctx: RequestContext, query: listing.ListQuery
) -> list[m.Port]:
    """The ports the caller may see that match `query`."""
    async with svc.db.session() as s:
        return await listing.fetch(s, ctx, LISTING, query)


async def show_port(svc: NetworkService, ctx: RequestContext, port_id: str) -> m.Port:
    """One port the caller may see."""
    async with svc.db.session() as s:
        return await scope.load(s, ctx, m.Port, port_id, faults.PortNotFound, options=OPTIONS)


def _owner_rules(
    ctx: RequestContext, action: str, body: dict[str, Any], target: dict[str, Any]
) -> None:
    """The attribute rules that depend on who owns the network (403 as Neutron)."""
    given = [
        name
        for name in ("mac_address", "port_security_enabled", "allowed_address_pairs")
        if name in body
    ]
    if str(body.get("device_owner", "")).startswith("network:"):
        given.append("device_owner")
    for entry in body.get("fixed_ips") or []:
        given.append("fixed_ips:ip_address" if "ip_address" in entry else "fixed_ips:subnet_id")
    policy.enforce_attributes(ctx, action, list(dict.fromkeys(given)), target)


async def _insert_port(s: AsyncSession, svc: NetworkService, port: m.Port, mac: str | None) -> None:
    """Insert the port with the asked MAC (409 when taken) or a fresh random one."""
    for _ in range(_MAC_ATTEMPTS):
        port.mac_address = mac or macs.random_mac(svc.conf.base_mac)
        try:
            async with s.begin_nested():
                s.add(port)
                await s.flush()
            return
        except IntegrityError:
            if mac is not None:
                raise faults.MacAddressInUse(port.network_id, mac) from None
    raise faults.NetworkMacAddressGenerationFailure(port.network_id)


async def create_port(svc: NetworkService, ctx: RequestContext, body: dict[str, Any]) -> m.Port:
    """A new port with its addresses (lowest free unless asked) and security groups."""
    project_id = body["project_id"]

    async def _create(s: AsyncSession) -> m.Port:
        # A share lock: ports may be created side by side, but not while the network
        # is deleted or its subnets change.
        net = await scope.load(
            s, ctx, m.Network, body["network_id"], faults.NetworkNotFound, for_share=True
        )
        check_network_open_to(ctx, net, project_id)
        target = network_target(net, project_id)
        policy.enforce(ctx, "create_port", target)
        _owner_rules(ctx, "create_port", body, target)
        secure = body.get("port_security_enabled", net.port_security_enabled)
        owner = body.get("device_owner", "")
        groups = body.get("security_groups")
        port_extras.check_security(secure, groups, body.get("allowed_address_pairs"))
        await quota.reserve(s, svc.conf, project_id, {"port": 1})
        port = m.Port(
            id=new_uuid(),
            project_id=project_id,
            network_id=net.id,
            name=body.get("name", ""),
            description=body.get("description", ""),
            admin_state_up=body.get("admin_state_up", True),
            device_id=body.get("device_id", ""),
            device_owner=owner,
            port_security_enabled=secure,
            binding_host_id=body.get("binding:host_id", ""),
            binding_vnic_type=body.get("binding:vnic_type", "normal"),
            binding_profile=body.get("binding:profile") or {},
        )
        port_extras.bind(port)
        await _insert_port(s, svc, port, body.get("mac_address"))
        asked = ipam.wants(body["fixed_ips"]) if "fixed_ips" in body else None
        await ipam.allocate(s, port, await ipam.subnets_of(s, net.id), asked)
        if secure and not owner.startswith("network:"):
            chosen = await security_groups.groups_for_port(s, ctx, project_id, groups)
        else:
            chosen = await security_groups.groups_for_port(s, ctx, project_id, groups or [])
        s.add_all(m.PortSecurityGroup(port_id=port.id, security_group_id=g) for g in chosen)
        port_extras.store_pairs(s, svc.conf, port, body.get("allowed_address_pairs") or [])
        port_extras.store_dhcp_opts(s, port, body.get("extra_dhcp_opts") or [])
        await s.flush()
        return await _reload(s, port.id)

    port = await svc.tx(_create)
    await svc.notify_data_plane("port", port.id, "created")
    return port


async def _change_fixed_ips(s: AsyncSession, port: m.Port, fixed_ips: list[dict[str, Any]]) -> bool:
    """Keep the addresses still asked for, release the others, allocate the new ones."""
    wanted = ipam.wants(fixed_ips)
    current = {(a.subnet_id, a.ip_address) for a in port.fixed_ips}
    keep: set[tuple[str, str]] = set()
    new: list[ipam.Want] = []
    for want in wanted:
        match = next(
            (
                held
                for held in current - keep
                if (want.ip_address is None or held[1] == want.ip_address)
                and (want.subnet_id is None or held[0] == want.subnet_id)
            ),
            None,
        )
        if match is not None:
            keep.add(match)
        else:
            new.append(want)
    if keep == current and not new:
        return False
    await ipam.release(s, port, keep)
    await s.flush()
    if new:
        await ipam.allocate(s, port, await ipam.subnets_of(s, port.network_id), new)
    return True


async def update_port(
    svc: NetworkService,
    ctx: RequestContext,
    port_id: str,
    body: dict[str, Any],
    revision: int | None = None,
) -> m.Port:
    """Change a port: addresses, groups, pairs, options, binding and the plain attributes."""

    async def _update(s: AsyncSession) -> m.Port:
        port = await scope.load(
            s, ctx, m.Port, port_id, faults.PortNotFound, options=OPTIONS, for_update=True
        )
        net = await s.get_one(m.Network, port.network_id)
        target = network_target(net, port.project_id)
        policy.enforce(ctx, "update_port", target)
        _owner_rules(ctx, "update_port", body, target)
        revisions.check(port, revision)
        changed = False
        if "mac_address" in body and body["mac_address"] != port.mac_address:
            changed |= await port_extras.change_mac(s, port, body["mac_address"])
        if "fixed_ips" in body:
            # L3: the address a floating IP maps to stays while it is mapped.
            await floating_ips.check_fixed_ips_change(s, port.id, body["fixed_ips"])
            changed |= await _change_fixed_ips(s, port, body["fixed_ips"])
        secure = body.get("port_security_enabled", port.port_security_enabled)
        groups = body.get("security_groups")
        pairs = body.get("allowed_address_pairs")
        port_extras.check_update_security(port, secure, groups, pairs)
        if groups is not None:
            chosen = await security_groups.groups_for_port(s, ctx, port.project_id, groups)
            changed |= await port_extras.replace_groups(s, port, chosen)
        if pairs is not None:
            changed |= await port_extras.replace_pairs(s, svc.conf, port, pairs)
        if "extra_dhcp_opts" in body:
            changed |= await port_extras.update_dhcp_opts(s, port, body["extra_dhcp_opts"])
        changed |= revisions.apply(port, body, _UPDATABLE)
        port_extras.bind(port)
        if changed:
            revisions.bump(port)
        await s.flush()
        return await _reload(s, port.id)

    port = await svc.tx(_update)
    await svc.notify_data_plane("port", port.id, "updated")
    await svc.notify_servers([port.id])
    return port


async def delete_port(
    svc: NetworkService, ctx: RequestContext, port_id: str, revision: int | None = None
) -> None:
    """Delete a port; its addresses become free."""

    async def _delete(s: AsyncSession) -> tuple[list[str], str]:
        port = await scope.load(s, ctx, m.Port, port_id, faults.PortNotFound, for_update=True)
        net = await s.get_one(m.Network, port.network_id)
        policy.enforce(ctx, "delete_port", network_target(net, port.project_id))
        revisions.check(port, revision)
        # L3: a router's or floating IP's own port goes only with it (409, as Neutron);
        # floating IPs mapped to this port are disassociated, not deleted.
        await l3_ports.deletion_refused(s, port)
        unmapped = await floating_ips.disassociate_port(s, port.id)
        await tags.forget(s, "ports", [port.id])
        await s.execute(delete(m.Port).where(m.Port.id == port.id))
        server = port.device_id if port.device_owner.startswith(COMPUTE_OWNER_PREFIX) else ""
        return unmapped, server

    unmapped, server = await svc.tx(_delete)
    await svc.notify_data_plane("port", port_id, "deleted")
    await svc.tell_compute(server, port_id)
    for fip_id in unmapped:
        await svc.notify_data_plane("floatingip", fip_id, "updated")
