"""The statuses object storage answers with that the other APIs never need."""

from __future__ import annotations

from stackling.common.errors import StacklingError


class LengthRequired(StacklingError):
    """A PUT with neither Content-Length nor chunked transfer encoding."""

    status = 411
    title = "Length Required"


class PreconditionFailed(StacklingError):
    """If-Match / If-None-Match / If-(Un)modified-Since not met, or a bad manifest target."""

    status = 412
    title = "Precondition Failed"


class RangeNotSatisfiable(StacklingError):
    """A Range none of whose parts overlaps the object."""

    status = 416
    title = "Requested Range Not Satisfiable"


class UnprocessableEntity(StacklingError):
    """The body's MD5 is not the ETag the client announced."""

    status = 422
    title = "Unprocessable Entity"


class ClientDisconnected(StacklingError):
    """The client went away before sending the whole body."""

    status = 499
    title = "Client Disconnect"


class RequestTimeout(StacklingError):
    """The client stopped sending the body."""

    status = 408
    title = "Request Timeout"
