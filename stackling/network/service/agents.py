"""The agents resource: each host's data-plane agent, its heartbeat and whether it is alive.

Agents register themselves (`network.agent`); admins may list and show them,
take one out of service (admin_state_up), describe it, or delete the row of
one that is gone. Others see none, as in Neutron.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.network import faults, policy
from stackling.network import models as m
from stackling.network.service import listing, scope
from stackling.network.service.core import NetworkService

# Neutron's agent_down_time: a heartbeat older than this means the agent is dead.
AGENT_DOWN_S = 75

LISTING = listing.Listing(
    model=m.Agent,
    columns={
        "id": m.Agent.id,
        "agent_type": m.Agent.agent_type,
        "binary": m.Agent.binary,
        "topic": m.Agent.topic,
        "host": m.Agent.host,
        "admin_state_up": m.Agent.admin_state_up,
        "availability_zone": m.Agent.availability_zone,
        "description": m.Agent.description,
    },
    not_found=faults.AgentNotFound,
)

_UPDATABLE = ("admin_state_up", "description")


def is_alive(agent: m.Agent, now: dt.datetime | None = None) -> bool:
    """Whether the agent's last heartbeat is recent enough."""
    beat = agent.heartbeat_timestamp
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return (now - beat).total_seconds() < AGENT_DOWN_S


async def list_agents(
    svc: NetworkService, ctx: RequestContext, query: listing.ListQuery
) -> list[m.Agent]:
    """The agents matching `query` (none for non-admins)."""
    async with svc.db.session() as s:
        return await listing.fetch(s, ctx, LISTING, query)


async def show_agent(svc: NetworkService, ctx: RequestContext, agent_id: str) -> m.Agent:
    """One agent (404 for non-admins)."""
    async with svc.db.session() as s:
        return await scope.load(s, ctx, m.Agent, agent_id, faults.AgentNotFound)


async def create_agent(svc: NetworkService, ctx: RequestContext, body: dict[str, Any]) -> m.Agent:
    """Agents register themselves; the API cannot create one."""
    raise faults.BadRequest("agent", "Agents are created by the agents themselves")


async def update_agent(
    svc: NetworkService,
    ctx: RequestContext,
    agent_id: str,
    body: dict[str, Any],
    revision: int | None = None,
) -> m.Agent:
    """Change an agent's admin_state_up or description."""

    async def _update(s: AsyncSession) -> m.Agent:
        agent = await scope.load(s, ctx, m.Agent, agent_id, faults.AgentNotFound, for_update=True)
        policy.enforce(ctx, "update_agent")
        for key in _UPDATABLE:
            if key in body:
                setattr(agent, key, body[key])
        await s.flush()
        return agent

    return await svc.tx(_update)


async def delete_agent(
    svc: NetworkService, ctx: RequestContext, agent_id: str, revision: int | None = None
) -> None:
    """Forget an agent's row (it registers again when it starts)."""

    async def _delete(s: AsyncSession) -> None:
        await scope.load(s, ctx, m.Agent, agent_id, faults.AgentNotFound, for_update=True)
        policy.enforce(ctx, "delete_agent")
        await s.execute(delete(m.Agent).where(m.Agent.id == agent_id))

    await svc.tx(_delete)
