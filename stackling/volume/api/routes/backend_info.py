"""Admin views of the backend (pools, capabilities, hosts), extensions and user messages."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api.deps import CallDep
from stackling.volume.service import backend_info as service

router = APIRouter(tags=["backend"])

# The API extensions Cinder lists that this service implements (alias, name).
_EXTENSIONS = (
    ("os-availability-zone", "AvailabilityZones"),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes"),
    ("os-hosts", "Hosts"),
    ("os-quota-sets", "Quotas"),
    ("os-quota-class-sets", "QuotaClasses"),
    ("os-services", "Services"),
    ("os-types-manage", "TypesManage"),
    ("os-types-extra-specs", "TypesExtraSpecs"),
    ("os-volume-actions", "VolumeActions"),
    ("os-admin-actions", "AdminActions"),
    ("os-volume-transfer", "VolumeTransfer"),
    ("os-volume-type-access", "VolumeTypeAccess"),
    ("os-vol-tenant-attr", "VolumeTenantAttribute"),
    ("os-vol-host-attr", "VolumeHostAttribute"),
    ("os-vol-image-meta", "VolumeImageMetadata"),
    ("qos-specs", "Qos_specs_manage"),
    ("scheduler-stats", "Scheduler_stats"),
    ("capabilities", "Capabilities"),
    ("backups", "Backups"),
)


@router.get("/scheduler-stats/get_pools")
async def get_pools(call: CallDep) -> Response:
    """The backend's pools, with their capabilities when `detail` is true."""
    detail = call.params().get("detail", "false").lower() in ("true", "1", "yes", "on")
    found = await service.pools(call.svc, call.ctx)
    if detail:
        pools = [{"name": p.name, "capabilities": p.capabilities} for p in found]
    else:
        pools = [{"name": p.name} for p in found]
    return call.reply({"pools": pools})


@router.get("/capabilities/{host}")
async def show_capabilities(host: str, call: CallDep) -> Response:
    """What the backend of host@backend can do."""
    return call.reply(service.capabilities(call.svc, call.ctx, host))


@router.get("/os-hosts")
async def list_hosts(call: CallDep) -> Response:
    """The volume, scheduler and backup services, by host."""
    return call.reply({"hosts": service.hosts(call.svc, call.ctx)})


@router.get("/os-hosts/{host}")
async def show_host(host: str, call: CallDep) -> Response:
    """Volume and snapshot usage on one volume host."""
    return call.reply({"host": await service.host_usage(call.svc, call.ctx, host)})


@router.get("/extensions")
async def list_extensions(call: CallDep) -> Response:
    """The API extensions this service implements, as Cinder lists them."""
    items = [
        {
            "alias": alias,
            "name": name,
            "description": f"{name} support.",
            "links": [],
            "namespace": f"https://docs.openstack.org/volume/ext/{alias}/api/v1",
            "updated": "2022-08-31T00:00:00+00:00",
        }
        for alias, name in _EXTENSIONS
    ]
    return call.reply({"extensions": items})


@router.get("/messages")
async def list_messages(call: CallDep) -> Response:
    """User messages (3.3): none are recorded here."""
    if not call.version.at_least("3.3"):
        raise errors.NotFound("The resource could not be found.")
    return call.reply({"messages": []})


@router.get("/messages/{message_id}")
async def show_message(message_id: str, call: CallDep) -> Response:
    """No message is ever recorded, so every id is unknown."""
    if not call.version.at_least("3.3"):
        raise errors.NotFound("The resource could not be found.")
    raise errors.NotFound(f"Message {message_id} could not be found.")
