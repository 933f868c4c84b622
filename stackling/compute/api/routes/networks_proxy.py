"""/os-networks: Nova's network proxy (gone from 2.36), answered from the network service.

Nova shows each Neutron network by its id and name (as `label`); the
nova-network fields it once had are all null, and admins see more of them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.compute.api.deps import V21, ComputeDep, Context, Microversion
from stackling.compute.api.microversion import Version
from stackling.compute.api.query_misc import not_in_version
from stackling.compute.api.reply import reply
from stackling.compute.service import access
from stackling.compute.service.core import ComputeService
from stackling.network.service.instance_ports import visible_networks

router = APIRouter(tags=["compute-networks"])

_FIELDS = (
    "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6", "gateway_v6",
    "netmask_v6",
)  # fmt: skip
_ADMIN_FIELDS = (
    "created_at", "updated_at", "deleted_at", "injected", "bridge", "vlan",
    "vpn_public_address", "vpn_public_port", "vpn_private_address", "dhcp_start",
    "project_id", "host", "bridge_interface", "multi_host", "priority", "rxtx_base", "mtu",
    "dhcp_server", "enable_dhcp", "share_address",
)  # fmt: skip


def _networks_api(mv: Version) -> None:
    if mv.at_least("2.36"):
        raise not_in_version()


def _view(ctx: Any, network_id: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = {"id": network_id, "label": name}
    body.update(dict.fromkeys(_FIELDS))
    if ctx.is_admin:
        body.update(dict.fromkeys(_ADMIN_FIELDS))
        body["deleted"] = False
    return body


async def _networks(svc: ComputeService, ctx: Any, network_id: str | None = None) -> list:
    if not svc.has_peer("network"):
        return []
    return await visible_networks(svc.peer("network"), ctx, network_id)


@router.get(V21 + "/os-networks")
async def list_networks(svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """The networks the caller may see."""
    _networks_api(mv)
    access.require_reader(ctx)
    found = await _networks(svc, ctx)
    return reply(mv, {"networks": [_view(ctx, i, n) for i, n in found]})


@router.get(V21 + "/os-networks/{network_id}")
async def show_network(
    network_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One network the caller may see."""
    _networks_api(mv)
    access.require_reader(ctx)
    found = await _networks(svc, ctx, network_id)
    if not found:
        raise errors.NotFound(f"Network {network_id} could not be found.")
    return reply(mv, {"network": _view(ctx, *found[0])})
