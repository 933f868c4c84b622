"""Auto-allocated topologies: a project's network, subnet and router to the outside, on request.

Neutron's auto-allocated-topology ("get me a network"): the first GET for a
project builds a network with a subnet from each default subnet pool, and a
router with its gateway on the default external network and an interface on
each subnet; later GETs return the same network. Every step is an ordinary
service call made with the cloud's rights (as Neutron's plugin calls skip the
API's policy), so quotas and every other rule still apply.

The project's row in network_auto_allocated_topologies is the claim: requests
that build at the same time race to insert it, and the losers remove what they
built and answer with the winner's network. A step that fails removes what was
built before it, so a retry starts clean.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.network import faults, policy
from stackling.network import models as m
from stackling.network.service import l3_ports, networks, router_interfaces, routers, subnets
from stackling.network.service.core import NetworkService

LOG = logging.getLogger(__name__)

# The `fields` value that asks only whether a topology could be built.
CHECK_REQUIREMENTS = "dry-run"
DRY_RUN_PASS = "dry-run=pass"
NETWORK_NAME = "auto_allocated_network"
ROUTER_NAME = "auto_allocated_router"


class AutoAllocationFailure(faults.NeutronFault, errors.Conflict):
    """The deployment lacks what a topology needs, or building one failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Deployment error: {reason}.")


class NotAuthorized(faults.NeutronFault, errors.Forbidden):
    """A non-admin naming another project's topology."""

    def __init__(self) -> None:
        super().__init__("Not authorized.")


@dataclass(frozen=True, slots=True)
class Topology:
    """What the API shows: the network's id (or the dry run's verdict) and the project."""

    id: str
    project_id: str


@dataclass
class _Built:
    """What one attempt has made so far, to be removed if it does not complete."""

    network_id: str | None = None
    router_id: str | None = None
    subnet_ids: list[str] = field(default_factory=list)


def _cloud(project_id: str) -> RequestContext:
    """The rights the building steps run with, on behalf of the project."""
    return RequestContext(
        request_id=f"req-{new_uuid()}",
        user_id="auto-allocation",
        project_id=project_id,
        roles=frozenset({"admin", "member", "reader"}),
    )


def _validate(ctx: RequestContext, project_id: str) -> str:
    """The project the request is about; 403 when a non-admin names another project."""
    if project_id == "None":
        # Older clients send the string None when they mean the caller's own project.
        project_id = ctx.project_id or ""
    if not ctx.is_admin and project_id != ctx.project_id:
        raise NotAuthorized()
    return project_id


async def _default_external_network(s: AsyncSession) -> str:
    """The default external network's id; 409 when the deployment has none."""
    found = list(
        await s.scalars(
            select(m.Network.id)
            .where(m.Network.external.is_(True), m.Network.is_default.is_(True))
            .order_by(m.Network.created_at, m.Network.id)
        )
    )
    if not found:
        LOG.error("no default external network: auto-allocated topologies cannot be built")
        raise AutoAllocationFailure("No default router:external network")
    if len(found) > 1:
        LOG.error("several default external networks; %s is the one used", found[0])
    return found[0]


async def _default_pools(s: AsyncSession, project_id: str) -> list[m.SubnetPool]:
    """The default subnet pools (IPv4, IPv6) the project may allocate from."""
    pools = []
    for version in (4, 6):
        pool = await s.scalar(
            select(m.SubnetPool)
            .where(
                m.SubnetPool.is_default.is_(True),
                m.SubnetPool.ip_version == version,
                or_(m.SubnetPool.shared.is_(True), m.SubnetPool.project_id == project_id),
            )
            .order_by(m.SubnetPool.created_at, m.SubnetPool.id)
            .limit(1)
        )
        if pool is not None:
            pools.append(pool)
    return pools


async def check_requirements(svc: NetworkService, project_id: str) -> None:
    """409 unless a topology could be built: a default external network and a default pool."""
    async with svc.db.session() as s:
        await _default_external_network(s)
        if not await _default_pools(s, project_id):
            LOG.error("no default subnet pools: auto-allocated topologies cannot be built")
            raise AutoAllocationFailure("No default subnetpools defined")


async def _existing(svc: NetworkService, project_id: str) -> m.AutoAllocatedTopology | None:
    async with svc.db.session() as s:
        return await s.get(m.AutoAllocatedTopology, project_id)


async def get_topology(
    svc: NetworkService, ctx: RequestContext, project_id: str, fields: list[str]
) -> Topology:
    """The project's auto-allocated network, built on first request (or, dry-run, the check)."""
    project_id = _validate(ctx, project_id)
    if not policy.check(ctx, "get_auto_allocated_topology", {"project_id": project_id}):
        # As Neutron hides what policy does not let the caller see.
        raise errors.NotFound("The resource could not be found.")
    if CHECK_REQUIREMENTS in fields:
        await check_requirements(svc, project_id)
        return Topology(DRY_RUN_PASS, project_id)
    if fields:
        raise faults.BadRequest("auto_allocate", "Unrecognized field")
    found = await _existing(svc, project_id)
    if found is not None:
        return Topology(found.network_id, project_id)
    async with svc.db.session() as s:
        external_id = await _default_external_network(s)
    return Topology(await _build(svc, project_id, external_id), project_id)


async def _build(svc: NetworkService, project_id: str, external_id: str) -> str:
    """Build a topology and claim it for the project; the network the project is to use."""
    ctx = _cloud(project_id)
    built = _Built()
    try:
        await _private_network(svc, ctx, project_id, built)
        await _external_connectivity(svc, ctx, external_id, built)
        return await _save(svc, ctx, project_id, built)
    except BaseException:
        LOG.exception("building the auto-allocated topology of project %s failed", project_id)
        try:
            await _cleanup(svc, ctx, built.network_id, built.router_id, built.subnet_ids)
        except Exception:
            # The build's own error is the one to answer with.
            LOG.exception("removing the partial topology of project %s failed", project_id)
        raise


