"""The conductor: schedules servers recorded in BUILD and hands them to their hosts."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.compute import models as m
from stackling.compute import states
from stackling.compute.service import history, scheduler
from stackling.compute.service.core import CONDUCTOR_TOPIC, ComputeService, host_topic
from stackling.reconcile.queue import KeyedQueue

LOG = logging.getLogger(__name__)

# vm_state -> the task_state of a server waiting to be placed on a host.
_WAITING = {states.BUILDING: states.SCHEDULING, states.SHELVED_OFFLOADED: states.UNSHELVING}


class Conductor:
    """Serves the conductor topic: one scheduling pass per server, serial per server."""

    def __init__(self, svc: ComputeService) -> None:
        self.svc = svc
        self.queue = KeyedQueue(
            self._schedule, concurrency=svc.conf.max_concurrent_actions, name="conductor"
        )
        # Members of one group are placed one at a time, so two cannot both take the
        # same host under anti-affinity (or different ones under affinity).
        self._group_locks: dict[int, asyncio.Lock] = {}

    async def start(self) -> None:
        """Serve the topic and pick up servers a previous process left unscheduled."""
        self.svc.bus.serve(CONDUCTOR_TOPIC, self._on_message)
        async with self.svc.db.session() as s:
            waiting = await s.scalars(
                select(m.Instance.uuid).where(
                    m.Instance.deleted.is_(False),
                    m.Instance.host.is_(None),
                    m.Instance.task_state.in_(_WAITING.values()),
                )
            )
            for uuid in waiting:
                self.queue.submit(uuid)

    async def stop(self) -> None:
        """Stop scheduling."""
        await self.queue.close()

    async def _on_message(self, message: dict[str, Any]) -> None:
        self.queue.submit(str(message["instance"]))

    async def _schedule(self, uuid: str) -> None:
        async with self.svc.db.session() as s:
            instance = await s.scalar(select(m.Instance).where(m.Instance.uuid == uuid))
            group_id = await s.scalar(
                select(m.ServerGroupMember.group_id).where(
                    m.ServerGroupMember.instance_uuid == uuid
                )
            )
        if (
            instance is None
            or instance.deleted
            or _WAITING.get(instance.vm_state) != instance.task_state
            or instance.host is not None
        ):
            return
        if group_id is None:
            await self._place(instance)
            return
        lock = self._group_locks.setdefault(group_id, asyncio.Lock())
        async with lock:
            await self._place(instance)

    async def _place(self, instance: m.Instance) -> None:
        svc = self.svc
        try:
            choice = await scheduler.select_and_claim(svc, instance)
        except scheduler.NoValidHost as exc:
            await self._fail(instance.uuid, exc)
            return

        async def _assign(s: AsyncSession) -> bool:
            result = await s.execute(
                update(m.Instance)
                .where(
                    m.Instance.uuid == instance.uuid,
                    m.Instance.deleted.is_(False),
                    m.Instance.task_state == instance.task_state,
                )
                .values(
                    host=choice.host,
                    node=choice.node,
                    availability_zone=instance.availability_zone
                    or await _zone(s, svc, choice.host),
                    task_state=states.SPAWNING,
                    updated_at=m.now(),
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

        if await svc.tx(_assign):
            await svc.bus.cast(host_topic(choice.host), {"instance": instance.uuid})
        else:
            # Deleted while we chose: give the claim back.
            await svc.peer("placement").delete_allocations(instance.uuid)

    async def _fail(self, uuid: str, exc: Exception) -> None:
        async def _error(s: AsyncSession) -> None:
            # A new server that fits nowhere is in ERROR; one being unshelved stays shelved.
            result = await s.execute(
                update(m.Instance)
                .where(m.Instance.uuid == uuid, m.Instance.task_state == states.SCHEDULING)
                .values(vm_state=states.ERROR, task_state=None, updated_at=m.now())
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                result = await s.execute(
                    update(m.Instance)
                    .where(m.Instance.uuid == uuid, m.Instance.task_state == states.UNSHELVING)
                    .values(task_state=None, updated_at=m.now())
                )
            if result.rowcount:  # type: ignore[attr-defined]
                history.add_fault(s, uuid, str(exc), code=500, details=str(exc))
                await history.record_event(
                    s, uuid, "conductor_schedule_and_build_instances", "conductor", error=exc
                )

        await self.svc.tx(_error)
        LOG.info("instance %s: %s", uuid, exc)


async def _zone(s: AsyncSession, svc: ComputeService, host: str) -> str:
    from stackling.compute.service import aggregates

    return await aggregates.host_zone(s, svc, host)
