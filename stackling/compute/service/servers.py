"""Creating, showing, updating and deleting servers: desired state recorded, agents told."""

from __future__ import annotations

import logging
import secrets
import string
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute import states
from stackling.compute.service import (
    access,
    boot_volumes,
    history,
    lookup,
    networking,
    quota,
)
from stackling.compute.service.boot_request import BootRequest, parse, sanitize_hostname
from stackling.compute.service.core import CONDUCTOR_TOPIC, ComputeService, host_topic
from stackling.compute.service.records import ServerRecord, load_record, load_records

LOG = logging.getLogger(__name__)

_PASSWORD_CHARS = string.ascii_letters + string.digits


@dataclass(slots=True)
class Created:
    """What a create request made: its servers (with their admin passwords) and reservation."""

    records: list[ServerRecord]
    reservation_id: str
    return_reservation_id: bool


def new_password() -> str:
    """A random admin password, as Nova generates one."""
    return "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(12))


async def _image_for_boot(svc: ComputeService, ctx: RequestContext, image_id: str) -> Any:
    """The image record a boot names; 400 when it is missing or unusable (Nova's messages)."""
    from stackling.image.service import images as image_api

    if not svc.has_peer("image"):
        raise errors.BadRequest("This cloud has no image service to boot from.")
    try:
        record = await image_api.show(svc.peer("image"), ctx, image_id)
    except errors.NotFound:
        raise errors.BadRequest(f"Image {image_id} could not be found.") from None
    image = record.image
    if image.status != "active":
        raise errors.BadRequest(f"Image {image_id} is not active.")
    if not image.size:
        raise errors.BadRequest(f"Image {image_id} has no data.")
    return record


def _image_meta(record: Any) -> dict[str, Any]:
    image = record.image
    return {
        "id": image.id,
        "name": image.name,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "min_ram": image.min_ram,
        "min_disk": image.min_disk,
        "size": image.size,
        "virtual_size": image.virtual_size,
        "properties": dict(record.properties),
    }


def _check_fits(flavor: m.Flavor, meta: dict[str, Any], boot_volume: bool = False) -> None:
    if meta["min_ram"] and flavor.memory_mb < meta["min_ram"]:
        raise errors.BadRequest("Flavor's memory is too small for requested image.")
    # A server booted from a volume has no local root disk for the image to fit on.
    if flavor.root_gb and not boot_volume:
        if meta["min_disk"] and flavor.root_gb < meta["min_disk"]:
            raise errors.BadRequest("Flavor's disk is too small for requested image.")
        needed = max(meta["size"] or 0, meta["virtual_size"] or 0)
        if needed > flavor.root_gb * (1 << 30):
            raise errors.BadRequest("Flavor's disk is too small for requested image.")