async def _private_network(
    svc: NetworkService, ctx: RequestContext, project_id: str, built: _Built
) -> None:
    """The project's network (down until claimed) with a subnet from each default pool."""
    try:
        net = await networks.create_network(
            svc,
            ctx,
            {
                "project_id": project_id,
                "name": NETWORK_NAME,
                "admin_state_up": False,
                "shared": False,
            },
        )
        built.network_id = net.id
        async with svc.db.session() as s:
            pools = await _default_pools(s, project_id)
        if not pools:
            raise errors.NotFound("No default subnetpools defined")
        for pool in pools:
            subnet = await subnets.create_subnet(
                svc,
                ctx,
                {
                    "project_id": project_id,
                    "network_id": net.id,
                    "name": f"auto_allocated_subnet_v{pool.ip_version}",
                    "ip_version": pool.ip_version,
                    "subnetpool_id": pool.id,
                },
            )
            built.subnet_ids.append(subnet.id)
    except (errors.BadRequest, errors.NotFound, faults.SubnetAllocationError) as exc:
        LOG.error("no private network for project %s: %s", project_id, exc)
        raise AutoAllocationFailure("Unable to provide project private network") from exc


async def _external_connectivity(
    svc: NetworkService, ctx: RequestContext, external_id: str, built: _Built
) -> None:
    """A router with its gateway on the default external network and the subnets behind it."""
    assert built.network_id is not None
    try:
        router = await routers.create_router(
            svc,
            ctx,
            {
                "project_id": ctx.project_id,
                "name": ROUTER_NAME,
                "admin_state_up": True,
                "external_gateway_info": {"network_id": external_id},
            },
        )
        built.router_id = router.id
        for subnet_id in built.subnet_ids:
            await router_interfaces.add_interface(svc, ctx, router.id, {"subnet_id": subnet_id})
    except errors.BadRequest as exc:
        LOG.error("no external connectivity for project %s: %s", ctx.project_id, exc)
        raise AutoAllocationFailure("Unable to provide external connectivity") from exc


async def _save(svc: NetworkService, ctx: RequestContext, project_id: str, built: _Built) -> str:
    """Claim the topology for the project, or give way to the one claimed first."""
    assert built.network_id is not None

    async def _claim(s: AsyncSession) -> str:
        found = await s.get(m.AutoAllocatedTopology, project_id)
        if found is not None:
            return found.network_id
        row = m.AutoAllocatedTopology(
            project_id=project_id, network_id=built.network_id, router_id=built.router_id
        )
        try:
            async with s.begin_nested():
                s.add(row)
                await s.flush()
        except IntegrityError:
            found = await s.get(m.AutoAllocatedTopology, project_id, populate_existing=True)
            if found is None:
                raise
            return found.network_id
        return row.network_id

    winner = await svc.tx(_claim)
    if winner != built.network_id:
        LOG.debug("project %s got its topology from a concurrent request", project_id)
        await _cleanup(svc, ctx, built.network_id, built.router_id, built.subnet_ids)
        return winner
    await networks.update_network(svc, ctx, winner, {"admin_state_up": True})
    return winner


async def delete_topology(svc: NetworkService, ctx: RequestContext, project_id: str) -> None:
    """Remove the project's topology; 409 while servers still have ports on its network."""
    project_id = _validate(ctx, project_id)
    target = {"project_id": project_id}
    if not policy.check(ctx, "delete_auto_allocated_topology", target):
        if not policy.check(ctx, "get_auto_allocated_topology", target):
            raise errors.NotFound("The resource could not be found.")
        policy.enforce(ctx, "delete_auto_allocated_topology", target)
    async with svc.db.session() as s:
        found = await s.get(m.AutoAllocatedTopology, project_id)
        if found is None:
            return
        subnet_ids = list(
            await s.scalars(select(m.Subnet.id).where(m.Subnet.network_id == found.network_id))
        )
        # Refused before anything goes, rather than halfway with the router already gone.
        in_use = await s.scalar(
            select(m.Port.id)
            .where(
                m.Port.network_id == found.network_id,
                m.Port.device_owner.not_in(networks.AUTO_DELETE_OWNERS),
                ~(
                    (m.Port.device_owner == l3_ports.ROUTER_INTERFACE)
                    & (m.Port.device_id == (found.router_id or ""))
                ),
            )
            .limit(1)
        )
    if in_use is not None:
        raise faults.NetworkInUse(found.network_id)
    await _cleanup(svc, _cloud(project_id), found.network_id, found.router_id, subnet_ids)


async def _ignore_not_found(step: Awaitable[object]) -> None:
    """Run a removal that a concurrent one may have done already."""
    with contextlib.suppress(errors.NotFound):
        await step


async def _cleanup(
    svc: NetworkService,
    ctx: RequestContext,
    network_id: str | None,
    router_id: str | None,
    subnet_ids: list[str],
) -> None:
    """Remove a topology's router interfaces, router and network (its subnets go with it)."""
    if router_id:
        for subnet_id in subnet_ids:
            await _ignore_not_found(
                router_interfaces.remove_interface(svc, ctx, router_id, {"subnet_id": subnet_id})
            )
        await _ignore_not_found(routers.delete_router(svc, ctx, router_id))
    if network_id:
        # The project's row goes with its network (ON DELETE CASCADE).
        await _ignore_not_found(networks.delete_network(svc, ctx, network_id))
