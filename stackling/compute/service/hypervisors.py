"""Hypervisors (os-hypervisors): compute nodes with their service state and placement usage."""

from __future__ import annotations

import math
import uuid as uuidlib
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute.service import access, aggregates, checks
from stackling.compute.service.core import ComputeService
from stackling.compute.service.scheduler import service_up
from stackling.compute.service.uptime import machine_uptime

_POLICY = "os_compute_api:os-hypervisors:{}"


@dataclass(slots=True)
class NodeRecord:
    """A compute node with its service, what is used on it and (when asked) its servers."""

    node: m.ComputeNode
    service: m.ComputeService | None
    up: bool
    vcpus_used: int = 0
    memory_mb_used: int = 0
    local_gb_used: int = 0
    running_vms: int = 0
    current_workload: int = 0
    servers: list[tuple[str, str]] | None = None
    uptime: str | None = None

    @property
    def enabled(self) -> bool:
        """Is the node's compute service enabled?"""
        return self.service is not None and not self.service.disabled


@dataclass(slots=True)
class NodeQuery:
    """Which nodes to list and how."""

    pattern: str | None = None
    limit: int | None = None
    marker: str | None = None
    with_servers: bool = False
    usage: bool = False
    by_uuid: bool = False
    uptime: bool = False


def not_found(node_id: str) -> errors.NotFound:
    """Nova's 404 for a hypervisor."""
    return errors.NotFound(f"Hypervisor with ID '{node_id}' could not be found.")


def no_match(pattern: str) -> errors.NotFound:
    """Nova's 404 for a host name pattern that matches nothing."""
    return errors.NotFound(f"No hypervisor matching '{pattern}' could be found.")


async def _records(
    s: AsyncSession, svc: ComputeService, nodes: list[m.ComputeNode], q: NodeQuery
) -> list[NodeRecord]:
    hosts = [n.host for n in nodes]
    services = {
        sv.host: sv
        for sv in await s.scalars(
            select(m.ComputeService).where(
                m.ComputeService.host.in_(hosts), m.ComputeService.binary == aggregates.COMPUTE
            )
        )
    }
    now = m.now()
    records = [
        NodeRecord(
            n, services.get(n.host), n.host in services and service_up(services[n.host], now)
        )
        for n in nodes
    ]
    if q.usage:
        await _fill_usage(s, svc, records)
    if q.with_servers:
        await _fill_servers(s, records)
    if q.uptime:
        for record in records:
            record.uptime = host_uptime(record)
    return records


async def _fill_servers(s: AsyncSession, records: list[NodeRecord]) -> None:
    found: dict[str, list[tuple[str, str]]] = {r.node.host: [] for r in records}
    rows = await s.execute(
        select(m.Instance.host, m.Instance.uuid, m.Instance.display_name)
        .where(m.Instance.host.in_(list(found)), m.Instance.deleted.is_(False))
        .order_by(m.Instance.id)
    )
    for host, uuid, name in rows:
        found[host].append((uuid, name))
    for record in records:
        record.servers = found[record.node.host]


async def _fill_usage(s: AsyncSession, svc: ComputeService, records: list[NodeRecord]) -> None:
    """Used amounts as Nova reports them: placement allocations plus the host's reservations."""
    by_host = {r.node.host: r for r in records}
    busy = func.sum(case((m.Instance.task_state.is_not(None), 1), else_=0))
    rows = await s.execute(
        select(m.Instance.host, func.count(m.Instance.id), busy)
        .where(m.Instance.host.in_(list(by_host)), m.Instance.deleted.is_(False))
        .group_by(m.Instance.host)
    )
    for host, running, working in rows:
        by_host[host].running_vms = int(running)
        by_host[host].current_workload = int(working or 0)
    conf = svc.conf
    placement = svc.peer("placement") if svc.has_peer("placement") else None
    for record in records:
        node = record.node
        used: dict[str, int] = {}
        if placement is not None:
            try:
                used = await placement.provider_usages(node.uuid)
            except errors.NotFound:
                used = {}
        reserved_mem = min(conf.reserved_host_memory_mb, max(node.memory_mb - 1, 0))
        reserved_disk = min(math.ceil(conf.reserved_host_disk_mb / 1024), max(node.local_gb - 1, 0))
        record.vcpus_used = int(used.get("VCPU", 0))
        record.memory_mb_used = reserved_mem + int(used.get("MEMORY_MB", 0))
        record.local_gb_used = reserved_disk + int(used.get("DISK_GB", 0))


async def list_nodes(svc: ComputeService, ctx: RequestContext, q: NodeQuery) -> list[NodeRecord]:
    """GET /os-hypervisors[/detail] (admin): by id, paged, optionally by host name pattern."""
    access.require_admin(ctx, _POLICY.format("list"))
    if q.pattern is not None and (q.limit is not None or q.marker is not None):
        raise errors.BadRequest(
            "Paging over hypervisors with the hypervisor_hostname_pattern query "
            "parameter is not supported."
        )
    query = select(m.ComputeNode).order_by(m.ComputeNode.id)
    async with svc.db.session() as s:
        if q.pattern is not None:
            query = query.where(
                m.ComputeNode.hypervisor_hostname.contains(q.pattern, autoescape=True)
            )
        if q.marker is not None:
            marker = await _find(s, q.marker, by_uuid=q.by_uuid)
            if marker is None:
                raise errors.BadRequest(f"marker [{q.marker}] not found")
            query = query.where(m.ComputeNode.id > marker.id)
        size = svc.conf.api_max_limit if not q.limit else min(q.limit, svc.conf.api_max_limit)
        nodes = list((await s.scalars(query.limit(size))).all())
        if q.pattern is not None and not nodes:
            raise no_match(q.pattern)
        return await _records(s, svc, nodes, q)


