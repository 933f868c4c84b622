"""What the volume service tells admins about its backend: pools, capabilities, hosts.

One backend per host here, so Cinder's pool (host@backend#pool), backend
(host@backend) and host lists each have one entry for volumes, beside the
scheduler and backup services that Cinder runs as processes of their own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.volume import models as m
from stackling.volume.service import policy
from stackling.volume.service.core import VolumeService

GIB = 1 << 30
# Cinder's reference drivers (LVM, NFS) say "Open Source"; so does this one.
VENDOR = "Open Source"
DRIVER_VERSION = "1.0.0"
# What each backend's data path looks like to a compute host.
_PROTOCOLS = {"file": "file", "lvm": "local", "fake": "fake"}


def backend_host(svc: VolumeService) -> str:
    """host@backend: Cinder's name for the volume service of this host."""
    return svc.host.split("#", 1)[0]


def _protocol(svc: VolumeService) -> str:
    return _PROTOCOLS.get(svc.backend.name, svc.backend.name)


async def _capacity(svc: VolumeService) -> tuple[float | str, float | str]:
    """Total and free GiB of the backend, or "unknown" as Cinder drivers say it."""
    root = getattr(svc.backend, "root", None)
    if root is None:
        return "unknown", "unknown"

    def _statvfs() -> tuple[float, float]:
        path = root if os.path.isdir(root) else os.path.dirname(str(root)) or "/"
        st = os.statvfs(path)
        return round(st.f_blocks * st.f_frsize / GIB, 2), round(st.f_bavail * st.f_frsize / GIB, 2)

    return await asyncio.to_thread(_statvfs)


@dataclass(slots=True)
class Pool:
    """The one pool of this host's backend."""

    name: str
    capabilities: dict[str, Any]


async def pools(svc: VolumeService, ctx: RequestContext) -> list[Pool]:
    """GET /scheduler-stats/get_pools: the pool with its capabilities (admin)."""
    policy.enforce(ctx, "scheduler_extension:scheduler_stats:get_pools")
    total, free = await _capacity(svc)
    async with svc.db.session() as s:
        allocated = await s.scalar(
            select(func.coalesce(func.sum(m.Volume.size), 0)).where(m.Volume.host == svc.host)
        )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
    caps = {
        "pool_name": svc.backend.name,
        "volume_backend_name": svc.backend.name,
        "vendor_name": VENDOR,
        "driver_version": DRIVER_VERSION,
        "storage_protocol": _protocol(svc),
        "total_capacity_gb": total,
        "free_capacity_gb": free,
        "allocated_capacity_gb": int(allocated or 0),
        "provisioned_capacity_gb": int(allocated or 0),
        "reserved_percentage": 0,
        "QoS_support": True,
        "thin_provisioning_support": True,
        "thick_provisioning_support": False,
        "multiattach": True,
        "timestamp": now,
        "updated": now,
    }
    return [Pool(name=svc.host, capabilities=caps)]


def capabilities(svc: VolumeService, ctx: RequestContext, host: str) -> dict[str, Any]:
    """GET /capabilities/{host}: what the backend of host@backend can do (admin)."""
    policy.enforce(ctx, "volume_extension:capabilities")
    if host not in (backend_host(svc), svc.host):
        raise errors.NotFound(f"Service {host} could not be found.")
    return {
        "namespace": f"OS::Storage::Capabilities::{backend_host(svc)}",
        "vendor_name": VENDOR,
        "volume_backend_name": svc.backend.name,
        "pool_name": None,
        "driver_version": DRIVER_VERSION,
        "storage_protocol": _protocol(svc),
        "display_name": None,
        "description": None,
        "visibility": None,
        "replication_targets": [],
        "properties": {
            "thin_provisioning": {
                "title": "Thin Provisioning",
                "description": "Sets thin provisioning.",
                "type": "boolean",
            },
            "compression": {
                "title": "Compression",
                "description": "Enables compression.",
                "type": "boolean",
            },
            "qos": {
                "title": "QoS",
                "description": "Enables QoS.",
                "type": "boolean",
            },
        },
    }


def hosts(svc: VolumeService, ctx: RequestContext) -> list[dict[str, Any]]:
    """GET /os-hosts: the volume, scheduler and backup services of this host (admin)."""
    policy.enforce(ctx, "volume_extension:hosts")
    plain = socket.gethostname()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat()
    return [
        {
            "service": binary,
            "host_name": name,
            "zone": svc.conf.availability_zone,
            "service-status": "available",
            "service-state": "enabled",
            "last-update": now,
        }
        for binary, name in (
            ("cinder-scheduler", plain),
            ("cinder-volume", backend_host(svc)),
            ("cinder-backup", plain),
        )
    ]


async def host_usage(svc: VolumeService, ctx: RequestContext, host: str) -> list[dict[str, Any]]:
    """GET /os-hosts/{host}: volume and snapshot usage on a volume host, total and per project."""
    policy.enforce(ctx, "volume_extension:hosts")
    if host not in (backend_host(svc), svc.host):
        raise errors.NotFound(f"Host {host} could not be found.")
    async with svc.db.session() as s:
        volumes = (
            await s.execute(
                select(m.Volume.project_id, func.count(), func.coalesce(func.sum(m.Volume.size), 0))
                .where(m.Volume.host == svc.host)
                .group_by(m.Volume.project_id)
            )
        ).all()
        snapshots = (
            await s.execute(
                select(
                    m.Snapshot.project_id, func.count(), func.coalesce(func.sum(m.Snapshot.size), 0)
                )
                .where(m.Snapshot.host == svc.host)
                .group_by(m.Snapshot.project_id)
            )
        ).all()
    usage: dict[str, list[int]] = {}
    for project, count, size in volumes:
        usage.setdefault(project, [0, 0, 0, 0])[0:2] = [int(count), int(size)]
    for project, count, size in snapshots:
        usage.setdefault(project, [0, 0, 0, 0])[2:4] = [int(count), int(size)]
    total = [sum(u[i] for u in usage.values()) for i in range(4)]

    def _entry(project: str, u: list[int]) -> dict[str, Any]:
        return {
            "resource": {
                "host": host,
                "project": project,
                "volume_count": str(u[0]),
                "total_volume_gb": str(u[1]),
                "snapshot_count": str(u[2]),
                "total_snapshot_gb": str(u[3]),
            }
        }

    return [_entry("(total)", total), *(_entry(p, u) for p, u in sorted(usage.items()))]
