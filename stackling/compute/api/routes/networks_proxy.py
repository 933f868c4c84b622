"""/os-networks: Nova's network proxy (gone from 2.36), over a cloud with no network service.

Nova answers from Neutron; with no network service in this cloud there are
no networks to show.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.compute.api.deps import V21, ComputeDep, Context, Microversion
from stackling.compute.api.microversion import Version
from stackling.compute.api.query_misc import not_in_version
from stackling.compute.api.reply import reply
from stackling.compute.service import access
from stackling.compute.service.core import ComputeService

router = APIRouter(tags=["compute-networks"])


def _networks_api(mv: Version) -> None:
    if mv.at_least("2.36"):
        raise not_in_version()


def _no_network_service(svc: ComputeService) -> None:
    if svc.has_peer("network"):
        # Proxying to a network service is for when this cloud has one.
        raise errors.NotImplementedYet("The network proxy does not reach the network service.")


@router.get(V21 + "/os-networks")
async def list_networks(svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """The networks the caller may see: none, without a network service."""
    _networks_api(mv)
    access.require_reader(ctx)
    _no_network_service(svc)
    return reply(mv, {"networks": []})


@router.get(V21 + "/os-networks/{network_id}")
async def show_network(
    network_id: str, svc: ComputeDep, ctx: Context, mv: Microversion
) -> Response:
    """One network: never found, without a network service."""
    _networks_api(mv)
    access.require_reader(ctx)
    _no_network_service(svc)
    raise errors.NotFound(f"Network {network_id} could not be found.")
