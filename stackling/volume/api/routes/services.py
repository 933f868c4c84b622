"""Volume services (admin): GET /os-services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.volume.api.deps import Call, CallDep
from stackling.volume.api.views import when
from stackling.volume.service import services as service

router = APIRouter(tags=["services"])


def _view(call: Call, item: service.ServiceInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "binary": item.binary,
        "host": item.host,
        "zone": item.zone,
        "status": item.status,
        "state": item.state,
        "updated_at": when(item.updated_at),
        "disabled_reason": None,
    }
    if call.version.at_least("3.7"):
        out["cluster"] = None
    if call.version.at_least("3.49") and item.binary == "cinder-volume":
        out["backend_state"] = "up"
    return out


@router.get("/os-services")
async def list_services(call: CallDep) -> Response:
    """The services, filtered by ?host= and ?binary=."""
    params = call.params()
    found = service.list_services(
        call.svc, call.ctx, host=params.get("host"), binary=params.get("binary")
    )
    return call.reply({"services": [_view(call, item) for item in found]})
