"""Cinder's os-services: the volume, scheduler and backup services of this host, always up."""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass

from stackling.common.context import RequestContext
from stackling.volume.service import policy
from stackling.volume.service.core import VolumeService


@dataclass(slots=True)
class ServiceInfo:
    """One service as os-services shows it."""

    binary: str
    host: str
    zone: str
    updated_at: dt.datetime
    status: str = "enabled"
    state: str = "up"


def list_services(
    svc: VolumeService, ctx: RequestContext, *, host: str | None, binary: str | None
) -> list[ServiceInfo]:
    """This process's services (admin); the API serves only while they run, so all are up."""
    policy.enforce(ctx, "volume_extension:services:index")
    plain = socket.gethostname()
    zone = svc.conf.availability_zone
    now = dt.datetime.now(dt.UTC)
    found = [
        ServiceInfo("cinder-scheduler", plain, zone, now),
        ServiceInfo("cinder-volume", svc.host, zone, now),
        ServiceInfo("cinder-backup", plain, zone, now),
    ]
    return [
        item
        for item in found
        if (host is None or item.host == host) and (binary is None or item.binary == binary)
    ]
