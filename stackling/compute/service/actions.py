"""Server actions: check the state table, set the task with compare-and-set, tell the host."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute import states
from stackling.compute.faults import InvalidState, Locked
from stackling.compute.service import access, checks, history, lookup, quota
from stackling.compute.service.core import ComputeService, host_topic

# Extra work an action does on the locked row before its task is set.
Prepare = Callable[[AsyncSession, m.Instance], Awaitable[None]]

# Nova's names in os-instance-actions for our action keys.
ACTION_NAMES = {
    "reboot_hard": "reboot",
    "confirm_resize": "confirmResize",
    "revert_resize": "revertResize",
    "snapshot": "createImage",
    "shelve_offload": "shelveOffload",
}


def check_state(instance: m.Instance, action: str) -> states.Action:
    """The action's rule; 409 (Nova's InstanceInvalidState) when the server is not ready for it."""
    rule = states.ACTIONS[action]
    nova_name = ACTION_NAMES.get(action, action)
    if instance.vm_state not in rule.vm_states:
        raise InvalidState(nova_name, instance.uuid, "vm_state", instance.vm_state)
    if instance.task_state not in rule.task_states:
        raise InvalidState(nova_name, instance.uuid, "task_state", instance.task_state)
    return rule


def check_lock(ctx: RequestContext, instance: m.Instance) -> None:
    """409 when the server is locked and the caller is not an admin."""
    if instance.locked and not ctx.is_admin:
        raise Locked(instance.uuid)


async def begin(
    svc: ComputeService,
    ctx: RequestContext,
    uuid: str,
    action: str,
    *,
    task_args: dict[str, Any] | None = None,
    prepare: Prepare | None = None,
) -> m.Instance:
    """Start `action`: state checked and task set in one transaction, then the host is told."""
    access.require_member(ctx)

    async def _begin(s: AsyncSession) -> m.Instance:
        instance = await access.load_instance(s, ctx, uuid, for_update=True)
        check_lock(ctx, instance)
        rule = check_state(instance, action)
        if instance.host is None:
            raise InvalidState(
                ACTION_NAMES.get(action, action), uuid, "vm_state", instance.vm_state
            )
        if prepare is not None:
            await prepare(s, instance)
        instance.task_state = rule.task_state
        instance.task_args = dict(task_args or {})
        instance.updated_at = m.now()
        history.start_action(s, ctx, instance, ACTION_NAMES.get(action, action))
        return instance

    instance = await svc.tx(_begin)
    await svc.bus.cast(host_topic(instance.host or ""), {"instance": uuid})
    return instance


async def reboot(svc: ComputeService, ctx: RequestContext, uuid: str, kind: Any) -> None:
    """os-reboot: SOFT or HARD."""
    if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
        raise errors.BadRequest(
            f"Invalid input for field/attribute type. Value: {kind}. "
            f"{kind!r} is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']"
        )
    await begin(svc, ctx, uuid, "reboot_hard" if kind.upper() == "HARD" else "reboot")


async def set_lock(
    svc: ComputeService, ctx: RequestContext, uuid: str, locked: bool, reason: str | None = None
) -> None:
    """lock / unlock: only an admin may unlock a server someone else locked."""
    access.require_member(ctx)

    async def _set(s: AsyncSession) -> None:
        instance = await access.load_instance(s, ctx, uuid, for_update=True)
        if locked:
            instance.locked = True
            instance.locked_by = "admin" if ctx.is_admin else "owner"
            instance.locked_reason = reason
        else:
            if instance.locked_by == "admin" and not ctx.is_admin:
                raise errors.Forbidden(
                    "Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override "
                    "to be performed."
                )
            instance.locked = False
            instance.locked_by = None
            instance.locked_reason = None
        instance.updated_at = m.now()
        history.start_action(s, ctx, instance, "lock" if locked else "unlock")

    await svc.tx(_set)


async def resize(svc: ComputeService, ctx: RequestContext, uuid: str, flavor_ref: Any) -> None:
    """resize: a different flavor, quota for the growth, a migration record; the host resizes."""

    async def _prepare(s: AsyncSession, instance: m.Instance) -> None:
        flavor = await lookup.flavor_for_boot(s, ctx, flavor_ref)
        old = instance.flavor
        if flavor.flavorid == old["id"]:
            raise errors.BadRequest("When resizing, instances must change flavor!")
        if flavor.root_gb and flavor.root_gb < old["disk"]:
            raise errors.BadRequest("Resize error: Unable to resize disk down.")
        await quota.lock_project(s, instance.project_id)
        limits = await quota.limits_for(s, svc.conf, instance.project_id)
        used = await quota.instance_usage(s, instance.project_id)
        quota.check(limits["cores"], used["cores"], max(0, flavor.vcpus - old["vcpus"]), "cores")
        quota.check(limits["ram"], used["ram"], max(0, flavor.memory_mb - old["ram"]), "ram")
        instance.new_flavor = await lookup.flavor_snapshot(s, flavor)
        migration = m.Migration(
            uuid=new_uuid(),
            instance_uuid=instance.uuid,
            project_id=instance.project_id,
            user_id=instance.user_id,
            source_compute=instance.host,
            dest_compute=instance.host,
            source_node=instance.node,
            dest_node=instance.node,
            old_flavor_id=old["id"],
            new_flavor_id=flavor.flavorid,
            migration_type="resize",
            status="pre-migrating",
        )
        s.add(migration)

    await begin(svc, ctx, uuid, "resize", prepare=_prepare)


async def create_image(
    svc: ComputeService, ctx: RequestContext, uuid: str, body: Any, mv: Version
) -> str:
    """createImage: an image record now (queued), its data uploaded by the host; its id."""
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        raise errors.BadRequest("Invalid input for field/attribute name.")
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise errors.BadRequest("Invalid input for field/attribute metadata.")
    return await _snapshot(svc, ctx, uuid, body["name"], metadata, {"image_type": "snapshot"}, {})


async def create_backup(svc: ComputeService, ctx: RequestContext, uuid: str, body: Any) -> str:
    """createBackup: a snapshot kept in a rotation of `rotation` backups of one type; its id."""
    if not isinstance(body, dict):
        raise errors.BadRequest("Invalid input for field/attribute createBackup.")
    for key in ("name", "backup_type", "rotation"):
        if key not in body:
            raise errors.BadRequest(
                f"Invalid input for field/attribute createBackup. '{key}' is a required property"
            )
    name, backup_type, rotation = body["name"], body["backup_type"], body["rotation"]
    rotation = checks.from_digits(rotation)
    if not isinstance(rotation, int) or isinstance(rotation, bool) or rotation < 0:
        raise errors.BadRequest(f"Invalid input for field/attribute rotation. Value: {rotation}.")
    if not isinstance(name, str) or not name or not isinstance(backup_type, str):
        raise errors.BadRequest("Invalid input for field/attribute createBackup.")
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise errors.BadRequest("Invalid input for field/attribute metadata.")
    # Image timestamps are whole seconds; rotation needs the exact order backups were made in.
    props = {
        "image_type": "backup",
        "backup_type": backup_type,
        "backup_created_at": m.now().isoformat(),
    }
    return await _snapshot(
        svc, ctx, uuid, name, metadata, props, {"rotation": rotation, "backup_type": backup_type}
    )


async def _snapshot(
    svc: ComputeService,
    ctx: RequestContext,
    uuid: str,
    name: str,
    metadata: dict[str, Any],
    kind: dict[str, str],
    extra_args: dict[str, Any],
    action: str = "snapshot",
) -> str:
    """An image record for a snapshot of the server, and the task that fills it; its id."""
    from stackling.image.service import images as image_api

    access.require_member(ctx)
    async with svc.db.session() as s:
        instance = await access.load_instance(s, ctx, uuid)
        check_lock(ctx, instance)
        check_state(instance, action)
    image_props = instance.image_meta.get("properties", {})
    props = {k: v for k, v in image_props.items() if k.startswith(("hw_", "os_"))}
    props.update({str(k): v for k, v in metadata.items()})
    props.update(
        {
            **kind,
            "instance_uuid": uuid,
            "base_image_ref": instance.image_ref,
            "owner_project_name": ctx.project_name or "",
            "owner_user_name": ctx.user_name or "",
            "user_id": ctx.user_id or "",
        }
    )
    record = await image_api.create(
        svc.peer("image"),
        ctx,
        {
            "name": name,
            "disk_format": "qcow2",
            "container_format": "bare",
            "min_ram": instance.image_meta.get("min_ram") or 0,
            "min_disk": instance.flavor.get("disk") or instance.image_meta.get("min_disk") or 0,
            **props,
        },
    )
    image_id: str = record.image.id
    try:
        await begin(svc, ctx, uuid, action, task_args={"image_id": image_id, **extra_args})
    except errors.StacklingError:
        await image_api.delete_image(svc.peer("image"), ctx, image_id)
        raise
    return image_id


async def shelve(svc: ComputeService, ctx: RequestContext, uuid: str) -> None:
    """shelve: a snapshot `<name>-shelved`, then the guest is removed from its host (offloaded)."""
    async with svc.db.session() as s:
        instance = await access.load_instance(s, ctx, uuid)
    await _snapshot(
        svc, ctx, uuid, f"{instance.display_name}-shelved", {},
        {"image_type": "snapshot"}, {}, action="shelve",
    )  # fmt: skip


async def unshelve(svc: ComputeService, ctx: RequestContext, uuid: str, body: Any) -> None:
    """unshelve: schedule the server again and spawn it from its shelved snapshot."""
    from stackling.compute.service.core import CONDUCTOR_TOPIC

    if body is not None and not isinstance(body, dict):
        raise errors.BadRequest("Invalid input for field/attribute unshelve.")
    access.require_member(ctx)

    async def _begin(s: AsyncSession) -> None:
        instance = await access.load_instance(s, ctx, uuid, for_update=True)
        check_lock(ctx, instance)
        rule = check_state(instance, "unshelve")
        instance.task_state = rule.task_state
        instance.retry_hosts = []
        instance.updated_at = m.now()
        history.start_action(s, ctx, instance, "unshelve")

    await svc.tx(_begin)
    await svc.bus.cast(CONDUCTOR_TOPIC, {"instance": uuid})


async def refuse_move(svc: ComputeService, ctx: RequestContext, uuid: str, live: bool) -> None:
    """migrate / os-migrateLive: with no other host to go to, Nova's NoValidHost (400)."""
    access.require_admin(ctx, "os_compute_api:os-migrate-server:migrate")
    async with svc.db.session() as s:
        instance = await access.load_instance(s, ctx, uuid)
    check_state(instance, "live_migrate" if live else "migrate")
    raise errors.BadRequest(
        "No valid host was found. There is no other compute host to move this server to."
    )


