"""The `public` network a new cloud starts with: external, flat, on the private provider bridge.

Devstack gives a fresh cloud a `public` network on br-ex with 172.24.4.0/24 and
the host at .1; tools and tutorials take it for granted. Stackling does the
same on a bridge of its own, so floating IPs work on one machine without the
host's real uplink taking any part. Made once, by the admin project; an
operator who deletes or renames it is not second-guessed while another
external network exists.

Devstack also marks it the default external network and adds a shared default
IPv4 subnet pool: together they are what auto-allocated topologies (and Nova's
`networks: auto`) need. The pool is made when no default IPv4 pool exists.
"""

from __future__ import annotations

import ipaddress
import logging

from sqlalchemy import select

from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.network import models as m
from stackling.network.service import networks, subnetpools, subnets
from stackling.network.service.core import NetworkService

LOG = logging.getLogger(__name__)
# Devstack's name for it; the prefix and size are settings.
DEFAULT_POOL_NAME = "shared-default-subnetpool-v4"


def _admin(project_id: str) -> RequestContext:
    return RequestContext(
        request_id=f"req-{new_uuid()}",
        user_id="network-bootstrap",
        project_id=project_id,
        roles=frozenset({"admin", "member", "reader"}),
    )


async def ensure_default_subnetpool(svc: NetworkService, project_id: str) -> str | None:
    """Create the shared default IPv4 subnet pool if there is no default IPv4 pool; its id."""
    conf = svc.conf
    if not conf.public_network_cidr or not conf.default_subnetpool_v4_prefix:
        return None
    async with svc.db.session() as s:
        found = await s.scalar(
            select(m.SubnetPool.id)
            .where(m.SubnetPool.is_default.is_(True), m.SubnetPool.ip_version == 4)
            .limit(1)
        )
    if found is not None:
        return None
    pool = await subnetpools.create_subnetpool(
        svc,
        _admin(project_id),
        {
            "project_id": project_id,
            "name": DEFAULT_POOL_NAME,
            "prefixes": [conf.default_subnetpool_v4_prefix],
            "default_prefixlen": conf.default_subnetpool_v4_prefixlen,
            "shared": True,
            "is_default": True,
        },
    )
    LOG.info("created the default subnet pool %s (%s)", pool.id, conf.default_subnetpool_v4_prefix)
    return pool.id


async def ensure_public_network(svc: NetworkService, project_id: str) -> str | None:
    """Create the configured public network (the default one) unless an external one exists.

    Its id, or None when nothing was made. The default subnet pool is ensured first.
    """
    conf = svc.conf
    if not conf.public_network_cidr:
        return None
    await ensure_default_subnetpool(svc, project_id)
    async with svc.db.session() as s:
        found = await s.scalar(select(m.Network.id).where(m.Network.external.is_(True)).limit(1))
    if found is not None:
        return None
    cidr = ipaddress.ip_network(conf.public_network_cidr)
    gateway = next(iter(cidr.hosts()))
    ctx = _admin(project_id)
    net = await networks.create_network(
        svc,
        ctx,
        {
            "project_id": project_id,
            "name": conf.public_network_name,
            "router:external": True,
            "is_default": True,
            "provider:network_type": "flat",
            "provider:physical_network": conf.public_physical_network,
        },
    )
    await subnets.create_subnet(
        svc,
        ctx,
        {
            "project_id": project_id,
            "network_id": net.id,
            "name": f"{conf.public_network_name}-subnet",
            "ip_version": cidr.version,
            "cidr": str(cidr),
            # The host's own address on the provider bridge is the way out, as br-ex's is.
            "gateway_ip": str(gateway),
            "enable_dhcp": False,
        },
    )
    LOG.info("created the %s network %s (%s)", conf.public_network_name, net.id, cidr)
    return net.id