async def create(
    svc: ComputeService, ctx: RequestContext, body: dict[str, Any], mv: Version
) -> Created:
    """POST /servers: validate, reserve quota, record servers in BUILD and ask for scheduling."""
    access.require_member(ctx)
    req = parse(body, mv)
    if req.forced_host and not ctx.is_admin:
        raise errors.Forbidden(
            "Policy doesn't allow os_compute_api:servers:create:forced_host to be performed."
        )
    requested_networks = await networking.check_boot(svc, ctx, req.networks, req.security_groups)
    checked = None
    if req.block_devices:

        async def _meta_of(image_id: str) -> dict[str, Any]:
            return _image_meta(await _image_for_boot(svc, ctx, image_id))

        checked = await boot_volumes.check(svc, ctx, req.block_devices, req.max_count, _meta_of)
    if req.boot_volume and checked is not None:
        meta = checked.image_meta
    else:
        meta = _image_meta(await _image_for_boot(svc, ctx, req.image_ref))
    from stackling.compute.service import keypairs, server_groups

    keypair = await keypairs.keypair_for_boot(svc, ctx, req.key_name) if req.key_name else None
    group = await server_groups.group_for_boot(svc, ctx, req.group) if req.group else None
    if req.availability_zone:
        await _check_zone(svc, req.availability_zone)
    reservation_id = "r-" + secrets.token_hex(4)
    # Existing volumes are reserved for the server before it is recorded (one server only).
    first_uuid = new_uuid()
    reserved: dict[str, str] = {}
    if checked is not None and boot_volumes.needs_reservation(checked):
        reserved = await boot_volumes.reserve(svc, ctx, checked, first_uuid)
    config_drive = req.config_drive or svc.conf.force_config_drive

    # The flavor is copied into each server, so it is read before the write transaction.
    async with svc.db.session() as s:
        flavor = await lookup.flavor_for_boot(s, ctx, req.flavor_ref)
        _check_fits(flavor, meta, req.boot_volume)
        snapshot = await lookup.flavor_snapshot(s, flavor)

    async def _create(s: AsyncSession) -> list[ServerRecord]:
        scopes = await quota.boot_scopes(s, svc.conf, ctx.project_id or "", ctx.user_id or "")
        quota.check(scopes[-1].limits["metadata_items"], 0, len(req.metadata), "metadata_items")
        count = _allowed_count(scopes, req, flavor)
        if group is not None:
            await server_groups.check_members_quota(s, svc, group, count)
        created = []
        now = m.now()
        for index in range(count):
            uuid = first_uuid if index == 0 else new_uuid()
            password = req.admin_pass or new_password()
            name = req.name if count == 1 else f"{req.name}-{index + 1}"
            instance = m.Instance(
                uuid=uuid,
                display_name=name,
                display_description=req.description,
                hostname=req.hostname or sanitize_hostname(name, uuid),
                project_id=ctx.project_id,
                user_id=ctx.user_id,
                reservation_id=reservation_id,
                launch_index=index,
                availability_zone=req.availability_zone,
                flavor=snapshot,
                # Nova shows no image for a server booted from a volume.
                image_ref="" if req.boot_volume else req.image_ref,
                image_meta=meta,
                key_name=keypair.name if keypair else None,
                key_data=keypair.public_key if keypair else None,
                user_data=req.user_data,
                config_drive=config_drive,
                vm_state=states.BUILDING,
                task_state=states.SCHEDULING,
                power_state=0,
                access_ip_v4=req.access_ip_v4,
                access_ip_v6=req.access_ip_v6,
                security_groups=req.security_groups or ["default"],
                requested_networks=requested_networks,
                task_args={"forced_host": req.forced_host} if req.forced_host else {},
                root_device_name="/dev/vda",
                # Kept until the host has written it to the config drive, then cleared.
                admin_password=password if config_drive else None,
                created_at=now,
                updated_at=now,
            )
            s.add(instance)
            await s.flush()
            if checked is not None:
                boot_volumes.add_rows(s, uuid, checked, reserved)
            s.add_all(
                m.InstanceMetadata(instance_uuid=uuid, key=k, value=v)
                for k, v in req.metadata.items()
            )
            s.add_all(m.InstanceTag(instance_uuid=uuid, tag=t) for t in req.tags)
            if group is not None:
                s.add(m.ServerGroupMember(group_id=group.id, instance_uuid=uuid))
            history.start_action(s, ctx, instance, "create")
            record = ServerRecord(instance, dict(req.metadata), sorted(req.tags))
            record.admin_password = password
            created.append(record)
        await s.flush()
        return created

    try:
        records = await svc.tx(_create)
    except BaseException:
        await boot_volumes.unreserve(svc, ctx, reserved)
        raise
    for record in records:
        await svc.bus.cast(CONDUCTOR_TOPIC, {"instance": record.instance.uuid})
    return Created(records, reservation_id, req.return_reservation_id)


def _allowed_count(scopes: list[quota.QuotaScope], req: BootRequest, flavor: m.Flavor) -> int:
    """As many servers as asked (up to max_count) as quota allows; 403 below min_count."""
    size = {"vcpus": flavor.vcpus, "ram": flavor.memory_mb}
    room = quota.instances_room(scopes, **size)
    count = req.max_count if room is None else min(req.max_count, room)
    # Below min_count this raises Nova's message, naming the resource that ran out.
    quota.check_instances(scopes, count=max(count, req.min_count), **size)
    return count


async def _check_zone(svc: ComputeService, zone: str) -> None:
    from stackling.compute.service import aggregates

    async with svc.db.session() as s:
        if not await aggregates.hosts_in_zone(s, svc, zone):
            raise errors.BadRequest("The requested availability zone is not available")


