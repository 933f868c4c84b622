"""What the agent does to one instance: build, each action's task, delete, power sync."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.compute import models as m
from stackling.compute import states
from stackling.compute.agent import boot_volumes, volumes
from stackling.compute.agent.spec import instance_spec, metadata_source
from stackling.compute.drivers.base import DriverError, InstanceNotFound, PowerState
from stackling.compute.metadata.configdrive import build_config_drive
from stackling.compute.metadata.tree import config_drive_files
from stackling.compute.metadata.vifs import vifs_from_network_info
from stackling.compute.service import history, networking
from stackling.compute.service.servers import finish_delete

if TYPE_CHECKING:
    from stackling.compute.agent.agent import ComputeAgent

LOG = logging.getLogger(__name__)

# Console output is capped like Nova's (it reads at most the last 100 KiB).
CONSOLE_MAX_BYTES = 100 * 1024


# -- helpers -------------------------------------------------------------------


def config_drive_path(agent: ComputeAgent, uuid: str) -> Path:
    """Where an instance's config drive is kept."""
    return agent.config_drives / f"{uuid}.iso"


async def remove_config_drive(agent: ComputeAgent, uuid: str) -> None:
    """Delete an instance's config drive; absent is fine."""
    await asyncio.to_thread(config_drive_path(agent, uuid).unlink, missing_ok=True)


async def _metadata_items(agent: ComputeAgent, uuid: str) -> dict[str, str]:
    async with agent.svc.db.session() as s:
        rows = await s.scalars(
            select(m.InstanceMetadata).where(m.InstanceMetadata.instance_uuid == uuid)
        )
        return {row.key: row.value for row in rows}


async def _prepare(agent: ComputeAgent, instance: m.Instance, *, flavor: dict | None = None) -> Any:
    """Fetch the base image and write the config drive; the driver's spec."""
    ctx = agent.owner_context(instance)
    image_id = (instance.task_args or {}).get("shelved_image_id") or instance.image_ref
    image_path = await agent.images.fetch(ctx, image_id) if image_id else None
    drive = None
    if instance.config_drive and agent.driver.reads_config_drive:
        drive = config_drive_path(agent, instance.uuid)
        if not drive.exists() or instance.admin_password is not None:
            source = metadata_source(
                instance,
                await _metadata_items(agent, instance.uuid),
                instance.admin_password,
                vifs=vifs_from_network_info(instance.network_info),
            )
            await asyncio.to_thread(agent.config_drives.mkdir, parents=True, exist_ok=True)
            await build_config_drive(config_drive_files(source), drive)
    # Attached volumes come back with the domain (a hard reboot or rebuild keeps them).
    disks = await volumes.instance_volumes(agent, instance.uuid)
    return instance_spec(
        instance, image_path=image_path, config_drive=drive, flavor=flavor, volumes=disks
    )


