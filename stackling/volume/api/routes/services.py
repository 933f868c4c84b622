"""Volume services (admin): GET /os-services and PUT /os-services/{action}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api.deps import Body, Call, CallDep
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
        "disabled_reason": item.disabled_reason,
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


def _required(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise errors.BadRequest(f"Missing required element '{key}' in request body.")
    return value


def _changed(item: service.ServiceInfo, *, with_reason: bool) -> dict[str, Any]:
    """Cinder's flat answer to enable and disable (`service` repeats the binary)."""
    out: dict[str, Any] = {
        "host": item.host,
        "service": item.binary,
        "binary": item.binary,
        "disabled": item.status == "disabled",
        "status": item.status,
    }
    if with_reason:
        out["disabled_reason"] = item.disabled_reason
    return out


@router.put("/os-services/{action}")
async def update_service(action: str, call: CallDep, body: Body) -> Response:
    """enable, disable, disable-log-reason, freeze or thaw (200)."""
    if not isinstance(body, dict):
        raise errors.BadRequest("Malformed request body")
    if action in ("freeze", "thaw"):
        service.freeze_or_thaw(call.svc, call.ctx, body.get("host"))
        return call.reply(status=200)
    if action not in ("enable", "disable", "disable-log-reason"):
        raise errors.NotFound("Unknown action")
    host = _required(body, "host")
    # Cinder still takes the binary under its older name, `service`.
    binary = _required(body, "binary" if "binary" in body else "service")
    reason = None
    if action == "disable-log-reason":
        reason = service.check_reason(body.get("disabled_reason"))
    item = service.set_enabled(
        call.svc, call.ctx, host=host, binary=binary, enabled=action == "enable", reason=reason
    )
    return call.reply(_changed(item, with_reason=action != "disable"))
