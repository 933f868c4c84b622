"""One tree of domain errors; each API renders them in its own fault format."""

from __future__ import annotations


class StacklingError(Exception):
    """Base of every error a user may see; carries an HTTP status and a safe message."""

    status = 500
    title = "Internal Server Error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.title)
        self.message = message or self.title


class BadRequest(StacklingError):
    """The request is malformed or fails validation."""

    status = 400
    title = "Bad Request"


class Unauthorized(StacklingError):
    """No valid credentials or token."""

    status = 401
    title = "Unauthorized"


class Forbidden(StacklingError):
    """Authenticated, but policy does not allow it."""

    status = 403
    title = "Forbidden"


class NotFound(StacklingError):
    """The resource does not exist or is not visible to the caller."""

    status = 404
    title = "Not Found"


class MethodNotAllowed(StacklingError):
    """The path exists but not with this method."""

    status = 405
    title = "Method Not Allowed"


class Conflict(StacklingError):
    """The request conflicts with the resource's current state."""

    status = 409
    title = "Conflict"


class QuotaExceeded(Forbidden):
    """Creating this would exceed a quota."""

    title = "Quota exceeded"


class PayloadTooLarge(StacklingError):
    """The body is bigger than allowed."""

    status = 413
    title = "Request Entity Too Large"


class UnsupportedMediaType(StacklingError):
    """The body's content type is not one the API accepts."""

    status = 415
    title = "Unsupported Media Type"


class NotImplementedYet(StacklingError):
    """A documented call this cloud does not provide."""

    status = 501
    title = "Not Implemented"


class ServiceUnavailable(StacklingError):
    """A dependency is temporarily unavailable; retry later."""

    status = 503
    title = "Service Unavailable"


def for_status(status: int, message: str | None = None) -> StacklingError:
    """The domain error matching an HTTP status (used for framework-raised errors)."""
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        NotImplementedYet,
        ServiceUnavailable,
    ):
        if cls.status == status:
            return cls(message)
    err = StacklingError(message)
    err.status = status
    return err