async def _finish(
    agent: ComputeAgent,
    uuid: str,
    expected_task: str | None,
    event: str,
    values: dict[str, Any],
    error: BaseException | None = None,
) -> bool:
    """Compare-and-set the row out of `expected_task`, with the action's event; False if lost."""

    async def _set(s: AsyncSession) -> bool:
        result = await s.execute(
            update(m.Instance)
            .where(
                m.Instance.uuid == uuid,
                m.Instance.deleted.is_(False),
                m.Instance.task_state == expected_task
                if expected_task is not None
                else m.Instance.task_state.is_(None),
            )
            .values(updated_at=m.now(), **values)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        if error is not None:
            history.add_fault(
                s, uuid, _message(error), code=500, details=_message(error), host=agent.host
            )
        await history.record_event(s, uuid, event, agent.host, error=error)
        return True

    return await agent.svc.tx(_set)


def _message(error: BaseException) -> str:
    return str(error) or type(error).__name__


async def _power(agent: ComputeAgent, uuid: str) -> int:
    try:
        return int(await agent.driver.power_state(uuid))
    except InstanceNotFound:
        return int(PowerState.NOSTATE)


# -- build and delete --------------------------------------------------------------


def _failed_build_values(instance: m.Instance) -> dict[str, Any]:
    """A failed build is an ERROR; a failed unshelve leaves the server shelved, off any host."""
    if instance.vm_state == states.SHELVED_OFFLOADED:
        return {"task_state": None, "host": None, "node": None, "power_state": 0}
    return {
        "vm_state": states.ERROR,
        "task_state": None,
        "admin_password": None,
        "power_state": 0,
        "network_info": [],
    }


async def delete_shelved_image(svc: Any, ctx: Any, image_id: str) -> None:
    """Remove a shelved snapshot once the server no longer needs it (absent is fine)."""
    from stackling.common import errors
    from stackling.image.service import images as image_api

    with contextlib.suppress(errors.NotFound):
        await image_api.delete_image(svc.peer("image"), ctx, image_id)


async def build(agent: ComputeAgent, instance: m.Instance) -> None:
    """Spawn the guest; ACTIVE when it runs, ERROR with a fault when it cannot."""
    try:
        await networking.allocate(agent.svc, instance, agent.host)
        await boot_volumes.prepare(agent, instance)
        spec = await _prepare(agent, instance)
        await agent.driver.spawn(spec)
        await boot_volumes.complete(agent, instance)
    except Exception as exc:
        LOG.warning("build of %s on %s failed: %s", instance.uuid, agent.host, exc)
        with_context = DriverError(f"Build of instance {instance.uuid} aborted: {_message(exc)}")
        await agent.driver.destroy(instance.uuid)
        await boot_volumes.give_back(agent, instance)
        if instance.vm_state != states.SHELVED_OFFLOADED:
            # As Nova: a server that failed to build keeps no ports.
            await networking.release(agent.svc, instance)
        # Resources go back before the server shows ERROR; a crash in between leaves a
        # build without a claim, which start-up recovery claims again.
        await agent.svc.peer("placement").delete_allocations(instance.uuid)
        await _finish(
            agent,
            instance.uuid,
            states.SPAWNING,
            "compute__do_build_and_run_instance",
            _failed_build_values(instance),
            error=with_context,
        )
        return
    await networking.plugged(agent.svc, instance)
    shelved_image = (instance.task_args or {}).get("shelved_image_id")
    if shelved_image:
        # Unshelved: the snapshot has done its job (this host keeps a cached copy).
        await delete_shelved_image(agent.svc, agent.owner_context(instance), shelved_image)
    done = await _finish(
        agent,
        instance.uuid,
        states.SPAWNING,
        "compute_unshelve_instance" if shelved_image else "compute__do_build_and_run_instance",
        {
            "vm_state": states.ACTIVE,
            "task_state": None,
            "task_args": {},
            "power_state": await _power(agent, instance.uuid),
            "launched_at": m.now(),
            "admin_password": None,
        },
    )
    if not done:
        # Deleted (or reset) while building: the delete path cleans up; reconcile again.
        agent.queue.submit(instance.uuid)


async def delete(agent: ComputeAgent, instance: m.Instance) -> None:
    """Tear the guest down and mark the instance deleted; allocations are given back."""
    await agent.driver.destroy(instance.uuid)
    await remove_config_drive(agent, instance.uuid)
    # Volumes are freed (and deleted where asked) before the row says deleted: a crash
    # in between deletes again and finds the mappings left.
    await volumes.release_all(agent, instance)

    async def _done(s: AsyncSession) -> None:
        row = await s.scalar(
            select(m.Instance).where(m.Instance.uuid == instance.uuid).with_for_update()
        )
        if row is None or row.deleted:
            return
        await history.record_event(s, row.uuid, "compute_terminate_instance", agent.host)
        await finish_delete(s, row)

    # Ports go before the row says deleted: a crash in between deletes again, and finds them.
    await networking.release(agent.svc, instance)
    await agent.svc.tx(_done)
    await agent.svc.peer("placement").delete_allocations(instance.uuid)
    async with agent.svc.db.session() as s:
        migrations = await s.scalars(
            select(m.Migration.uuid).where(m.Migration.instance_uuid == instance.uuid)
        )
        for migration in migrations:
            await agent.svc.peer("placement").delete_allocations(migration)


# -- actions -----------------------------------------------------------------------

Task = Callable[["ComputeAgent", m.Instance], Awaitable[dict[str, Any]]]


async def _ensure_domain(agent: ComputeAgent, instance: m.Instance) -> None:
    """Recreate a vanished domain from the row (Nova's hard reboot does the same)."""
    try:
        await agent.driver.power_state(instance.uuid)
    except InstanceNotFound:
        await agent.driver.spawn(await _prepare(agent, instance))


async def _reboot(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
    hard = instance.task_state == states.REBOOTING_HARD
    await _ensure_domain(agent, instance)
    await agent.driver.reboot(instance.uuid, hard=hard)
    return {}


async def _power_off(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
    with contextlib.suppress(InstanceNotFound):
        await agent.driver.power_off(instance.uuid, agent.svc.conf.shutdown_timeout_s)
    return {}


async def _power_on(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
    try:
        await agent.driver.power_on(instance.uuid)
    except InstanceNotFound:
        await agent.driver.spawn(await _prepare(agent, instance))
    return {}


def _simple(method: str) -> Task:
    async def run(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
        await getattr(agent.driver, method)(instance.uuid)
        return {}

    return run


async def _rescue(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
    spec = await _prepare(agent, instance)
    image = spec.image_path
    if image is None:
        raise DriverError("The instance has no image to rescue it with.")
    await agent.driver.rescue(spec, image, spec.image_format)
    return {}


async def _unrescue(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
    await agent.driver.unrescue(await _prepare(agent, instance))
    return {}


async def _snapshot(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
    from stackling.image.service import data as image_data

    image_id = str(instance.task_args.get("image_id"))
    tmp = agent.config_drives.parent / "snapshots" / f"{image_id}.qcow2"
    await asyncio.to_thread(tmp.parent.mkdir, parents=True, exist_ok=True)
    try:
        await agent.driver.snapshot(instance.uuid, tmp)
        size = (await asyncio.to_thread(tmp.stat)).st_size
        await image_data.upload(
            agent.svc.peer("image"), agent.owner_context(instance), image_id, _chunks(tmp), size
        )
    finally:
        await asyncio.to_thread(tmp.unlink, missing_ok=True)
    if "rotation" in instance.task_args:
        await _rotate_backups(agent, instance)
    return {}


async def _shelve(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
    """Snapshot, then remove the guest from this host and give its resources back."""
    await _snapshot(agent, instance)
    await _power_off(agent, instance)
    await agent.driver.destroy(instance.uuid)
    await remove_config_drive(agent, instance.uuid)
    await networking.unbind(agent.svc, instance)
    await agent.svc.peer("placement").delete_allocations(instance.uuid)
    return {
        "host": None,
        "node": None,
        "task_args": {"shelved_image_id": instance.task_args.get("image_id")},
    }


async def _rotate_backups(agent: ComputeAgent, instance: m.Instance) -> None:
    """Keep the newest `rotation` backups of the server's backup type; delete the rest."""
    from stackling.image.service import images as image_api

    ctx = agent.owner_context(instance)
    image_svc = agent.svc.peer("image")
    records, _ = await image_api.list_images(
        image_svc,
        ctx,
        [
            ("instance_uuid", instance.uuid),
            ("image_type", "backup"),
            ("backup_type", str(instance.task_args.get("backup_type"))),
            ("sort_key", "created_at"),
            ("sort_dir", "desc"),
            ("limit", "1000"),
        ],
    )
    records.sort(key=lambda r: r.properties.get("backup_created_at", ""), reverse=True)
    for record in records[int(instance.task_args["rotation"]) :]:
        await image_api.delete_image(image_svc, ctx, record.image.id)


async def _chunks(path: Path) -> Any:
    fd = await asyncio.to_thread(os.open, path, os.O_RDONLY)
    try:
        while chunk := await asyncio.to_thread(os.read, fd, 1 << 20):
            yield chunk
    finally:
        os.close(fd)


async def _resize(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
    placement = agent.svc.peer("placement")
    new = instance.new_flavor or instance.flavor
    migration = await _migration(agent, instance.uuid, "pre-migrating")
    if migration is not None:
        from stackling.compute.service.scheduler import resources_of

        await placement.move_allocations(
            source_consumer=instance.uuid, target_consumer=migration.uuid,
            project_id=instance.project_id, user_id=instance.user_id,
        )  # fmt: skip
        try:
            await placement.claim(
                consumer_uuid=instance.uuid, project_id=instance.project_id,
                user_id=instance.user_id, allocations={agent.node_uuid: resources_of(new)},
            )  # fmt: skip
        except Exception:
            await placement.move_allocations(
                source_consumer=migration.uuid, target_consumer=instance.uuid,
                project_id=instance.project_id, user_id=instance.user_id,
            )  # fmt: skip
            await _set_migration(agent, migration.uuid, "error")
            raise
    was_running = await _power(agent, instance.uuid) == PowerState.RUNNING
    await _power_off(agent, instance)
    await agent.driver.resize(await _prepare(agent, instance, flavor=new))
    if was_running:
        await agent.driver.power_on(instance.uuid)
    if migration is not None:
        await _set_migration(agent, migration.uuid, "finished")
    return {"flavor": new, "old_flavor": instance.flavor, "new_flavor": None,
            "task_args": {"was_running": was_running}}  # fmt: skip


async def _confirm_resize(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
    migration = await _migration(agent, instance.uuid, "finished")
    if migration is not None:
        await agent.svc.peer("placement").delete_allocations(migration.uuid)
        await _set_migration(agent, migration.uuid, "confirmed")
    running = await _power(agent, instance.uuid) == PowerState.RUNNING
    return {"old_flavor": None, "vm_state": states.ACTIVE if running else states.STOPPED}


async def _revert_resize(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
    old = instance.old_flavor or instance.flavor
    was_running = await _power(agent, instance.uuid) == PowerState.RUNNING
    await _power_off(agent, instance)
    # Disks only grow: the reverted guest keeps the larger root disk.
    keep_disk = dict(
        old, disk=max(int(old.get("disk") or 0), int(instance.flavor.get("disk") or 0))
    )
    await agent.driver.resize(await _prepare(agent, instance, flavor=keep_disk))
    if was_running:
        await agent.driver.power_on(instance.uuid)
    migration = await _migration(agent, instance.uuid, "finished")
    if migration is not None:
        placement = agent.svc.peer("placement")
        await placement.delete_allocations(instance.uuid)
        await placement.move_allocations(
            source_consumer=migration.uuid, target_consumer=instance.uuid,
            project_id=instance.project_id, user_id=instance.user_id,
        )  # fmt: skip
        await _set_migration(agent, migration.uuid, "reverted")
    return {
        "flavor": old,
        "old_flavor": None,
        "vm_state": states.ACTIVE if was_running else states.STOPPED,
    }


async def _rebuild(agent: ComputeAgent, instance: m.Instance) -> dict[str, Any]:
    was_stopped = instance.vm_state == states.STOPPED
    await agent.driver.destroy(instance.uuid)
    await remove_config_drive(agent, instance.uuid)
    await agent.driver.spawn(await _prepare(agent, instance))
    if was_stopped:
        await agent.driver.power_off(instance.uuid, 0)
    return {"vm_state": states.STOPPED if was_stopped else states.ACTIVE, "launched_at": m.now()}


async def _migration(agent: ComputeAgent, uuid: str, status: str) -> m.Migration | None:
    async with agent.svc.db.session() as s:
        return await s.scalar(
            select(m.Migration)
            .where(m.Migration.instance_uuid == uuid, m.Migration.status == status)
            .order_by(m.Migration.id.desc())
            .limit(1)
        )


async def _set_migration(agent: ComputeAgent, uuid: str, status: str) -> None:
    async def _set(s: AsyncSession) -> None:
        await s.execute(
            update(m.Migration)
            .where(m.Migration.uuid == uuid)
            .values(status=status, updated_at=m.now())
        )

    await agent.svc.tx(_set)


TASKS: dict[str, tuple[Task, str]] = {
    states.REBOOTING: (_reboot, "compute_reboot_instance"),
    states.REBOOTING_HARD: (_reboot, "compute_reboot_instance"),
    states.POWERING_OFF: (_power_off, "compute_stop_instance"),
    states.POWERING_ON: (_power_on, "compute_start_instance"),
    states.PAUSING: (_simple("pause"), "compute_pause_instance"),
    states.UNPAUSING: (_simple("unpause"), "compute_unpause_instance"),
    states.SUSPENDING: (_simple("suspend"), "compute_suspend_instance"),
    states.RESUMING: (_simple("resume"), "compute_resume_instance"),
    states.RESCUING: (_rescue, "compute_rescue_instance"),
    states.UNRESCUING: (_unrescue, "compute_unrescue_instance"),
    states.IMAGE_SNAPSHOT: (_snapshot, "compute_snapshot_instance"),
    states.RESIZE_PREP: (_resize, "compute_resize_instance"),
    states.RESIZE_CONFIRMING: (_confirm_resize, "compute_confirm_resize"),
    states.RESIZE_REVERTING: (_revert_resize, "compute_revert_resize"),
    states.REBUILDING: (_rebuild, "compute_rebuild_instance"),
    states.SHELVING: (_shelve, "compute_shelve_offload_instance"),
}


async def run_task(agent: ComputeAgent, instance: m.Instance) -> None:
    """Do what the instance's task_state asks; its vm_state follows states.FINAL_VM_STATE."""
    task = instance.task_state or ""
    run, event = TASKS[task]
    try:
        values = await run(agent, instance)
    except Exception as exc:
        LOG.warning("%s of %s failed: %s", task, instance.uuid, exc)
        await _finish(
            agent, instance.uuid, task, event,
            {"task_state": None, "power_state": await _power(agent, instance.uuid)},
            error=exc,
        )  # fmt: skip
        return
    final = states.FINAL_VM_STATE.get(task)
    if final is not None:
        values.setdefault("vm_state", final)
    values.setdefault("task_args", {})
    values["task_state"] = None
    values["power_state"] = await _power(agent, instance.uuid)
    await _finish(agent, instance.uuid, task, event, values)


# -- power sync ---------------------------------------------------------------------


async def sync_power(agent: ComputeAgent, instance: m.Instance) -> None:
    """Record the hypervisor's power state; a guest that stopped by itself becomes SHUTOFF."""
    power = await _power(agent, instance.uuid)
    values: dict[str, Any] = {}
    if power != instance.power_state:
        values["power_state"] = power
    stopped = power in (PowerState.SHUTDOWN, PowerState.CRASHED, PowerState.NOSTATE)
    if instance.vm_state == states.ACTIVE and stopped:
        # Nova's power sync: a guest that is off is a stopped server.
        values["vm_state"] = states.STOPPED
    elif instance.vm_state == states.STOPPED and power == PowerState.RUNNING:
        values["vm_state"] = states.ACTIVE
    if not values:
        return

    async def _set(s: AsyncSession) -> None:
        await s.execute(
            update(m.Instance)
            .where(
                m.Instance.uuid == instance.uuid,
                m.Instance.task_state.is_(None),
                m.Instance.deleted.is_(False),
            )
            .values(updated_at=m.now(), **values)
        )

    await agent.svc.tx(_set)


async def console_output(agent: ComputeAgent, uuid: str) -> str:
    """The instance's serial console log (its last 100 KiB)."""
    try:
        return await agent.driver.console_output(uuid, CONSOLE_MAX_BYTES)
    except InstanceNotFound:
        return ""
