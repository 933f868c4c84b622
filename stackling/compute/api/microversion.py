"""Nova's microversions: read from the request, echoed in the response, compared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stackling.common.microversion import Version
from stackling.compute.faults import NotAcceptable

MIN = Version(2, 1)
MAX = Version(2, 96)


def requested(request: Request) -> Version:
    """The microversion a request asks for (2.1 when it names none)."""
    value = None
    header = request.headers.get("openstack-api-version")
    if header:
        # "compute 2.79", possibly among other services: "volume 3.5, compute 2.79".
        for part in header.split(","):
            service, _, ver = part.strip().partition(" ")
            if service.lower() == "compute":
                value = ver.strip()
    if value is None:
        value = request.headers.get("x-openstack-nova-api-version")
    if not value:
        return MIN
    if value.strip().lower() == "latest":
        return MAX
    version = Version.parse(value)
    if not MIN <= version <= MAX:
        raise NotAcceptable(
            f"Version {version} is not supported by the API. Minimum is {MIN} and maximum is {MAX}."
        )
    return version


async def microversion(request: Request) -> Version:
    """The request's microversion (406 outside the supported range); see reply.reply."""
    return requested(request)


Microversion = Annotated[Version, Depends(microversion)]
