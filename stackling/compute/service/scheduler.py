"""Choosing a host: placement candidates, Nova's filters, spread weighing, an atomic claim."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.compute import models as m
from stackling.compute.service.core import ComputeService

# A compute service that has not reported for this long is down.
SERVICE_DOWN_AFTER = dt.timedelta(seconds=60)
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


class NoValidHost(errors.StacklingError):
    """No host passes the filters with room for the server."""

    status = 500

    def __init__(self, why: str = "") -> None:
        super().__init__(NO_VALID_HOST + (f" {why}" if why else ""))


@dataclass(frozen=True, slots=True)
class Choice:
    """Where a server goes: its host, node name and resource provider."""

    host: str
    node: str
    provider_uuid: str


def resources_of(flavor: dict[str, Any]) -> dict[str, int]:
    """What a flavor asks of placement (zero amounts left out, as Nova does)."""
    disk = int(flavor.get("disk") or 0) + int(flavor.get("ephemeral") or 0)
    disk += math.ceil(int(flavor.get("swap") or 0) / 1024)
    wanted = {"VCPU": int(flavor["vcpus"]), "MEMORY_MB": int(flavor["ram"]), "DISK_GB": disk}
    return {rc: amount for rc, amount in wanted.items() if amount > 0}


def service_up(service: m.ComputeService, now: dt.datetime | None = None) -> bool:
    """Reported recently and not forced down."""
    if service.forced_down or service.last_seen_up is None:
        return False
    return (now or m.now()) - service.last_seen_up <= SERVICE_DOWN_AFTER


async def _group_hosts(
    s: AsyncSession, instance: m.Instance
) -> tuple[m.ServerGroup | None, list[str]]:
    """The server's group and the hosts its other members are on."""
    member = await s.scalar(
        select(m.ServerGroupMember).where(m.ServerGroupMember.instance_uuid == instance.uuid)
    )
    if member is None:
        return None, []
    group = await s.get(m.ServerGroup, member.group_id)
    rows = await s.execute(
        select(m.Instance.host)
        .join(m.ServerGroupMember, m.ServerGroupMember.instance_uuid == m.Instance.uuid)
        .where(
            m.ServerGroupMember.group_id == member.group_id,
            m.Instance.uuid != instance.uuid,
            m.Instance.deleted.is_(False),
            m.Instance.host.is_not(None),
        )
    )
    return group, [row[0] for row in rows]


async def _zone_hosts(s: AsyncSession, svc: ComputeService, zone: str | None) -> set[str] | None:
    if not zone:
        return None
    from stackling.compute.service import aggregates

    return set(await aggregates.hosts_in_zone(s, svc, zone))


async def select_and_claim(svc: ComputeService, instance: m.Instance) -> Choice:
    """Filter and weigh the candidate hosts, then claim on the best one that still has room."""
    from stackling.placement.errors import AllocationConflict

    placement = svc.peer("placement")
    wanted = resources_of(instance.flavor)
    candidates = await placement.allocation_candidates(resources=wanted)
    async with svc.db.session() as s:
        nodes = {n.uuid: n for n in (await s.scalars(select(m.ComputeNode))).all()}
        services = {
            sv.host: sv
            for sv in (
                await s.scalars(
                    select(m.ComputeService).where(m.ComputeService.binary == "nova-compute")
                )
            ).all()
        }
        group, group_hosts = await _group_hosts(s, instance)
        zone_hosts = await _zone_hosts(s, svc, instance.availability_zone)
    forced = instance.task_args.get("forced_host") if instance.task_args else None
    now = m.now()
    passing: list[tuple[float, Any, m.ComputeNode]] = []
    for cand in candidates:
        node = nodes.get(cand.provider_uuid)
        if node is None:
            continue
        service = services.get(node.host)
        if service is None or service.disabled or not service_up(service, now):
            continue
        if forced and node.host != forced:
            continue
        if zone_hosts is not None and node.host not in zone_hosts:
            continue
        if node.host in (instance.retry_hosts or []):
            continue
        weight = _free_ram(cand)
        if group is not None:
            on_host = group_hosts.count(node.host)
            if group.policy == "anti-affinity":
                limit = int((group.rules or {}).get("max_server_per_host", 1))
                if on_host >= limit:
                    continue
            elif group.policy == "affinity" and group_hosts and node.host not in group_hosts:
                continue
            elif group.policy == "soft-anti-affinity":
                weight -= on_host * 1e9
            elif group.policy == "soft-affinity":
                weight += on_host * 1e9
        passing.append((weight, cand, node))
    if not passing:
        raise NoValidHost()
    # Spread: the host with the most free RAM first (Nova's default RAM weigher).
    passing.sort(key=lambda item: item[0], reverse=True)
    for _weight, cand, node in passing:
        try:
            await placement.claim(
                consumer_uuid=instance.uuid,
                project_id=instance.project_id,
                user_id=instance.user_id,
                allocations={cand.provider_uuid: wanted},
            )
        except AllocationConflict:
            continue
        return Choice(node.host, node.hypervisor_hostname, node.uuid)
    raise NoValidHost()


def _free_ram(candidate: Any) -> float:
    summary = candidate.summaries.get("MEMORY_MB") or {}
    return float(summary.get("capacity", 0) - summary.get("used", 0))
