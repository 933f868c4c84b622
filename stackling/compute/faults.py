"""Nova's fault format: `{"itemNotFound": {"code": 404, "message": "..."}}`."""

from __future__ import annotations

from typing import Any

from stackling.common import errors

_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def nova_fault(err: errors.StacklingError) -> dict[str, Any]:
    """The body Nova gives for `err`."""
    return {_NAMES.get(err.status, "computeFault"): {"code": err.status, "message": err.message}}


class NotAcceptable(errors.StacklingError):
    """The requested microversion is outside what this cloud supports."""

    status = 406
    title = "Not Acceptable"


class InvalidState(errors.Conflict):
    """The server's state does not allow the action (Nova's InstanceInvalidState)."""

    def __init__(self, action: str, uuid: str, attr: str, state: str | None) -> None:
        super().__init__(f"Cannot '{action}' instance {uuid} while it is in {attr} {state}")


class Locked(errors.Conflict):
    """The server is locked and the caller is not allowed to override the lock."""

    def __init__(self, uuid: str) -> None:
        super().__init__(f"Instance {uuid} is locked")
