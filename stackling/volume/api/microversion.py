"""Cinder's microversions: `OpenStack-API-Version: volume 3.X`, echoed with Vary."""

from __future__ import annotations

from fastapi import Request

from stackling.common.microversion import Version
from stackling.volume.faults import NotAcceptable

MIN = Version(3, 0)
MAX = Version(3, 70)
HEADER = "OpenStack-API-Version"


def requested(request: Request) -> Version:
    """The microversion a request asks for (3.0 when it names none for `volume`)."""
    value = None
    header = request.headers.get("openstack-api-version")
    if header:
        # "volume 3.5", possibly among other services: "compute 2.79, volume 3.5".
        for part in header.split(","):
            service, _, ver = part.strip().partition(" ")
            if service.lower() == "volume":
                value = ver.strip()
    if not value:
        return MIN
    if value.lower() == "latest":
        return MAX
    version = Version.parse(value)
    if not MIN <= version <= MAX:
        raise NotAcceptable(
            f"Version {version} is not supported by the API. Minimum is {MIN} and maximum is {MAX}."
        )
    return version


def headers_for(version: Version) -> dict[str, str]:
    """The headers naming the microversion a response was made for."""
    return {HEADER: f"volume {version}", "Vary": HEADER}
