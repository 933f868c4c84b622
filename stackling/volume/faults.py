"""Cinder's fault format: `{"itemNotFound": {"code": 404, "message": "..."}}`, and its errors."""

from __future__ import annotations

from typing import Any

from stackling.common import errors

# Cinder's wsgi.Fault names; anything else is a "computeFault" (its nova heritage).
_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def cinder_fault(err: errors.StacklingError) -> dict[str, Any]:
    """The body Cinder gives for `err`."""
    body: dict[str, Any] = {"code": err.status, "message": err.message}
    if isinstance(err, QuotaError):
        # Cinder's QuotaError carries Retry-After: 0, which the fault repeats.
        body["retryAfter"] = "0"
    return {_NAMES.get(err.status, "computeFault"): body}


class NotAcceptable(errors.StacklingError):
    """The requested microversion is outside what this cloud supports."""

    status = 406
    title = "Not Acceptable"


class InvalidInput(errors.BadRequest):
    """Cinder's InvalidInput: 400 "Invalid input received: ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid input received: {reason}")


class InvalidVolume(errors.BadRequest):
    """Cinder's InvalidVolume: the volume's state does not allow the request."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume: {reason}")


class QuotaError(errors.StacklingError):
    """Cinder's QuotaError family: 413 with Retry-After 0."""

    status = 413
    title = "Request Entity Too Large"


def volume_not_found(volume_id: str) -> errors.NotFound:
    """Cinder's VolumeNotFound."""
    return errors.NotFound(f"Volume {volume_id} could not be found.")


def type_not_found(type_id: str) -> errors.NotFound:
    """Cinder's VolumeTypeNotFound."""
    return errors.NotFound(f"Volume type {type_id} could not be found.")


def snapshot_not_found(snapshot_id: str) -> errors.NotFound:
    """Cinder's SnapshotNotFound."""
    return errors.NotFound(f"Snapshot {snapshot_id} could not be found.")


class InvalidSnapshot(errors.BadRequest):
    """Cinder's InvalidSnapshot: the snapshot's state does not allow the request."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid snapshot: {reason}")


def backup_not_found(backup_id: str) -> errors.NotFound:
    """Cinder's BackupNotFound."""
    return errors.NotFound(f"Backup {backup_id} could not be found.")


class InvalidBackup(errors.BadRequest):
    """Cinder's InvalidBackup: the backup's state does not allow the request."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid backup: {reason}")


def group_type_not_found(group_type_id: str) -> errors.NotFound:
    """Cinder's GroupTypeNotFound."""
    return errors.NotFound(f"Group type {group_type_id} could not be found.")


def group_not_found(group_id: str) -> errors.NotFound:
    """Cinder's GroupNotFound."""
    return errors.NotFound(f"Group {group_id} could not be found.")


def group_snapshot_not_found(group_snapshot_id: str) -> errors.NotFound:
    """Cinder's GroupSnapshotNotFound."""
    return errors.NotFound(f"GroupSnapshot {group_snapshot_id} could not be found.")


class InvalidGroup(errors.BadRequest):
    """Cinder's InvalidGroup: the group's state or content does not allow the request."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid Group: {reason}")


class InvalidGroupSnapshot(errors.BadRequest):
    """Cinder's InvalidGroupSnapshot."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid GroupSnapshot: {reason}")
