"""Which instance a metadata request comes from: (network, source address) → its port's device.

This is the whole of the guest's identity: the proxy of a network vouches for
the network and reads the address off the connection, and only a compute port
holding that fixed address on that network names an instance.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import select

from stackling.network import models as m
from stackling.network.linux import names
from stackling.network.service.core import NetworkService

COMPUTE_OWNER_PREFIX = "compute:"


@dataclass(frozen=True, slots=True)
class PortOwner:
    """The instance behind a port, and the project the port belongs to."""

    instance_id: str
    project_id: str
    port_id: str


async def instance_at(svc: NetworkService, network_id: str, address: str) -> PortOwner | None:
    """The instance whose port holds `address` on the network; None for anything else."""
    try:
        network_id = names.canonical_id(network_id)
        address = str(ipaddress.ip_address(address))
    except ValueError:
        return None
    query = (
        select(m.Port.device_id, m.Port.project_id, m.Port.id)
        .join(m.IPAllocation, m.IPAllocation.port_id == m.Port.id)
        .where(
            m.IPAllocation.network_id == network_id,
            m.IPAllocation.ip_address == address,
            m.Port.network_id == network_id,
            m.Port.device_owner.startswith(COMPUTE_OWNER_PREFIX, autoescape=True),
            m.Port.device_id != "",
        )
    )
    async with svc.db.session() as s:
        rows = (await s.execute(query)).all()
    # The address is unique on its network, so two rows would be a broken database.
    if len(rows) != 1:
        return None
    device_id, project_id, port_id = rows[0]
    return PortOwner(device_id, project_id, port_id)
