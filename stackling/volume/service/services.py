"""Cinder's os-services: the volume, scheduler and backup services of this host, always up."""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.volume import faults
from stackling.volume.service import policy
from stackling.volume.service.backend_info import backend_host
from stackling.volume.service.core import VolumeService

VOLUME_BINARY = "cinder-volume"
# Cinder checks a disabled reason is plain text of at most this length.
MAX_REASON = 255


@dataclass(slots=True)
class ServiceInfo:
    """One service as os-services shows it."""

    binary: str
    host: str
    zone: str
    updated_at: dt.datetime
    status: str = "enabled"
    state: str = "up"
    disabled_reason: str | None = None


def host_matches(service_host: str, wanted: str) -> bool:
    """Cinder's host filter: `wanted` names the service's host, host@backend or pool."""
    if service_host == wanted:
        return True
    if "#" in wanted:
        return False
    if service_host.startswith(wanted + "#"):
        return True
    return "@" not in wanted and service_host.startswith(wanted + "@")


def _all(svc: VolumeService) -> list[ServiceInfo]:
    plain = socket.gethostname()
    zone = svc.conf.availability_zone
    now = dt.datetime.now(dt.UTC)
    return [
        ServiceInfo("cinder-scheduler", plain, zone, now),
        # Cinder's volume service is named host@backend: its pools hang below it.
        ServiceInfo(VOLUME_BINARY, backend_host(svc), zone, now),
        ServiceInfo("cinder-backup", plain, zone, now),
    ]


def list_services(
    svc: VolumeService, ctx: RequestContext, *, host: str | None, binary: str | None
) -> list[ServiceInfo]:
    """This process's services (admin); the API serves only while they run, so all are up."""
    policy.enforce(ctx, "volume_extension:services:index")
    return [
        item
        for item in _all(svc)
        if (host is None or host_matches(item.host, host))
        and (binary is None or item.binary == binary)
    ]


def set_enabled(
    svc: VolumeService,
    ctx: RequestContext,
    *,
    host: str,
    binary: str,
    enabled: bool,
    reason: str | None = None,
) -> ServiceInfo:
    """Enable or disable a service (admin), as the answer to this request only.

    There is no table of services (they live and die with this process), so the
    change is not kept: the next listing shows the service enabled again.
    """
    policy.enforce(ctx, "volume_extension:services:update")
    found = next((i for i in _all(svc) if i.binary == binary and host_matches(i.host, host)), None)
    if found is None:
        raise errors.NotFound(f"Service {binary} on host {host} could not be found.")
    found.host = host
    found.status = "enabled" if enabled else "disabled"
    found.disabled_reason = reason
    return found


def check_reason(reason: object) -> str:
    """A disabled reason: non-blank text of at most MAX_REASON characters."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise errors.BadRequest("Disabled reason contains invalid characters or is too long")
    return reason


def freeze_or_thaw(svc: VolumeService, ctx: RequestContext, host: object) -> None:
    """Check that `host` names this host's volume service (admin); there is nothing to freeze.

    Replication is not supported, so a frozen backend would behave as a thawed
    one: the request is checked and accepted, and nothing is recorded.
    """
    policy.enforce(ctx, "volume_extension:services:update")
    if not isinstance(host, str) or not host:
        raise faults.InvalidInput("Must specify 'host'.")
    if not host_matches(backend_host(svc), host):
        raise faults.InvalidInput(f"No service found with host={host}.")
