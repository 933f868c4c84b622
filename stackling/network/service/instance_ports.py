"""The network side of a server's life: its networks checked, its ports bound, described, freed.

Compute calls these as Nova calls Neutron: at the API to check what a boot
asks for, on the host to create (or take over) and bind the server's ports,
and when the server goes to delete the ports it made and release those it was
given. Ports carry the server's uuid as their device_id, so every step can be
repeated after a crash: what exists is found again instead of made twice.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.network import models as m
from stackling.network.linux import names
from stackling.network.service import auto_allocation, ports, scope
from stackling.network.service.core import COMPUTE_OWNER_PREFIX, NetworkService


class BootNetworkError(Exception):
    """What a boot asked of the network that cannot be given; compute words it as Nova does."""

    def __init__(self, kind: str, ident: str = "", detail: str = "") -> None:
        self.kind = kind
        self.ident = ident
        self.detail = detail
        super().__init__(f"{kind}: {ident} {detail}".strip())


@dataclass(frozen=True, slots=True)
class Wanted:
    """One NIC a boot asks for: a network (with an address perhaps) or an existing port."""

    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The form kept in the instance's requested networks."""
        return {
            k: v
            for k, v in (
                ("uuid", self.network_id),
                ("port", self.port_id),
                ("fixed_ip", self.fixed_ip),
                ("tag", self.tag),
            )
            if v is not None
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Wanted:
        """Back from the kept form."""
        return cls(data.get("uuid"), data.get("port"), data.get("fixed_ip"), data.get("tag"))


@dataclass
class Vif:
    """A server's NIC as compute keeps it (network_info) and plugs it."""

    port_id: str
    network_id: str
    network_name: str
    mac: str
    mtu: int
    bridge: str
    devname: str
    vif_type: str
    preserve_on_delete: bool
    ips: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON compute stores."""
        return {
            "port_id": self.port_id,
            "network_id": self.network_id,
            "network_name": self.network_name,
            "mac": self.mac,
            "mtu": self.mtu,
            "bridge": self.bridge,
            "devname": self.devname,
            "vif_type": self.vif_type,
            "preserve_on_delete": self.preserve_on_delete,
            "ips": self.ips,
        }


def _cloud(project_id: str) -> RequestContext:
    """Compute acting for the server's project with the cloud's rights (as Nova's admin client)."""
    return RequestContext(
        request_id=f"req-{new_uuid()}",
        user_id="compute",
        project_id=project_id,
        roles=frozenset({"admin", "member", "reader"}),
    )


def bridge_of(svc: NetworkService, network: m.Network) -> str:
    """The Linux bridge a NIC of `network` plugs into (the agent's rule, `names.network_bridge`)."""
    segment = network.segments[0] if network.segments else None
    return names.network_bridge(
        network.id,
        segment.network_type if segment is not None else "local",
        segment.physical_network if segment is not None else None,
        svc.conf.bridge_mappings,
    )


# -- the API's check ------------------------------------------------------------------


async def _usable_networks(s: AsyncSession, ctx: RequestContext) -> list[m.Network]:
    """Networks a server of the caller's project lands on when it names none (as Nova picks)."""
    query = (
        select(m.Network)
        .where(
            or_(m.Network.project_id == ctx.project_id, m.Network.shared.is_(True)),
            m.Network.external.is_(False) | m.Network.shared.is_(True),
        )
        .order_by(m.Network.created_at, m.Network.id)
    )
    return list(await s.scalars(query))


async def _has_subnet(s: AsyncSession, network_id: str) -> bool:
    found = await s.scalar(select(m.Subnet.id).where(m.Subnet.network_id == network_id).limit(1))
    return found is not None


async def check_boot(
    svc: NetworkService,
    ctx: RequestContext,
    requested: list[dict[str, Any]] | str | None,
    security_groups: list[str],
) -> list[Wanted]:
    """The NICs a boot gets, checked now so the API can refuse it (Nova's validate_networks)."""
    async with svc.db.session() as s:
        for group in security_groups:
            await _group_id(s, ctx, ctx.project_id or "", group)
        if requested == "none":
            return []
        if requested is None or requested == "auto":
            usable = await _usable_networks(s, ctx)
            if len(usable) > 1:
                raise BootNetworkError("ambiguous")
            if not usable:
                if requested is None:
                    # Before 2.37 a boot naming no network gets none, as Nova's.
                    return []
                # `auto`: Nova checks (dry-run), then has Neutron allocate the project's
                # topology; a Conflict either way is UnableToAutoAllocateNetwork.
                project_id = ctx.project_id or ""
                try:
                    await auto_allocation.check_requirements(svc, project_id)
                    topology = await auto_allocation.get_topology(svc, ctx, project_id, [])
                except errors.Conflict:
                    raise BootNetworkError("auto_allocate_failed", project_id) from None
                # Just made in other transactions: this session's reads need not see it.
                return [Wanted(network_id=topology.id)]
            requested = [{"uuid": usable[0].id}]
        wanted = [Wanted.from_dict(r) for r in requested]
        for want in wanted:
            if want.port_id:
                await _check_port(s, ctx, want.port_id)
            elif want.network_id:
                await _check_network(s, ctx, want)
        return wanted


async def _check_port(s: AsyncSession, ctx: RequestContext, port_id: str) -> None:
    port = await s.scalar(scope.select_visible(ctx, m.Port).where(m.Port.id == port_id))
    if port is None:
        raise BootNetworkError("port_not_found", port_id)
    if port.device_id:
        raise BootNetworkError("port_in_use", port_id)
    if not await _has_subnet(s, port.network_id):
        raise BootNetworkError("network_requires_subnet", port.network_id)


async def _check_network(s: AsyncSession, ctx: RequestContext, want: Wanted) -> None:
    net_id = want.network_id or ""
    net = await s.scalar(scope.select_visible(ctx, m.Network).where(m.Network.id == net_id))
    if net is None or (not ctx.is_admin and not net.shared and net.project_id != ctx.project_id):
        raise BootNetworkError("network_not_found", net_id)
    subnets = list(await s.scalars(select(m.Subnet).where(m.Subnet.network_id == net_id)))
    if not subnets:
        raise BootNetworkError("network_requires_subnet", net_id)
    if want.fixed_ip is not None:
        address = ipaddress.ip_address(want.fixed_ip)
        if not any(address in ipaddress.ip_network(sn.cidr) for sn in subnets):
            raise BootNetworkError("fixed_ip_invalid", want.fixed_ip, net_id)
        taken = await s.scalar(
            select(m.IPAllocation.port_id).where(
                m.IPAllocation.network_id == net_id, m.IPAllocation.ip_address == want.fixed_ip
            )
        )
        if taken is not None:
            raise BootNetworkError("fixed_ip_in_use", want.fixed_ip, net_id)


async def _group_id(s: AsyncSession, ctx: RequestContext, project_id: str, ref: str) -> str:
    """A security group of the project by id or name (Nova accepts either)."""
    visible = scope.select_visible(ctx, m.SecurityGroup)
    by_id = await s.scalar(visible.where(m.SecurityGroup.id == ref))
    if by_id is not None:
        return by_id.id
    matches = list(
        await s.scalars(
            select(m.SecurityGroup.id).where(
                m.SecurityGroup.project_id == project_id, m.SecurityGroup.name == ref
            )
        )
    )
    if ref == "default" and not matches:
        return ""  # made with the first port, as Neutron makes it
    if not matches:
        raise BootNetworkError("security_group_not_found", ref, project_id)
    if len(matches) > 1:
        raise BootNetworkError("security_group_ambiguous", ref, project_id)
    return matches[0]


# -- the host's binding -------------------------------------------------------------


async def bind_for_server(
    svc: NetworkService,
    *,
    server_id: str,
    project_id: str,
    host: str,
    zone: str,
    wanted: list[Wanted],
    security_groups: list[str],
) -> list[Vif]:
    """Create (or find again, or take over) and bind the server's ports on `host`; its VIFs."""
    ctx = _cloud(project_id)
    owner = COMPUTE_OWNER_PREFIX + (zone or "nova")
    async with svc.db.session() as s:
        existing = list(
            await s.scalars(
                select(m.Port)
                .where(m.Port.device_id == server_id)
                .order_by(m.Port.created_at, m.Port.id)
            )
        )
        group_ids = [await _group_id(s, ctx, project_id, g) for g in security_groups or []]
    groups = [g for g in group_ids if g] or None
    made = [p for p in existing if p.id not in {w.port_id for w in wanted}]
    bound: list[str] = []
    for want in wanted:
        binding = {"device_id": server_id, "device_owner": owner, "binding:host_id": host}
        if want.port_id:
            await ports.update_port(svc, ctx, want.port_id, binding)
            bound.append(want.port_id)
            continue
        again = next((p for p in made if p.network_id == want.network_id), None)
        if again is not None:
            # Made by an earlier try of this build: bound again (the host may differ).
            made.remove(again)
            await ports.update_port(svc, ctx, again.id, {"binding:host_id": host})
            bound.append(again.id)
            continue
        body: dict[str, Any] = {
            "project_id": project_id,
            "network_id": want.network_id,
            **binding,
        }
        if want.fixed_ip:
            body["fixed_ips"] = [{"ip_address": want.fixed_ip}]
        if groups is not None:
            body["security_groups"] = groups
        port = await ports.create_port(svc, ctx, body)
        bound.append(port.id)
    preserved = {w.port_id for w in wanted if w.port_id}
    return await describe(svc, bound, preserved)


async def rebind(svc: NetworkService, port_ids: list[str], project_id: str, host: str) -> None:
    """Move the server's ports to `host` (evacuation, migration, unshelve)."""
    ctx = _cloud(project_id)
    for port_id in port_ids:
        try:
            await ports.update_port(svc, ctx, port_id, {"binding:host_id": host})
        except errors.NotFound:
            continue


async def release_for_server(
    svc: NetworkService, *, server_id: str, project_id: str, preserved: set[str]
) -> None:
    """Delete the ports made for the server, and unbind those it was given."""
    ctx = _cloud(project_id)
    async with svc.db.session() as s:
        found = list(await s.scalars(select(m.Port.id).where(m.Port.device_id == server_id)))
    for port_id in found:
        try:
            if port_id in preserved:
                await ports.update_port(
                    svc,
                    ctx,
                    port_id,
                    {"device_id": "", "device_owner": "", "binding:host_id": ""},
                )
            else:
                await ports.delete_port(svc, ctx, port_id)
        except errors.NotFound:
            continue


# -- what compute shows and plugs ------------------------------------------------------


async def server_vifs(svc: NetworkService, server_id: str, preserved: set[str]) -> list[Vif]:
    """The VIFs of a server as the rows say now (for the network_info refresh)."""
    async with svc.db.session() as s:
        found = list(
            await s.scalars(
                select(m.Port.id)
                .where(m.Port.device_id == server_id)
                .order_by(m.Port.created_at, m.Port.id)
            )
        )
    return await describe(svc, found, preserved)


async def describe(svc: NetworkService, port_ids: list[str], preserved: set[str]) -> list[Vif]:
    """The VIFs of ports, in the order given, with their subnets and floating IPs."""
    if not port_ids:
        return []
    async with svc.db.session() as s:
        rows = {
            p.id: p
            for p in await s.scalars(
                select(m.Port)
                .where(m.Port.id.in_(port_ids))
                .options(selectinload(m.Port.fixed_ips))
            )
        }
        net_ids = {p.network_id for p in rows.values()}
        networks = {
            n.id: n
            for n in await s.scalars(
                select(m.Network)
                .where(m.Network.id.in_(net_ids))
                .options(selectinload(m.Network.segments))
            )
        }
        subnets = {
            sn.id: sn
            for sn in await s.scalars(
                select(m.Subnet)
                .where(m.Subnet.network_id.in_(net_ids))
                .options(selectinload(m.Subnet.dns_nameservers), selectinload(m.Subnet.host_routes))
            )
        }
        floating = list(
            await s.scalars(select(m.FloatingIP).where(m.FloatingIP.fixed_port_id.in_(port_ids)))
        )
    vifs = []
    for port_id in port_ids:
        port = rows.get(port_id)
        if port is None:
            continue
        net = networks[port.network_id]
        ips: list[dict[str, Any]] = []
        for alloc in port.fixed_ips:
            subnet = subnets.get(alloc.subnet_id)
            if subnet is None:
                continue
            ips.append(_fixed(alloc.ip_address, subnet))
        for fip in floating:
            if fip.fixed_port_id == port.id:
                ips.append(
                    {
                        "addr": fip.floating_ip_address,
                        "version": 4,
                        "type": "floating",
                        "fixed_addr": fip.fixed_ip_address,
                    }
                )
        vifs.append(
            Vif(
                port_id=port.id,
                network_id=net.id,
                network_name=net.name,
                mac=port.mac_address,
                mtu=net.mtu,
                bridge=bridge_of(svc, net),
                devname=names.tap_name(port.id),
                vif_type=port.binding_vif_type,
                preserve_on_delete=port.id in preserved,
                ips=ips,
            )
        )
    return vifs


def _fixed(address: str, subnet: m.Subnet) -> dict[str, Any]:
    return {
        "addr": address,
        "version": subnet.ip_version,
        "type": "fixed",
        "cidr": subnet.cidr,
        "gateway": subnet.gateway_ip,
        "dns": [d.address for d in subnet.dns_nameservers],
        "routes": [
            {"destination": r.destination, "nexthop": r.nexthop} for r in subnet.host_routes
        ],
        "dhcp": subnet.enable_dhcp,
        "ipv6_address_mode": subnet.ipv6_address_mode,
    }


async def visible_networks(
    svc: NetworkService, ctx: RequestContext, network_id: str | None = None
) -> list[tuple[str, str]]:
    """(id, name) of the networks the caller sees, or of the one asked (Nova's network proxy)."""
    query = scope.select_visible(ctx, m.Network).order_by(m.Network.created_at, m.Network.id)
    if network_id is not None:
        query = query.where(m.Network.id == network_id)
    async with svc.db.session() as s:
        return [(n.id, n.name) for n in await s.scalars(query)]


# -- interfaces attached to a running server (Nova's os-interface) ----------------------


async def attach_for_server(
    svc: NetworkService,
    *,
    server_id: str,
    project_id: str,
    host: str,
    zone: str,
    want: Wanted,
) -> str:
    """One more port for the server, made on the network or taken over, bound on `host`; its id."""
    ctx = _cloud(project_id)
    binding = {
        "device_id": server_id,
        "device_owner": COMPUTE_OWNER_PREFIX + (zone or "nova"),
        "binding:host_id": host,
    }
    if want.port_id:
        await ports.update_port(svc, ctx, want.port_id, binding)
        return want.port_id
    # Nova passes no security groups on attach: the port gets the project's default.
    body: dict[str, Any] = {"project_id": project_id, "network_id": want.network_id, **binding}
    if want.fixed_ip:
        body["fixed_ips"] = [{"ip_address": want.fixed_ip}]
    port = await ports.create_port(svc, ctx, body)
    return port.id


async def detach_for_server(
    svc: NetworkService, *, server_id: str, project_id: str, port_id: str, preserve: bool
) -> None:
    """The port leaves the server: deleted when it was made for it, else unbound and kept."""
    ctx = _cloud(project_id)
    async with svc.db.session() as s:
        owner = await s.scalar(select(m.Port.device_id).where(m.Port.id == port_id))
    if owner != server_id:
        return
    try:
        if preserve:
            await ports.update_port(
                svc, ctx, port_id, {"device_id": "", "device_owner": "", "binding:host_id": ""}
            )
        else:
            await ports.delete_port(svc, ctx, port_id)
    except errors.NotFound:
        return


async def server_ports(
    svc: NetworkService, server_id: str, port_id: str | None = None
) -> list[dict[str, Any]]:
    """The ports whose device is the server, as Nova's interface view needs them."""
    query = (
        select(m.Port)
        .where(m.Port.device_id == server_id)
        .options(selectinload(m.Port.fixed_ips))
        .order_by(m.Port.created_at, m.Port.id)
    )
    if port_id is not None:
        query = query.where(m.Port.id == port_id)
    async with svc.db.session() as s:
        rows = list(await s.scalars(query))
    return [
        {
            "id": p.id,
            "network_id": p.network_id,
            "mac_address": p.mac_address,
            "status": p.status,
            "fixed_ips": [
                {"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in p.fixed_ips
            ],
        }
        for p in rows
    ]
