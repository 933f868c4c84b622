"""Network segments: provider attributes checked, VXLAN ids allocated, flat networks claimed.

A segment that holds something exclusively (a VNI, a flat physical network)
has a row in `network_segment_allocations`, whose primary key is the thing
held: two networks racing for the same VNI cannot both insert it. A free VNI
is searched for as the lowest unused one; losing a race for it (the insert
fails inside a savepoint) just means trying again with what is then free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.ids import new_uuid
from stackling.network import faults
from stackling.network import models as m
from stackling.settings import NetworkSettings

TYPES = ("flat", "vxlan", "local")
# Bytes VXLAN adds over IPv4: outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14.
VXLAN_OVERHEAD = 50
_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class SegmentRequest:
    """The segment a new network asks for; segmentation_id None means 'pick one'."""

    network_type: str
    physical_network: str | None = None
    segmentation_id: int | None = None


def requested(conf: NetworkSettings, body: dict[str, Any]) -> SegmentRequest:
    """The segment of a network create: the provider attributes, else the project default."""
    kind = body.get("provider:network_type")
    physnet = body.get("provider:physical_network")
    seg_id = body.get("provider:segmentation_id")
    if kind is None:
        if physnet is not None or seg_id is not None:
            raise faults.InvalidInput("provider:network_type required")
        return SegmentRequest(conf.tenant_network_type)
    if kind not in TYPES:
        raise faults.InvalidInput(f"network_type value '{kind}' not supported")
    if kind == "flat":
        if not physnet:
            raise faults.InvalidInput("physical_network required for flat provider network")
        if seg_id is not None:
            raise faults.InvalidInput(f"segmentation_id specified for {kind} network")
        if "*" not in conf.flat_networks and physnet not in conf.flat_networks:
            raise faults.InvalidInput(
                f"physical_network '{physnet}' unknown for flat provider network"
            )
        return SegmentRequest("flat", physnet)
    if physnet is not None:
        raise faults.InvalidInput(f"provider:physical_network specified for {kind} network")
    if kind == "local":
        if seg_id is not None:
            raise faults.InvalidInput(f"segmentation_id specified for {kind} network")
        return SegmentRequest("local")
    if seg_id is not None and not 1 <= seg_id <= (1 << 24) - 1:
        raise faults.InvalidInput(f"segmentation_id out of range (1 through {(1 << 24) - 1})")
    return SegmentRequest("vxlan", None, seg_id)


def max_mtu(conf: NetworkSettings, network_type: str) -> int:
    """The largest MTU a network of this type can carry."""
    if network_type == "vxlan":
        return conf.global_physnet_mtu - VXLAN_OVERHEAD
    return conf.global_physnet_mtu


async def _claim(s: AsyncSession, row: m.SegmentAllocation) -> bool:
    """Insert an allocation in a savepoint; False when someone else holds its key."""
    try:
        async with s.begin_nested():
            s.add(row)
            await s.flush()
    except IntegrityError:
        return False
    return True


async def _free_vni(s: AsyncSession, conf: NetworkSettings) -> int:
    taken = set(
        await s.scalars(
            select(m.SegmentAllocation.segmentation_id).where(
                m.SegmentAllocation.network_type == "vxlan",
                m.SegmentAllocation.segmentation_id.between(conf.vni_min, conf.vni_max),
            )
        )
    )
    for vni in range(conf.vni_min, conf.vni_max + 1):
        if vni not in taken:
            return vni
    raise faults.NoNetworkAvailable()


async def create(
    s: AsyncSession, conf: NetworkSettings, network_id: str, want: SegmentRequest
) -> m.Segment:
    """The network's segment, holding its VNI or physical network (409 when taken)."""
    segment = m.Segment(
        id=new_uuid(),
        network_id=network_id,
        network_type=want.network_type,
        physical_network=want.physical_network,
        segmentation_id=want.segmentation_id,
        segment_index=0,
    )
    s.add(segment)
    await s.flush()
    if want.network_type == "local":
        return segment
    if want.network_type == "flat":
        held = m.SegmentAllocation(
            network_type="flat",
            physical_network=want.physical_network,
            segmentation_id=0,
            segment_id=segment.id,
        )
        if not await _claim(s, held):
            raise faults.FlatNetworkInUse(want.physical_network or "")
        return segment
    if want.segmentation_id is not None:
        held = m.SegmentAllocation(
            network_type="vxlan",
            physical_network="",
            segmentation_id=want.segmentation_id,
            segment_id=segment.id,
        )
        if not await _claim(s, held):
            raise faults.TunnelIdInUse(want.segmentation_id)
        return segment
    for _ in range(_ATTEMPTS):
        vni = await _free_vni(s, conf)
        held = m.SegmentAllocation(
            network_type="vxlan", physical_network="", segmentation_id=vni, segment_id=segment.id
        )
        if await _claim(s, held):
            segment.segmentation_id = vni
            return segment
    raise faults.NoNetworkAvailable()