async def restore(svc: ComputeService, ctx: RequestContext, uuid: str) -> None:
    """restore: only soft-deleted servers can be restored, and this cloud deletes at once."""
    access.require_member(ctx)
    async with svc.db.session() as s:
        instance = await access.load_instance(s, ctx, uuid)
    if instance.vm_state != states.SOFT_DELETED:
        raise InvalidState("restore", uuid, "vm_state", instance.vm_state)


async def rebuild(
    svc: ComputeService, ctx: RequestContext, uuid: str, body: Any, mv: Version
) -> m.Instance:
    """rebuild: a new (or the same) image, optionally a new name, metadata, key, user data."""
    from stackling.compute.service import boot_request as br
    from stackling.compute.service import servers

    if not isinstance(body, dict) or "imageRef" not in body:
        raise errors.BadRequest("Invalid input for field/attribute rebuild. 'imageRef' is required")
    image_id = br._ref(body["imageRef"], "imageRef")
    record = await servers._image_for_boot(svc, ctx, image_id)
    meta = servers._image_meta(record)
    changes: dict[str, Any] = {"image_ref": image_id, "image_meta": meta}
    if "name" in body:
        changes["display_name"] = br.check_name(body["name"])
    if "description" in body and mv.at_least("2.19"):
        changes["display_description"] = br.check_description(body["description"])
    if "user_data" in body and mv.at_least("2.57"):
        changes["user_data"] = br._user_data(body["user_data"])
    metadata = br.check_metadata(body["metadata"]) if "metadata" in body else None
    key_change = "key_name" in body and mv.at_least("2.54")
    keypair = None
    if key_change and body["key_name"] is not None:
        from stackling.compute.service import keypairs

        keypair = await keypairs.keypair_for_boot(svc, ctx, body["key_name"])

    async def _prepare(s: AsyncSession, instance: m.Instance) -> None:
        flavor = await s.scalar(lookup.select_flavor_by_id(instance.flavor["id"]))
        if flavor is not None:
            servers._check_fits(flavor, meta)
        for key, value in changes.items():
            setattr(instance, key, value)
        if key_change:
            instance.key_name = keypair.name if keypair else None
            instance.key_data = keypair.public_key if keypair else None
        if metadata is not None:
            await s.execute(
                m.InstanceMetadata.__table__.delete().where(
                    m.InstanceMetadata.instance_uuid == instance.uuid
                )
            )
            s.add_all(
                m.InstanceMetadata(instance_uuid=instance.uuid, key=k, value=v)
                for k, v in metadata.items()
            )

    return await begin(svc, ctx, uuid, "rebuild", prepare=_prepare)


async def reset_state(svc: ComputeService, ctx: RequestContext, uuid: str, state: Any) -> None:
    """os-resetState (admin): force vm_state to active or error, clearing the task."""
    access.require_admin(ctx, "os_compute_api:os-admin-actions:reset_state")
    if state not in ("active", "error"):
        raise errors.BadRequest(
            f"Invalid input for field/attribute state. Value: {state}. "
            f"{state!r} is not one of ['active', 'error']"
        )

    async def _reset(s: AsyncSession) -> None:
        instance = await access.load_instance(s, ctx, uuid, for_update=True)
        instance.vm_state = state
        instance.task_state = None
        instance.updated_at = m.now()
        history.start_action(s, ctx, instance, "resetState")

    await svc.tx(_reset)