async def show(svc: ComputeService, ctx: RequestContext, uuid: str) -> ServerRecord:
    """One live server the caller may see."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        return await load_record(s, await access.load_instance(s, ctx, uuid))


async def update(
    svc: ComputeService, ctx: RequestContext, uuid: str, body: dict[str, Any], mv: Version
) -> ServerRecord:
    """PUT /servers/{id}: name, description (2.19), hostname (2.90), access IPs."""
    from stackling.compute.service import boot_request as br

    access.require_member(ctx)
    server = body.get("server")
    if not isinstance(server, dict):
        raise br.bad("server", server)
    allowed = {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"}
    if mv.at_least("2.19"):
        allowed.add("description")
    if mv.at_least("2.90"):
        allowed.add("hostname")
    unknown = sorted(set(server) - allowed)
    if unknown:
        raise errors.BadRequest(
            "Invalid input for field/attribute server. Additional properties are not allowed "
            f"({', '.join(repr(k) for k in unknown)} were unexpected)"
        )
    values: dict[str, Any] = {}
    if "name" in server:
        values["display_name"] = br.check_name(server["name"])
    if "description" in server:
        values["display_description"] = br.check_description(server["description"])
    if "hostname" in server:
        values["hostname"] = br.check_hostname(server["hostname"])
    if "accessIPv4" in server:
        values["access_ip_v4"] = br._ip(server["accessIPv4"], 4, "accessIPv4")
    if "accessIPv6" in server:
        values["access_ip_v6"] = br._ip(server["accessIPv6"], 6, "accessIPv6")

    async def _update(s: AsyncSession) -> ServerRecord:
        instance = await access.load_instance(s, ctx, uuid, for_update=True)
        for key, value in values.items():
            setattr(instance, key, value)
        instance.updated_at = m.now()
        await s.flush()
        return await load_record(s, instance)

    return await svc.tx(_update)


async def delete(
    svc: ComputeService, ctx: RequestContext, uuid: str, *, force: bool = False
) -> None:
    """DELETE /servers/{id}: gone at once if never placed, else the host tears it down."""
    access.require_member(ctx)

    async def _mark(s: AsyncSession) -> tuple[str | None, m.Instance]:
        instance = await access.load_instance(s, ctx, uuid, for_update=True)
        if instance.locked and not _may_override_lock(ctx, instance):
            from stackling.compute.faults import Locked

            raise Locked(uuid)
        history.start_action(s, ctx, instance, "delete")
        if instance.host is None or not await _host_alive(s, instance.host):
            await finish_delete(s, instance)
            return None, instance
        instance.task_state = states.DELETING
        instance.updated_at = m.now()
        return instance.host, instance

    host, instance = await svc.tx(_mark)
    if host is None:
        await networking.release(svc, instance)
        await _release_allocations(svc, uuid)
        await _forget_shelved_image(svc, ctx, uuid)
    else:
        await svc.bus.cast(host_topic(host), {"instance": uuid})


def _may_override_lock(ctx: RequestContext, instance: m.Instance) -> bool:
    """Admins may act on locked servers; owners only when they are not the lock's holder."""
    return ctx.is_admin


async def _host_alive(s: AsyncSession, host: str) -> bool:
    service = await s.scalar(
        select(m.ComputeService).where(
            m.ComputeService.host == host, m.ComputeService.binary == "nova-compute"
        )
    )
    return service is not None and not service.forced_down


async def finish_delete(s: AsyncSession, instance: m.Instance) -> None:
    """Mark a server deleted (the row stays, as Nova's soft-deleted rows do)."""
    now = m.now()
    instance.deleted = True
    instance.vm_state = states.DELETED
    instance.task_state = None
    instance.power_state = 0
    instance.deleted_at = now
    instance.terminated_at = now
    instance.updated_at = now
    await s.execute(
        sa.delete(m.ServerGroupMember).where(m.ServerGroupMember.instance_uuid == instance.uuid)
    )
    await s.execute(
        sa.update(m.InstanceAction)
        .where(
            m.InstanceAction.instance_uuid == instance.uuid, m.InstanceAction.finish_time.is_(None)
        )
        .values(finish_time=now)
    )


async def _forget_shelved_image(svc: ComputeService, ctx: RequestContext, uuid: str) -> None:
    """A deleted shelved server's snapshot goes with it."""
    from stackling.compute.agent.work import delete_shelved_image

    async with svc.db.session() as s:
        row = await s.scalar(select(m.Instance.task_args).where(m.Instance.uuid == uuid))
    image_id = (row or {}).get("shelved_image_id")
    if image_id:
        await delete_shelved_image(svc, ctx, image_id)


async def _release_allocations(svc: ComputeService, uuid: str) -> None:
    if svc.has_peer("placement"):
        await svc.peer("placement").delete_allocations(uuid)


async def records_for(s: AsyncSession, instances: list[m.Instance]) -> list[ServerRecord]:
    """Records of several servers (for listings)."""
    return await load_records(s, instances)
