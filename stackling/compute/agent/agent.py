"""One compute host: registers itself, reconciles on start-up, then converges each instance.

A message names an instance; the agent reads its row and does what the row
asks (build, an action's task_state, delete), so a repeated message or a
restart halfway converges to the same result. On start-up it lists the
domains it owns: domains without a live instance are destroyed, instances
whose domain vanished are repaired, and every unfinished task is resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.compute import models as m
from stackling.compute import states
from stackling.compute.agent import interfaces, volumes, work
from stackling.compute.agent.images import ImageCache
from stackling.compute.drivers.base import ComputeDriver, PowerState
from stackling.compute.drivers.console import ConsoleStream
from stackling.compute.service.core import ComputeService, host_topic
from stackling.reconcile.queue import KeyedQueue

LOG = logging.getLogger(__name__)

HEARTBEAT_S = 10.0


class ComputeAgent:
    """The agent of one compute host and its driver."""

    def __init__(self, svc: ComputeService, driver: ComputeDriver, host: str) -> None:
        self.svc = svc
        self.driver = driver
        self.host = host
        root = svc.settings.data_dir / "compute"
        self.config_drives = root / "config-drives"
        self.images = ImageCache(
            root / "_base", svc.peer("image") if svc.has_peer("image") else None
        )
        self.node_uuid = ""
        self.queue = KeyedQueue(
            self.reconcile, concurrency=svc.conf.max_concurrent_actions, name=f"compute:{host}"
        )
        self._heartbeat: asyncio.Task[None] | None = None
        # One interactive console per instance: a new client takes over from the last.
        self._consoles: dict[str, ConsoleStream] = {}
        # NIC hot-plugs one at a time: two attaches must not race for the same PCI slot.
        self._nic_changes = asyncio.Lock()
        # Volume hot-plugs, one at a time per instance.
        self._disk_changes: dict[str, asyncio.Lock] = {}

    # -- life cycle -------------------------------------------------------

    async def start(self) -> None:
        """Connect the driver, register the host, repair drift, then serve its topic."""
        await self.driver.start(self._on_power_event)
        await self.images.sweep_partials()
        await self._register()
        self.svc.bus.serve(host_topic(self.host), self._on_message)
        await self._recover()
        self._heartbeat = asyncio.create_task(self._beat(), name=f"heartbeat:{self.host}")

    async def stop(self) -> None:
        """Stop working; guests keep running."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await self.queue.close()
        for console in list(self._consoles.values()):
            await console.close()
        await self.driver.stop()

    async def _register(self) -> None:
        """The host's service and node rows, and its resource provider with real inventory."""
        info = await self.driver.host_info()
        conf = self.svc.conf

        async def _upsert(s: AsyncSession) -> str:
            now = m.now()
            service = await s.scalar(
                select(m.ComputeService).where(
                    m.ComputeService.host == self.host, m.ComputeService.binary == "nova-compute"
                )
            )
            if service is None:
                s.add(
                    m.ComputeService(
                        uuid=new_uuid(), host=self.host, binary="nova-compute", topic="compute",
                        last_seen_up=now, created_at=now,
                    )
                )  # fmt: skip
            else:
                service.last_seen_up = now
                service.updated_at = now
            node = await s.scalar(select(m.ComputeNode).where(m.ComputeNode.host == self.host))
            if node is None:
                node = m.ComputeNode(uuid=new_uuid(), host=self.host, created_at=now)
                s.add(node)
            node.hypervisor_hostname = self.host
            node.hypervisor_type = info.hypervisor_type
            node.hypervisor_version = info.hypervisor_version
            node.vcpus = info.vcpus
            node.memory_mb = info.memory_mb
            node.local_gb = info.disk_gb
            node.host_ip = info.host_ip
            node.cpu_info = dict(info.cpu_info)
            node.updated_at = now
            await s.flush()
            return node.uuid

        self.node_uuid = await self.svc.tx(_upsert)
        await self.svc.peer("placement").ensure_provider(
            uuid=self.node_uuid,
            name=self.host,
            inventories={
                "VCPU": {"total": info.vcpus, "allocation_ratio": conf.cpu_allocation_ratio},
                "MEMORY_MB": {
                    "total": info.memory_mb,
                    "reserved": min(conf.reserved_host_memory_mb, info.memory_mb - 1),
                    "allocation_ratio": conf.ram_allocation_ratio,
                },
                "DISK_GB": {
                    "total": info.disk_gb,
                    "reserved": min(math.ceil(conf.reserved_host_disk_mb / 1024), info.disk_gb - 1),
                    "allocation_ratio": conf.disk_allocation_ratio,
                },
            },
            traits={"COMPUTE_NET_ATTACH_INTERFACE", "COMPUTE_VOLUME_ATTACH_WITH_TAG"},
        )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self.svc.tx(self._touch)
            except Exception:
                LOG.exception("heartbeat of %s failed", self.host)

    async def _touch(self, s: AsyncSession) -> None:
        await s.execute(
            update(m.ComputeService)
            .where(m.ComputeService.host == self.host, m.ComputeService.binary == "nova-compute")
            .values(last_seen_up=m.now())
        )

    # -- start-up reconciliation -------------------------------------------

    async def _recover(self) -> None:
        """Destroy orphaned domains, repair instances, resume unfinished tasks, fix claims."""
        present = {info.uuid for info in await self.driver.list_instances()}
        async with self.svc.db.session() as s:
            mine = list(
                (
                    await s.scalars(
                        select(m.Instance).where(
                            m.Instance.host == self.host, m.Instance.deleted.is_(False)
                        )
                    )
                ).all()
            )
        live = {inst.uuid for inst in mine}
        for orphan in present - live:
            LOG.warning("destroying domain %s: no live instance owns it", orphan)
            await self.driver.destroy(orphan)
            await work.remove_config_drive(self, orphan)
        for inst in mine:
            try:
                await volumes.recover(self, inst)
            except Exception:
                LOG.exception("recovering the volumes of %s failed", inst.uuid)
            self.queue.submit(inst.uuid)
        await self._fix_allocations(mine)

    async def _fix_allocations(self, mine: list[m.Instance]) -> None:
        """Claims match live instances: stray ones are given back, missing ones made again."""
        from stackling.compute.service.scheduler import resources_of

        placement = self.svc.peer("placement")
        async with self.svc.db.session() as s:
            # Servers being placed right now (no host yet) hold claims the conductor just
            # made on this host: only deleted, failed or unknown consumers are strays.
            live = set(
                (
                    await s.scalars(
                        select(m.Instance.uuid).where(
                            m.Instance.deleted.is_(False),
                            m.Instance.vm_state != states.ERROR,
                            (m.Instance.host == self.host) | m.Instance.host.is_(None),
                        )
                    )
                ).all()
            )
            migrations = set(
                (
                    await s.scalars(
                        select(m.Migration.uuid).where(
                            m.Migration.status.in_(("pre-migrating", "migrating", "finished"))
                        )
                    )
                ).all()
            )
        for consumer in await placement.provider_consumers(self.node_uuid):
            if consumer not in live and consumer not in migrations:
                LOG.warning(
                    "releasing allocation of %s on %s: no live instance", consumer, self.host
                )
                await placement.delete_allocations(consumer)
        for inst in mine:
            if inst.vm_state != states.ERROR and not await placement.get_allocations(inst.uuid):
                LOG.warning(
                    "claiming again for %s on %s: it had no allocation", inst.uuid, self.host
                )
                await placement.claim(
                    consumer_uuid=inst.uuid,
                    project_id=inst.project_id,
                    user_id=inst.user_id,
                    allocations={self.node_uuid: resources_of(inst.flavor)},
                )

    # -- messages and events -------------------------------------------------

    async def _on_message(self, message: dict[str, Any]) -> Any:
        call = message.get("call")
        uuid = str(message["instance"])
        if call == "console_output":
            return await work.console_output(self, uuid)
        if call == "diagnostics":
            return await self.driver.diagnostics(uuid)
        if call == "attach_interface":
            async with self._nic_changes:
                return await interfaces.attach(self, uuid, dict(message.get("want") or {}))
        if call == "detach_interface":
            async with self._nic_changes:
                return await interfaces.detach(self, uuid, str(message.get("port_id")))
        if call in ("attach_volume", "detach_volume", "extend_volume"):
            return await self._volume_call(call, uuid, message)
        self.queue.submit(uuid)
        return None

    async def _volume_call(self, call: str, uuid: str, message: dict[str, Any]) -> Any:
        # One disk change per instance at a time: two attaches must not pick one slot.
        async with self._volume_lock(uuid):
            if call == "attach_volume":
                return await volumes.attach(self, uuid, str(message.get("bdm")))
            if call == "detach_volume":
                return await volumes.detach(self, uuid, str(message.get("volume_id")))
            return await volumes.extend(
                self, uuid, str(message.get("volume_id")), int(message.get("size_bytes") or 0)
            )

    def _volume_lock(self, uuid: str) -> asyncio.Lock:
        return self._disk_changes.setdefault(uuid, asyncio.Lock())

    async def open_console(self, uuid: str) -> ConsoleStream:
        """The instance's serial console, taken from whoever held it before."""
        previous = self._consoles.pop(uuid, None)
        if previous is not None:
            await previous.close()
        console = self._consoles[uuid] = await self.driver.open_console(uuid)
        return console

    async def close_console(self, uuid: str, console: ConsoleStream) -> None:
        """Give the console back (a no-op if another client has taken it since)."""
        if self._consoles.get(uuid) is console:
            del self._consoles[uuid]
        await console.close()

    async def _on_power_event(self, uuid: str, power: PowerState) -> None:
        """The hypervisor says an instance changed: reconcile it (power sync happens there)."""
        self.queue.submit(uuid)

    async def drain(self) -> None:
        """Wait until no instance is being worked on (for tests)."""
        await self.queue.drain()

    # -- the reconciler --------------------------------------------------------

    async def reconcile(self, uuid: str) -> None:
        """Converge one instance toward its row."""
        async with self.svc.db.session() as s:
            instance = await s.scalar(select(m.Instance).where(m.Instance.uuid == uuid))
        if instance is None or (instance.deleted and instance.host == self.host):
            await self.driver.destroy(uuid)
            await work.remove_config_drive(self, uuid)
            return
        if instance.host != self.host:
            return
        if instance.task_state == states.DELETING:
            await work.delete(self, instance)
        elif instance.task_state == states.SPAWNING and instance.vm_state in (
            states.BUILDING,
            states.SHELVED_OFFLOADED,
        ):
            await work.build(self, instance)
        elif instance.task_state is not None and instance.task_state in work.TASKS:
            await work.run_task(self, instance)
        elif instance.task_state is None:
            await work.sync_power(self, instance)

    def owner_context(self, instance: m.Instance) -> RequestContext:
        """A context acting for the instance's owner (to fetch and upload its images)."""
        return RequestContext(
            request_id=f"req-{new_uuid()}",
            user_id=instance.user_id,
            project_id=instance.project_id,
            roles=frozenset({"member", "reader"}),
        )
