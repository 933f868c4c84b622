"""NICs plugged into a server's guest, and out of it, on the host it runs on.

Attach binds the port first and plugs the NIC second; detach unplugs first and
frees the port second. The network_info is rewritten at each step from the
ports, so whichever step a crash interrupts, what the server shows matches its
ports, and the domain's NICs catch up on the next attach, detach or rebuild of
the domain. A failure is answered as a fault the API raises, since the bus
carries results, not exceptions, between hosts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from stackling.common import errors
from stackling.compute import models as m
from stackling.compute.drivers.base import DriverError, InstanceNotFound
from stackling.compute.service import networking
from stackling.network.service.instance_ports import Wanted

if TYPE_CHECKING:
    from stackling.compute.agent.agent import ComputeAgent

LOG = logging.getLogger(__name__)


def fault(exc: errors.StacklingError) -> dict[str, Any]:
    """The answer that carries an error back to the API."""
    return {"fault": {"status": exc.status, "message": exc.message}}


async def _live(agent: ComputeAgent, uuid: str) -> m.Instance | None:
    async with agent.svc.db.session() as s:
        return await s.scalar(
            select(m.Instance).where(
                m.Instance.uuid == uuid,
                m.Instance.deleted.is_(False),
                m.Instance.host == agent.host,
            )
        )


async def attach(agent: ComputeAgent, uuid: str, wanted: dict[str, Any]) -> dict[str, Any]:
    """Bind a port for the server and hot-plug it; {"port_id"} or a fault."""
    instance = await _live(agent, uuid)
    if instance is None:
        return fault(errors.NotFound(f"Instance {uuid} could not be found."))
    try:
        vif = await networking.attach(agent.svc, instance, agent.host, Wanted.from_dict(wanted))
    except errors.StacklingError as exc:
        # Nova words the network's refusals as its own: no address left is a 400.
        if exc.status == 409 and "No more IP addresses" in exc.message:
            return fault(errors.BadRequest(f"Zero fixed IPs could be found. ({exc.message})"))
        return fault(exc)
    port_id = str(vif["port_id"])
    nic = networking.nics([vif])
    try:
        if nic:
            await agent.driver.attach_interface(uuid, nic[0])
    except InstanceNotFound:
        LOG.info("instance %s has no domain: port %s is plugged when it is made", uuid, port_id)
    except DriverError as exc:
        LOG.warning("attaching port %s to %s failed: %s", port_id, uuid, exc)
        await networking.detach(agent.svc, instance, port_id)
        return fault(errors.StacklingError(f"Failed to attach network adapter device to {uuid}"))
    await networking.plugged(agent.svc, instance)
    return {"port_id": port_id}


async def detach(agent: ComputeAgent, uuid: str, port_id: str) -> dict[str, Any]:
    """Hot-unplug the port's NIC, then delete or release the port; {} or a fault."""
    instance = await _live(agent, uuid)
    if instance is None:
        return fault(errors.NotFound(f"Instance {uuid} could not be found."))
    vifs = [v for v in instance.network_info or [] if v.get("port_id") == port_id]
    nic = networking.nics(vifs)
    try:
        if nic:
            await agent.driver.detach_interface(uuid, nic[0])
    except InstanceNotFound:
        LOG.info("instance %s has no domain: port %s has nothing to unplug", uuid, port_id)
    except DriverError as exc:
        LOG.warning("detaching port %s from %s failed: %s", port_id, uuid, exc)
        return fault(errors.Conflict(f"Device detach failed for {port_id}: {exc}"))
    await networking.detach(agent.svc, instance, port_id)
    return {}