async def _find(s: AsyncSession, node_id: str, *, by_uuid: bool) -> m.ComputeNode | None:
    if by_uuid:
        try:
            wanted = str(uuidlib.UUID(node_id))
        except ValueError:
            return None
        return await s.scalar(select(m.ComputeNode).where(m.ComputeNode.uuid == wanted))
    number = checks.row_id(node_id)
    return None if number is None else await s.get(m.ComputeNode, number)


async def show_node(
    svc: ComputeService, ctx: RequestContext, node_id: str, mv: Version, *, with_servers: bool
) -> NodeRecord:
    """GET /os-hypervisors/{id} (admin): uuid ids from 2.53 (400 when malformed)."""
    access.require_admin(ctx, _POLICY.format("show"))
    by_uuid = mv.at_least("2.53")
    if by_uuid:
        try:
            uuidlib.UUID(node_id)
        except ValueError:
            raise errors.BadRequest(f"Invalid uuid {node_id}") from None
    async with svc.db.session() as s:
        node = await _find(s, node_id, by_uuid=by_uuid)
        if node is None:
            raise not_found(node_id)
        q = NodeQuery(with_servers=with_servers, usage=True, uptime=mv.at_least("2.88"))
        return (await _records(s, svc, [node], q))[0]


async def statistics(svc: ComputeService, ctx: RequestContext) -> dict[str, int]:
    """GET /os-hypervisors/statistics (before 2.88): sums over nodes of enabled services."""
    access.require_admin(ctx, _POLICY.format("statistics"))
    async with svc.db.session() as s:
        nodes = list((await s.scalars(select(m.ComputeNode).order_by(m.ComputeNode.id))).all())
        records = [r for r in await _records(s, svc, nodes, NodeQuery(usage=True)) if r.enabled]
    totals = {
        "count": len(records),
        "vcpus": sum(r.node.vcpus for r in records),
        "memory_mb": sum(r.node.memory_mb for r in records),
        "local_gb": sum(r.node.local_gb for r in records),
        "vcpus_used": sum(r.vcpus_used for r in records),
        "memory_mb_used": sum(r.memory_mb_used for r in records),
        "local_gb_used": sum(r.local_gb_used for r in records),
        "current_workload": sum(r.current_workload for r in records),
        "running_vms": sum(r.running_vms for r in records),
    }
    totals["free_ram_mb"] = totals["memory_mb"] - totals["memory_mb_used"]
    totals["free_disk_gb"] = totals["local_gb"] - totals["local_gb_used"]
    totals["disk_available_least"] = totals["free_disk_gb"]
    return totals


async def search(
    svc: ComputeService, ctx: RequestContext, pattern: str, *, with_servers: bool
) -> list[NodeRecord]:
    """GET /os-hypervisors/{pattern}/search and /servers (before 2.53); 404 when none match."""
    access.require_admin(ctx, _POLICY.format("search" if not with_servers else "servers"))
    query = (
        select(m.ComputeNode)
        .where(m.ComputeNode.hypervisor_hostname.contains(pattern, autoescape=True))
        .order_by(m.ComputeNode.id)
    )
    async with svc.db.session() as s:
        nodes = list((await s.scalars(query)).all())
        if not nodes:
            raise no_match(pattern)
        return await _records(s, svc, nodes, NodeQuery(with_servers=with_servers))


async def by_host(svc: ComputeService, host: str) -> NodeRecord | None:
    """The node of a compute host with what is used on it; None when the host has none."""
    async with svc.db.session() as s:
        node = await s.scalar(select(m.ComputeNode).where(m.ComputeNode.host == host))
        if node is None:
            return None
        return (await _records(s, svc, [node], NodeQuery(usage=True)))[0]


def host_uptime(record: NodeRecord) -> str | None:
    """What `uptime` prints on the node's host; None while its compute service is down.

    The answer is this process's machine: right when the compute hosts run in
    this process (the default one-process cloud, the fake driver's simulated
    hosts too); a cloud spread over machines would have to ask each host.
    """
    return machine_uptime() if record.up else None


async def show_uptime(
    svc: ComputeService, ctx: RequestContext, node_id: str, mv: Version
) -> tuple[NodeRecord, str]:
    """GET /os-hypervisors/{id}/uptime (admin, before 2.88); 400 while its service is down."""
    access.require_admin(ctx, _POLICY.format("uptime"))
    record = await show_node(svc, ctx, node_id, mv, with_servers=False)
    text = host_uptime(record)
    if text is None:
        raise errors.BadRequest(
            f"Compute service of {record.node.host} is unavailable at this time."
        )
    return record, text
